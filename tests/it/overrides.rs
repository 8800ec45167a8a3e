//! `--set KEY.PATH=VALUE`: overrides are applied to the YAML and checked like the file.

use capsim::scenario::{self, overrides::parse_override};

use crate::{capsim, root, text};

/// Every bundled scenario, rewritten through the override path with one key set to the
/// value it already has, resolves to exactly the same scenario (and hash): the rewrite
/// loses nothing. Setting a key changes that key and nothing else.
#[test]
fn overrides_rewrite_scenarios_faithfully() {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("scenarios"))
        .expect("scenarios")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    for dir in ["scenarios/validation", "scenarios/bench"] {
        paths.extend(
            std::fs::read_dir(root().join(dir))
                .expect(dir)
                .flatten()
                .map(|e| e.path()),
        );
    }
    assert!(paths.len() >= 10);
    for path in paths {
        let original = scenario::load(&path).expect("bundled scenario loads");
        let same = parse_override(&format!("name={}", original.name)).expect("override");
        let rewritten = scenario::load_with(&path, &[same])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(original, rewritten, "{}", path.display());
        assert_eq!(original.hash_hex(), rewritten.hash_hex());

        let seed = parse_override(&format!("simulation.seed={}", original.simulation.seed + 1))
            .expect("override");
        let mut reseeded = scenario::load_with(&path, &[seed]).expect("reseeded");
        assert_eq!(reseeded.simulation.seed, original.simulation.seed + 1);
        reseeded.simulation.seed = original.simulation.seed;
        assert_eq!(
            original,
            reseeded,
            "{}: only the seed changed",
            path.display()
        );
    }
}

/// A run with `--set` uses the new value; bad paths and values exit 2 with the key path,
/// what was expected and a hint, and write nothing.
#[test]
fn set_changes_a_run_and_refuses_bad_paths_and_values() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    let scenario = root().join("scenarios/mmc-example.yaml");
    let path = scenario.to_str().expect("utf-8");
    let output = capsim(
        dir,
        &[
            "run",
            path,
            "--replications",
            "1",
            "--out",
            "out",
            "--set",
            "centralized.gpus=70",
            "--set",
            "simulation.seed=8",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.contains("seed 8") && stdout.contains("centralized (70 GPUs at the start)"),
        "{stdout}"
    );

    let refused = |set: &str, phrases: &[&str]| {
        let output = capsim(
            dir,
            &[
                "run",
                path,
                "--replications",
                "1",
                "--out",
                "never",
                "--set",
                set,
            ],
        );
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "--set {set}: {stderr}");
        for phrase in phrases {
            assert!(
                stderr.contains(phrase),
                "--set {set}: no `{phrase}` in\n{stderr}"
            );
        }
        assert!(!stderr.contains("panicked") && !dir.join("never").exists());
    };
    refused(
        "centralized.gpu=70",
        &[
            "unknown field `gpu`",
            "key: centralized.gpu",
            "did you mean `gpus`?",
            "with --set",
        ],
    );
    refused(
        "centralized.gpus=many",
        &["expected", "key: centralized.gpus"],
    );
    refused("centralized.gpus=-3", &["key: centralized.gpus"]);
    refused(
        "demand.segments[3].arrivals_per_hour=1",
        &["`demand.segments` has 1 entries", "[3] does not exist"],
    );
    refused(
        "demand.segments.name=x",
        &["`demand.segments` is a list", "[0]"],
    );
    refused("centralized.gpus", &["KEY.PATH=VALUE"]);
    refused(
        "simulation.horizon_hours=100",
        &["warmup_hours", "less than horizon_hours"],
    );
}
