//! `prunecv init`: a commented starter experiment that runs as is.

const TEMPLATE: &str = include_str!("starter.yaml");

/// The starter experiment named `name`, to be saved as `file`.
pub fn starter(name: &str, file: &str) -> String {
    TEMPLATE.replace("{name}", name).replace("{file}", file)
}
