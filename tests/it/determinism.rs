//! Same scenario and seed → identical Parquet files, whatever the thread count;
//! another seed → different results.

use capsim::output::read_table;

use crate::{capsim, root, text};

fn run_into(dir: &std::path::Path, extra: &[&str]) {
    let scenario = root().join("scenarios/mmc-example.yaml");
    let mut args = vec![
        "run",
        scenario.to_str().expect("utf-8 path"),
        "--out",
        dir.to_str().expect("utf-8 path"),
        "--quiet",
        "--replications",
        "4",
    ];
    args.extend_from_slice(extra);
    let output = capsim(&root(), &args);
    assert!(output.status.success(), "{:?}", text(&output));
}

#[test]
fn results_do_not_depend_on_threads_and_do_depend_on_seed() {
    let temp = crate::TempDir::create();
    let (one, two, other_seed) = (
        temp.path().join("t1"),
        temp.path().join("t2"),
        temp.path().join("s8"),
    );
    run_into(&one, &["--threads", "1"]);
    run_into(&two, &["--threads", "2"]);
    run_into(&other_seed, &["--threads", "2", "--seed", "8"]);
    for file in ["runs.parquet", "summary.parquet"] {
        let a = std::fs::read(one.join(file)).expect("written");
        let b = std::fs::read(two.join(file)).expect("written");
        assert!(a == b, "{file} differs between 1 and 2 threads");
        let frame_a = read_table(&one.join(file)).expect("readable");
        let frame_b = read_table(&two.join(file)).expect("readable");
        assert!(frame_a.equals_missing(&frame_b));
    }
    let runs = read_table(&one.join("runs.parquet")).expect("readable");
    let reseeded = read_table(&other_seed.join("runs.parquet")).expect("readable");
    let waits = |frame: &polars::prelude::DataFrame| {
        frame
            .column("mean_wait_hours")
            .expect("column")
            .f64()
            .expect("f64")
            .into_no_null_iter()
            .collect::<Vec<f64>>()
    };
    assert_ne!(waits(&runs), waits(&reseeded));
    let seeds = reseeded
        .column("seed")
        .expect("column")
        .u64()
        .expect("u64")
        .into_no_null_iter()
        .collect::<Vec<u64>>();
    assert!(seeds.iter().all(|&seed| seed == 8));
}

/// The scenario hash names the model's inputs: the seed and the replication count have
/// their own columns and do not change it; any input that changes results does.
#[test]
fn scenario_hash_tracks_inputs_not_seed_or_replications() {
    let base = crate::scenario(
        &std::fs::read_to_string(root().join("scenarios/mmc-example.yaml")).expect("readable"),
    );
    let mut reseeded = base.clone();
    reseeded.simulation.seed += 1;
    reseeded.simulation.replications += 5;
    assert_eq!(base.hash_hex(), reseeded.hash_hex());
    let mut bigger = base.clone();
    bigger.centralized = Some(capsim::scenario::System::pool(65));
    assert_ne!(base.hash_hex(), bigger.hash_hex());
    let mut longer = base.clone();
    longer.simulation.horizon_hours += 1.0;
    assert_ne!(base.hash_hex(), longer.hash_hex());
}
