//! The catalog of metrics against the tables: every catalog metric is a column (or a
//! `metric` value) of its tables, and every column of those tables is in the catalog or
//! is a key or provenance column. So a metric cannot be added, renamed or dropped in one
//! place only.

use std::collections::BTreeSet;

use capsim::metrics::catalog::{Metric, Paired, Weekly};
use capsim::output::read_table;
use polars::prelude::*;

use crate::{capsim, root, text};

const PROVENANCE: [&str; 4] = ["scenario", "scenario_hash", "seed", "capsim_version"];

fn columns(frame: &DataFrame) -> BTreeSet<String> {
    frame
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect()
}

fn set<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    names.into_iter().map(str::to_string).collect()
}

fn metric_values(frame: &DataFrame, system: &str) -> BTreeSet<String> {
    let systems = frame
        .column("system")
        .expect("system")
        .str()
        .expect("text")
        .clone();
    let metrics = frame
        .column("metric")
        .expect("metric")
        .str()
        .expect("text")
        .clone();
    systems
        .iter()
        .zip(metrics.iter())
        .filter(|(s, _)| *s == Some(system))
        .map(|(_, m)| m.expect("metric").to_string())
        .collect()
}

#[test]
fn every_catalog_metric_is_a_column_and_every_column_is_in_the_catalog() {
    let temp = crate::TempDir::create();
    let out = temp.path().join("out");
    let output = capsim(
        &root(),
        &[
            "run",
            "scenarios/mmc-example.yaml",
            "--replications",
            "3",
            "--quiet",
            "--set",
            "simulation.horizon_hours=400",
            "--set",
            "simulation.warmup_hours=50",
            "--set",
            "centralized.pricing={usd_per_gpu_hour: 6}",
            "--set",
            "distributed.pricing={usd_per_gpu_hour: 2}",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    assert!(output.status.success(), "{}", text(&output).1);
    let read = |name: &str| read_table(&out.join(format!("{name}.parquet"))).expect(name);

    let runs = Metric::ALL.iter().map(|m| m.name());
    let keys = ["replication", "system"];
    assert_eq!(
        columns(&read("runs")),
        set(keys.into_iter().chain(runs.clone()).chain(PROVENANCE))
    );

    let paired = Paired::ALL.map(Paired::name);
    assert_eq!(
        columns(&read("savings")),
        set(["replication"].into_iter().chain(paired).chain(PROVENANCE))
    );

    let weekly = Weekly::ALL.map(Weekly::name);
    assert_eq!(
        columns(&read("weeks")),
        set(["replication", "system", "week"]
            .into_iter()
            .chain(weekly)
            .chain(PROVENANCE))
    );

    let summary = read("summary");
    for system in ["centralized", "distributed"] {
        assert_eq!(
            metric_values(&summary, system),
            set(runs.clone()),
            "{system}"
        );
    }
    let factors = Paired::ALL.map(Paired::crn_variance_reduction_name);
    assert_eq!(
        metric_values(&summary, "distributed_vs_centralized"),
        set(paired.into_iter().chain(factors))
    );
    let timeseries = read("timeseries");
    for system in ["centralized", "distributed"] {
        assert_eq!(metric_values(&timeseries, system), set(weekly), "{system}");
    }
}
