//! Saving and loading pruned models: weights as safetensors, plus a JSON card describing the
//! architecture, preprocessing, masks and the numbers reported for it.

use super::{Masks, Params};
use crate::data::standardize::Standardizer;
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The JSON card saved beside the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format: String,
    /// The model section of the experiment, as resolved.
    pub model: crate::config::raw::RawModel,
    pub input_dim: usize,
    pub classes: usize,
    /// What each class index means, when the data's labels were names (CSV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_names: Option<Vec<String>>,
    pub standardizer: Standardizer,
    pub method: String,
    pub rule: String,
    pub tau: Option<f64>,
    pub tau_unit: String,
    pub sparsity: f64,
    pub test_acc: f64,
    pub test_correct: usize,
    pub test_n: usize,
    /// Parameter names and shapes, in order.
    pub params: Vec<(String, Vec<usize>)>,
}

/// Write `<stem>.safetensors` (pruned weights and `<name>.mask` u8 tensors) and `<stem>.json`.
pub fn save(
    dir: &Path,
    stem: &str,
    params: &Params,
    masks: &Masks,
    card: &ModelCard,
) -> Result<()> {
    let mut map: HashMap<String, Tensor> = HashMap::new();
    let pruned = masks.apply(params);
    for (p, m) in pruned.0.iter().zip(&masks.0) {
        map.insert(p.name.clone(), p.tensor()?);
        let mb: Vec<u8> = m.iter().map(|&k| k as u8).collect();
        map.insert(
            format!("{}.mask", p.name),
            Tensor::from_vec(mb, p.shape.as_slice(), &Device::Cpu)?,
        );
    }
    let target = dir.join(format!("{stem}.safetensors"));
    crate::fsio::write_atomic(&target, &safetensors_bytes(&map)?)?;
    let mut json = serde_json::to_vec_pretty(card).expect("card serialises");
    json.push(b'\n');
    crate::fsio::write_atomic(&dir.join(format!("{stem}.json")), &json)
}

/// The safetensors file of named tensors, as bytes (written with [`crate::fsio::write_atomic`]).
pub fn safetensors_bytes(map: &HashMap<String, Tensor>) -> Result<Vec<u8>> {
    safetensors::serialize(map, None)
        .map_err(|e| Error::Internal(format!("cannot serialise tensors: {e}")))
}

/// Load a model saved by [`save`]; `path` is the `.safetensors` or `.json` file (or the stem).
pub fn load(path: &Path) -> Result<(ModelCard, Params, Masks)> {
    // Stems may contain dots (`magnitude_max_drop-0.05`): strip only a known extension.
    let full = path.to_string_lossy();
    let stem = [".safetensors", ".json"]
        .iter()
        .find_map(|ext| full.strip_suffix(ext))
        .unwrap_or(&full);
    let json_path = PathBuf::from(format!("{stem}.json"));
    let st_path = PathBuf::from(format!("{stem}.safetensors"));
    let bytes = std::fs::read(&json_path).map_err(|e| {
        Error::data(
            json_path.display().to_string(),
            format!("cannot read it: {e}"),
        )
    })?;
    let card: ModelCard = serde_json::from_slice(&bytes).map_err(|e| {
        Error::data(
            json_path.display().to_string(),
            format!("not a model card: {e}"),
        )
    })?;
    let tensors = candle_core::safetensors::load(&st_path, &Device::Cpu)
        .map_err(|e| Error::data(st_path.display().to_string(), format!("cannot load: {e}")))?;
    if let Some(name) = &card.model.module {
        return Err(Error::data(
            json_path.display().to_string(),
            format!(
                "the model `{name}` was built by Rust code (`Experiment::with_model`); load its \
                 tensors with that code"
            ),
        ));
    }
    let spec = crate::config::model::model_from_raw(&card.model);
    let arch = super::build(&spec, card.input_dim, card.classes)
        .map_err(|e| Error::data(json_path.display().to_string(), e.to_string()))?;
    let template = arch.init(&mut crate::rng::Rng::new(0));
    let mut params = template.clone();
    let mut masks = Masks::dense(&template);
    for (i, p) in params.0.iter_mut().enumerate() {
        let missing = || {
            Error::data(
                st_path.display().to_string(),
                format!("missing tensor {}", p.name),
            )
        };
        let t = tensors.get(&p.name).ok_or_else(missing)?;
        if t.dims() != p.shape.as_slice() {
            return Err(Error::data(
                st_path.display().to_string(),
                format!(
                    "tensor {} has shape {:?}, expected {:?}",
                    p.name,
                    t.dims(),
                    p.shape
                ),
            ));
        }
        p.data = t.flatten_all()?.to_vec1::<f32>()?;
        let m = tensors
            .get(&format!("{}.mask", p.name))
            .ok_or_else(missing)?
            .flatten_all()?
            .to_vec1::<u8>()?;
        masks.0[i] = m.into_iter().map(|b| b != 0).collect();
    }
    Ok((card, params, masks))
}
