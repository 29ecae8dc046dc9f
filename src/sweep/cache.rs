//! A cache of trained dense models, keyed by a hash of everything that determines them (prunecv
//! version and [`crate::train::NUMERICS`] revision, the data's content, split settings, seed, fold, model, training settings, rewind
//! snapshot). Rerunning with another τ grid, other methods or another schedule that keeps the
//! same dense training retrains nothing; an interrupted run resumes without retraining.
//!
//! Entries live in `<results root>/.cache/dense/<key>.safetensors` with a `<key>.json` written
//! last, so a half-written entry is never read.

use super::dense::Which;
use super::prepare::Prepared;
use crate::config::{Experiment, Schedule};
use crate::error::Result;
use crate::model::Params;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What is stored besides the weights.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Meta {
    key_material: String,
    diverged: bool,
    has_rewind: bool,
}

/// A cached dense model.
pub struct Entry {
    pub params: Params,
    pub rewind: Option<Params>,
    pub diverged: bool,
}

/// The dense-model cache under one results root.
pub struct DenseCache {
    dir: PathBuf,
}

fn rewind_epoch(exp: &Experiment) -> Option<usize> {
    match exp.prune.schedule {
        Schedule::Rewind { rewind_epoch, .. } => Some(rewind_epoch),
        _ => None,
    }
}

/// The canonical description of everything that determines one dense model.
pub fn key_material(exp: &Experiment, prep: &Prepared, which: Which) -> String {
    let raw = exp.to_raw();
    let model = serde_yaml_ng::to_string(&raw.model).unwrap_or_default();
    let train = serde_yaml_ng::to_string(&raw.train).unwrap_or_default();
    format!(
        "prunecv {} numerics {}\ndata {}\nseed {}\nfolds {}\nwhich {:?}\nrewind {:?}\nmodel\n{}train\n{}",
        env!("CARGO_PKG_VERSION"),
        crate::train::NUMERICS,
        prep.fingerprint,
        exp.seed,
        exp.cv.folds,
        which,
        rewind_epoch(exp),
        model,
        train
    ) + if exp.cv.shared_init {
        "shared_init true\n"
    } else {
        ""
    } + &match exp.data.standardize {
        // The default is left out, so that keys of models cached before the setting existed hold.
        crate::config::Standardize::Feature => String::new(),
        s => format!("standardize {s:?}\n"),
    }
}

impl DenseCache {
    pub fn new(root: &Path) -> Self {
        DenseCache {
            dir: root.join(".cache").join("dense"),
        }
    }

    fn paths(&self, material: &str) -> (PathBuf, PathBuf) {
        let key = crate::config::hex(&Sha256::digest(material.as_bytes()));
        (
            self.dir.join(format!("{key}.safetensors")),
            self.dir.join(format!("{key}.json")),
        )
    }

    /// The cached model for `material`, if a complete entry exists. `template` gives names and
    /// shapes.
    pub fn load(&self, material: &str, template: &Params) -> Result<Option<Entry>> {
        let (st, js) = self.paths(material);
        let Ok(bytes) = std::fs::read(&js) else {
            return Ok(None);
        };
        let Ok(meta) = serde_json::from_slice::<Meta>(&bytes) else {
            return Ok(None);
        };
        if meta.key_material != material {
            return Ok(None);
        }
        let Ok(tensors) = candle_core::safetensors::load(&st, &Device::Cpu) else {
            return Ok(None);
        };
        let read = |prefix: &str| -> Option<Params> {
            let mut p = template.clone();
            for q in p.0.iter_mut() {
                let t = tensors.get(&format!("{prefix}{}", q.name))?;
                if t.dims() != q.shape.as_slice() {
                    return None;
                }
                q.data = t.flatten_all().ok()?.to_vec1::<f32>().ok()?;
            }
            Some(p)
        };
        let Some(params) = read("") else {
            return Ok(None);
        };
        let rewind = if meta.has_rewind {
            match read("rewind.") {
                Some(r) => Some(r),
                None => return Ok(None),
            }
        } else {
            None
        };
        Ok(Some(Entry {
            params,
            rewind,
            diverged: meta.diverged,
        }))
    }

    /// Store a trained model (weights first, then the JSON that marks the entry complete).
    pub fn store(&self, material: &str, entry: &Entry) -> Result<()> {
        crate::fsio::create_dir_all(&self.dir)?;
        let (st, js) = self.paths(material);
        let mut map: HashMap<String, Tensor> = HashMap::new();
        let mut put = |prefix: &str, p: &Params| -> Result<()> {
            for q in &p.0 {
                map.insert(format!("{prefix}{}", q.name), q.tensor()?);
            }
            Ok(())
        };
        put("", &entry.params)?;
        if let Some(r) = &entry.rewind {
            put("rewind.", r)?;
        }
        crate::fsio::write_atomic(&st, &crate::model::export::safetensors_bytes(&map)?)?;
        let meta = Meta {
            key_material: material.to_string(),
            diverged: entry.diverged,
            has_rewind: entry.rewind.is_some(),
        };
        let json = serde_json::to_vec_pretty(&meta).expect("cache meta serialises");
        crate::fsio::write_atomic(&js, &json)
    }
}
