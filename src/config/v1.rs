//! The experiment in the first layout of experiment files (flat `data` fields for every source,
//! method settings flat under `prune`), frozen. It is what [`Experiment::hash`] digests, so that
//! the configuration hashes of existing runs, shards, dense-model caches and model cards stay
//! valid, and what older versions wrote as `resolved.yaml`, so that their run directories still
//! resume ([`Experiment::was_resolved_as`]).
//!
//! Only the `data` and `prune` sections differ from today's layout; the others are taken from
//! [`Experiment::to_raw`]. A setting the old layout could not express is added as a key only when
//! it is used (`combined_norm`), so no two different experiments share a hash.

use super::data::{IdxFiles, Source};
use super::raw::{RawCv, RawModel, RawOutput, RawSchedule, RawTrain};
use super::resolve::{Experiment, Grid, PruneSpec};
use super::types::*;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct V1Experiment {
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    data: V1Data,
    #[serde(skip_serializing_if = "Option::is_none")]
    model: Option<RawModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    train: Option<RawTrain>,
    prune: V1Prune,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv: Option<RawCv>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output: Option<RawOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plots: Option<super::plots::RawPlots>,
}

#[derive(Default, Serialize)]
struct V1Data {
    source: Option<DataSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<DataName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holdout: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<HeaderMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skip_rows: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delimiter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    features: Option<Vec<ColumnRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drop: Option<Vec<ColumnRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    classes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    standardize: Option<Standardize>,
}

#[derive(Serialize)]
struct V1Prune {
    methods: Vec<MethodKind>,
    tau: V1Tau,
    ignore: Vec<String>,
    taylor_batches: usize,
    importance_norm: Norm,
    /// Not in the first layout: written only when `importance` and `combined` are both listed
    /// with different norms (which that layout could not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    combined_norm: Option<Norm>,
    schedule: RawSchedule,
    #[serde(skip_serializing_if = "Option::is_none")]
    n_m: Option<NmSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    synflow_rounds: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sensitivity_rows: Option<usize>,
}

#[derive(Serialize)]
struct V1Tau {
    unit: TauUnit,
    scope: Scope,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto: Option<usize>,
}

fn data(e: &Experiment) -> V1Data {
    let d = &e.data;
    let standardize = (d.standardize != Standardize::Feature).then_some(d.standardize);
    let base = V1Data {
        source: Some(d.kind()),
        standardize,
        ..V1Data::default()
    };
    match &d.source {
        Source::Builtin { name, holdout } => V1Data {
            name: Some(name.into()),
            holdout: Some(*holdout),
            ..base
        },
        // The first layout gave every CSV run the built-in name it ignored.
        Source::Csv(c) => {
            let o = &c.options;
            V1Data {
                name: Some(DataName::Digits),
                holdout: Some(c.holdout),
                path: Some(c.path.clone()),
                test_path: c.test_path.clone(),
                label: Some(o.label.clone()),
                header: Some(o.header),
                skip_rows: Some(o.skip_rows),
                delimiter: Some(super::data::delimiter_text(o.delimiter)),
                features: o.features.clone(),
                drop: (!o.drop.is_empty()).then(|| o.drop.clone()),
                classes: o.classes.clone(),
                ..base
            }
        }
        Source::Idx(i) => V1Data {
            name: match i.files {
                IdxFiles::Fetched(n) => Some(n),
                IdxFiles::Dir(_) => None,
            },
            dir: match &i.files {
                IdxFiles::Dir(dir) => Some(dir.clone()),
                IdxFiles::Fetched(_) => None,
            },
            sha256: (!i.sha256.is_empty()).then(|| i.sha256.clone()),
            limit: i.limit,
            ..base
        },
        Source::Cifar10 { dir, limit } => V1Data {
            dir: dir.clone(),
            limit: *limit,
            ..base
        },
    }
}

fn prune(p: &PruneSpec) -> V1Prune {
    let s = &p.settings;
    let listed = |m: MethodKind| p.methods.contains(&m);
    // One norm served both unit methods: importance's, else combined's when only it is listed.
    let importance_norm = if !listed(MethodKind::Importance) && listed(MethodKind::Combined) {
        s.combined_norm
    } else {
        s.importance_norm
    };
    V1Prune {
        methods: p.methods.clone(),
        tau: V1Tau {
            unit: p.tau.unit,
            scope: p.tau.scope,
            values: match &p.tau.grid {
                Grid::Values(v) => Some(v.clone()),
                Grid::Auto(_) => None,
            },
            auto: match p.tau.grid {
                Grid::Auto(n) => Some(n),
                Grid::Values(_) => None,
            },
        },
        ignore: p.ignore.clone(),
        taylor_batches: s.taylor_batches,
        importance_norm,
        combined_norm: (listed(MethodKind::Importance)
            && listed(MethodKind::Combined)
            && s.combined_norm != s.importance_norm)
            .then_some(s.combined_norm),
        schedule: p.schedule.to_raw(),
        n_m: p.n_m,
        synflow_rounds: listed(MethodKind::Synflow).then_some(s.synflow_rounds),
        sensitivity_rows: p.tau.sensitivity_rows,
    }
}

/// The experiment as YAML in the first layout.
pub(super) fn yaml(e: &Experiment) -> String {
    let raw = e.to_raw();
    let v1 = V1Experiment {
        name: raw.name,
        seed: raw.seed,
        data: data(e),
        model: raw.model,
        train: raw.train,
        prune: prune(&e.prune),
        cv: raw.cv,
        output: raw.output,
        plots: raw.plots,
    };
    serde_yaml_ng::to_string(&v1).expect("experiment serialises")
}
