//! `capsim schema`: the JSON Schema of scenario files, for editors. It is committed as
//! `docs/scenario.schema.json` (what the README's editor set-up points at) and must
//! equal what the binary prints; an independent validator (Python's `jsonschema`)
//! accepts every bundled scenario and rejects the bad inputs a schema can see.

use crate::{capsim, root, text};

#[test]
fn the_committed_schema_is_the_one_capsim_prints() {
    let temp = crate::TempDir::create();
    let output = capsim(temp.path(), &["schema"]);
    assert!(output.status.success());
    let printed = text(&output).0;
    let committed = root().join("docs/scenario.schema.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&committed, &printed).expect("write");
    }
    assert_eq!(
        printed,
        std::fs::read_to_string(&committed).expect("docs/scenario.schema.json"),
        "UPDATE_EXPECT=1 rewrites it"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).expect("JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["name", "simulation", "demand"]);
    assert_eq!(
        schema["additionalProperties"], false,
        "unknown top-level keys are refused"
    );
    for section in [
        "simulation",
        "demand",
        "centralized",
        "distributed",
        "finance",
        "gpu_classes",
        "regions",
        "uncertainty",
    ] {
        assert!(schema["properties"].get(section).is_some(), "no {section}");
    }
}

/// Runs when `CAPSIM_PYTHON_READERS=1` (set by `.ci/run`, which installs jsonschema and
/// PyYAML); elsewhere it says so and checks nothing.
#[test]
fn bundled_scenarios_validate_and_bad_ones_do_not() {
    if std::env::var("CAPSIM_PYTHON_READERS").as_deref() != Ok("1") {
        eprintln!(
            "bundled_scenarios_validate_and_bad_ones_do_not: set CAPSIM_PYTHON_READERS=1 (needs python3 with jsonschema and pyyaml)"
        );
        return;
    }
    let mut valid: Vec<std::path::PathBuf> = Vec::new();
    for dir in ["scenarios", "scenarios/validation"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("list") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                valid.push(path);
            }
        }
    }
    valid.sort();
    // Problems of one value or one key, which the schema states.
    let invalid = [
        "unknown-key",
        "misspelt-system",
        "wrong-type",
        "zero-gpus",
        "bad-name",
        "two-kinds",
        "seasonality-length",
        "string-horizon",
        "finance-typo",
        "negative-count",
        "fractional-gpus",
    ];
    let invalid: Vec<std::path::PathBuf> = invalid
        .iter()
        .map(|n| root().join(format!("tests/fixtures/invalid/{n}.yaml")))
        .collect();
    let output = std::process::Command::new("python3")
        .arg(root().join("tests/readers/validate_schema.py"))
        .arg(root().join("docs/scenario.schema.json"))
        .args(&valid)
        .args(&invalid)
        .output()
        .expect("python3 runs");
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "validate_schema.py failed: {stderr}"
    );
    let results: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(results.len(), valid.len() + invalid.len());
    for (result, path) in results.iter().zip(valid.iter().chain(&invalid)) {
        let errors = result["errors"].as_array().expect("errors");
        let should_pass = valid.contains(path);
        assert_eq!(
            errors.is_empty(),
            should_pass,
            "{}: {errors:?}",
            path.display()
        );
    }
    assert!(valid.len() >= 10, "{} bundled scenarios", valid.len());
}
