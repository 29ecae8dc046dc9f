//! `prunecv data …`: download the standard data sets into the cache and list them.

use crate::data::fetch;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum DataCommand {
    /// Download a data set (mnist, fashion_mnist, kmnist, cifar10) into the cache, verified by
    /// SHA-256; resumes an interrupted download; does nothing if it is already there.
    Fetch {
        /// The data set: mnist, fashion_mnist, kmnist or cifar10.
        name: String,
        /// Cache directory (default: $PRUNECV_DATA, else the platform cache dir, e.g.
        /// ~/.cache/prunecv); the files go to DIR/NAME/.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Base URL to download from instead of the built-in mirrors (repeatable, tried in
        /// order), e.g. a local mirror; the checksums are the same.
        #[arg(long, value_name = "BASE_URL")]
        mirror: Vec<String>,
    },
    /// List the data sets `fetch` knows and whether each is in the cache.
    List {
        /// Cache directory (as for `fetch`).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub(crate) fn run(cmd: DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Fetch { name, dir, mirror } => {
            let entry = fetch::find(&name)?;
            let cache = fetch::cache_dir(dir.as_deref())?;
            let mirrors: Vec<String> = mirror
                .into_iter()
                .map(|m| if m.ends_with('/') { m } else { format!("{m}/") })
                .collect();
            let out = fetch::fetch(
                &entry,
                &cache,
                (!mirrors.is_empty()).then_some(mirrors.as_slice()),
                &mut |line| println!("{line}"),
            )?;
            let source = match entry.format {
                fetch::Format::Idx => format!("{{source: idx, name: {}}}", entry.name),
                fetch::Format::Cifar10 => "{source: cifar10}".to_string(),
            };
            let env = if dir.is_some() {
                let abs = std::path::absolute(&cache).unwrap_or_else(|_| cache.clone());
                format!(" (with {}={})", fetch::ENV_DATA, abs.display())
            } else {
                String::new()
            };
            println!(
                "{} is in {}; an experiment reads it with `data: {source}`{env}",
                entry.name,
                out.display()
            );
            Ok(())
        }
        DataCommand::List { dir } => {
            let cache = fetch::cache_dir(dir.as_deref())?;
            println!("cache directory: {}", cache.display());
            for e in fetch::registry() {
                let here = cache.join(&e.name);
                let present = match e.format {
                    fetch::Format::Cifar10 => crate::data::cifar::present(&here),
                    fetch::Format::Idx => e.files.iter().all(|f| here.join(&f.name).is_file()),
                };
                let mb = e.files.iter().map(|f| f.size).sum::<u64>() as f64 / 1e6;
                println!(
                    "{:<14} {:<11} {:>6.1} MB  {}",
                    e.name,
                    if present { "downloaded" } else { "-" },
                    mb,
                    e.title
                );
            }
            Ok(())
        }
    }
}
