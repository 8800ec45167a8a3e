//! Sharded runs and merges: which shard this process is, and combining the raw tables
//! of shards (or of runs of consecutive replications) into the tables one run writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::SystemName;
use crate::output::{self, Provenance, RawDir};
use crate::results::{RawSource, RawTable};

/// Environment variables that carry an array job's index, in the order they are tried.
pub const INDEX_VARIABLES: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// Reads `--shard`: `K/N` (K counts from 0), `N` (K from the environment) or `auto`
/// (K and N from Slurm's array variables).
///
/// # Errors
/// A message saying what was expected.
pub fn parse_shard(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<(u32, u32), String> {
    let number = |text: &str, what: &str| {
        text.trim()
            .parse::<u32>()
            .map_err(|_| format!("--shard {spec}: {what} `{text}` is not a whole number"))
    };
    let (shard, shards) = match spec.split_once('/') {
        Some((k, n)) => (number(k, "shard")?, number(n, "shard count")?),
        None if spec == "auto" => {
            let shards = env("SLURM_ARRAY_TASK_COUNT").ok_or_else(|| {
                "--shard auto needs SLURM_ARRAY_TASK_COUNT (a Slurm array job); elsewhere give the count, e.g. --shard 8".to_string()
            })?;
            (
                index_from_env(spec, &env)?,
                number(&shards, "SLURM_ARRAY_TASK_COUNT")?,
            )
        }
        None => (index_from_env(spec, &env)?, number(spec, "shard count")?),
    };
    if shards == 0 || shard >= shards {
        return Err(format!(
            "--shard {spec}: shard {shard} of {shards} does not exist (shards count from 0 to N − 1)"
        ));
    }
    Ok((shard, shards))
}

/// This task's index in its array job, from the first variable set. Slurm arrays may
/// start above 0 (`--array=1-8`): the index is counted from `SLURM_ARRAY_TASK_MIN`.
fn index_from_env(spec: &str, env: &impl Fn(&str) -> Option<String>) -> Result<u32, String> {
    for variable in INDEX_VARIABLES {
        if let Some(value) = env(variable) {
            let parse = |text: &str| {
                text.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("--shard {spec}: {variable}={text} is not a whole number"))
            };
            let index = parse(&value)?;
            let first = if variable == "SLURM_ARRAY_TASK_ID" {
                env("SLURM_ARRAY_TASK_MIN").map_or(Ok(0), |min| parse(&min))?
            } else {
                0
            };
            return index.checked_sub(first).ok_or_else(|| {
                format!("--shard {spec}: {variable}={index} is below SLURM_ARRAY_TASK_MIN={first}")
            });
        }
    }
    Err(format!(
        "--shard {spec}: no shard index in the environment (set one of {}), or give it as K/N",
        INDEX_VARIABLES.join(", ")
    ))
}

/// The directories holding results under `input`: itself if its set has `runs` (or it
/// holds a `runs.parquet` its manifest does not vouch for, which reading then refuses by
/// name), else its `shard=K` subdirectories.
fn parts_of(input: &Path) -> Result<Vec<PathBuf>, String> {
    let results_here = match output::TableSet::open(input) {
        Ok(set) => set.get("runs").is_some(),
        // Damaged or without a manifest: reading it names what is wrong.
        Err(_) => input.join("runs.parquet").is_file(),
    };
    if results_here {
        return Ok(vec![input.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(input).map_err(|e| format!("cannot read {}: {e}", input.display()))?;
    let mut shards: Vec<(u32, PathBuf)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let index = name.strip_prefix("shard=")?.parse().ok()?;
            Some((index, entry.path()))
        })
        .collect();
    if shards.is_empty() {
        return Err(format!(
            "{} holds no capsim results (no runs.parquet and no shard=K directories)",
            input.display()
        ));
    }
    shards.sort();
    Ok(shards.into_iter().map(|(_, path)| path).collect())
}

/// What a merge reads: the directories holding raw tables, in replication order, and
/// the provenance of the merged run.
pub struct MergePlan {
    /// Result directories, each holding consecutive replications after the previous one's.
    pub parts: Vec<RawDir>,
    /// The merged run's provenance.
    pub provenance: Provenance,
}

/// Finds the results under `inputs` and checks, before anything is merged, that they
/// come from one scenario, seed and capsim version, that every shard of a sharded run
/// is there, and that together they hold consecutive replications, each once. Only the
/// metadata and the `runs` tables are read here.
///
/// # Errors
/// A message naming the input and what is wrong (bad input: exit 2).
pub fn gather(inputs: &[PathBuf]) -> Result<MergePlan, String> {
    let mut parts = Vec::new();
    for input in inputs {
        for dir in parts_of(input)? {
            let raw = RawDir::open(&dir).map_err(|e| e.to_string())?;
            if let Some(stem) = output::RAW_TABLES
                .iter()
                .find(|stem| raw.table_path(stem).is_err())
            {
                return Err(format!(
                    "{} has no {stem}.parquet: not the output of this capsim version's `run`; rerun it",
                    dir.display()
                ));
            }
            let provenance =
                output::read_provenance(&raw.table_path("runs").map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            parts.push((raw, provenance));
        }
    }
    let Some((first_dir, first)) = parts.first().cloned() else {
        return Err("nothing to merge".to_string());
    };
    for (dir, provenance) in &parts {
        let differs = [
            ("scenario", &provenance.scenario, &first.scenario),
            (
                "scenario hash",
                &provenance.scenario_hash,
                &first.scenario_hash,
            ),
            (
                "capsim version",
                &provenance.capsim_version,
                &first.capsim_version,
            ),
        ]
        .into_iter()
        .find(|(_, a, b)| a != b)
        .map(|(what, a, b)| (what, a.clone(), b.clone()))
        .or_else(|| {
            (provenance.seed != first.seed)
                .then(|| ("seed", provenance.seed.to_string(), first.seed.to_string()))
        });
        if let Some((what, here, there)) = differs {
            return Err(format!(
                "{} and {} come from different runs: {what} {here} vs {there}; only results of the same scenario, seed and capsim version merge",
                dir.dir().display(),
                first_dir.dir().display()
            ));
        }
    }
    check_shards(&parts)?;
    let low = parts
        .iter()
        .map(|(_, p)| p.replications.0)
        .min()
        .unwrap_or(0);
    let high = parts
        .iter()
        .map(|(_, p)| p.replications.1)
        .max()
        .unwrap_or(0);
    // Every (replication, system) row of every part, tagged with its part.
    let mut rows: Vec<(u64, SystemName, usize)> = Vec::new();
    for (idx, (dir, _)) in parts.iter().enumerate() {
        dir.scan(RawTable::Runs, &mut |piece| {
            rows.extend(
                piece
                    .runs
                    .iter()
                    .map(|r| (r.replication, r.system.clone(), idx)),
            )
        })
        .map_err(|e| e.to_string())?;
    }
    rows.sort_unstable();
    if let Some(pair) = rows
        .windows(2)
        .find(|pair| pair[0].0 == pair[1].0 && pair[0].1 == pair[1].1)
    {
        return Err(format!(
            "replication {} of the {} system is in more than one input",
            pair[0].0, pair[0].1
        ));
    }
    let mut present: Vec<u64> = rows.iter().map(|r| r.0).collect();
    present.dedup();
    if present.len() as u64 != high - low || present.first() != Some(&low) {
        let missing: Vec<String> = (low..high)
            .filter(|r| present.binary_search(r).is_err())
            .take(5)
            .map(|r| r.to_string())
            .collect();
        return Err(format!(
            "replications {low}..{high} are not all there: missing {}{}",
            missing.join(", "),
            if missing.len() == 5 { ", …" } else { "" }
        ));
    }
    // Parts in the order of their replications; they are read one after another, so
    // their replications must not interleave.
    let mut order: Vec<usize> = Vec::new();
    for &(_, _, idx) in &rows {
        if order.last() != Some(&idx) {
            if order.contains(&idx) {
                return Err(format!(
                    "{} and {} hold interleaved replications; merge inputs must each hold consecutive replications",
                    parts[idx].0.dir().display(),
                    parts[order[order.len() - 1]].0.dir().display()
                ));
            }
            order.push(idx);
        }
    }
    Ok(MergePlan {
        parts: order.into_iter().map(|idx| parts[idx].0.clone()).collect(),
        provenance: Provenance {
            replications: (low, high),
            shard: None,
            ..first
        },
    })
}

/// Every shard K of N of each sharded run is present once.
fn check_shards(parts: &[(RawDir, Provenance)]) -> Result<(), String> {
    let mut runs: BTreeMap<((u64, u64), u32), Vec<u32>> = BTreeMap::new();
    for (_, provenance) in parts {
        if let Some((shard, shards)) = provenance.shard {
            runs.entry((provenance.replications, shards))
                .or_default()
                .push(shard);
        }
    }
    for (((from, to), shards), mut found) in runs {
        found.sort_unstable();
        if found.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "a shard of replications {from}..{to} appears twice: shards found {found:?} of {shards}"
            ));
        }
        let missing: Vec<String> = (0..shards)
            .filter(|k| found.binary_search(k).is_err())
            .map(|k| k.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "shard {} of {shards} (replications {from}..{to}) is missing: did that task fail? Found shards {found:?}",
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn shard_specs_from_flags_and_environment() {
        assert_eq!(parse_shard("2/8", env(&[])), Ok((2, 8)));
        assert_eq!(
            parse_shard("8", env(&[("SLURM_ARRAY_TASK_ID", "3")])),
            Ok((3, 8))
        );
        // Slurm arrays numbered 1..8 map to shards 0..7.
        assert_eq!(
            parse_shard(
                "8",
                env(&[("SLURM_ARRAY_TASK_ID", "8"), ("SLURM_ARRAY_TASK_MIN", "1")])
            ),
            Ok((7, 8))
        );
        assert_eq!(
            parse_shard("4", env(&[("JOB_COMPLETION_INDEX", "1")])),
            Ok((1, 4))
        );
        assert_eq!(
            parse_shard("4", env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "0")])),
            Ok((0, 4))
        );
        assert_eq!(
            parse_shard(
                "auto",
                env(&[
                    ("SLURM_ARRAY_TASK_ID", "5"),
                    ("SLURM_ARRAY_TASK_COUNT", "6")
                ])
            ),
            Ok((5, 6))
        );
        assert!(
            parse_shard("8/8", env(&[]))
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(
            parse_shard("8", env(&[]))
                .unwrap_err()
                .contains("SLURM_ARRAY_TASK_ID")
        );
        assert!(
            parse_shard("auto", env(&[("SLURM_ARRAY_TASK_ID", "1")]))
                .unwrap_err()
                .contains("SLURM_ARRAY_TASK_COUNT")
        );
        assert!(
            parse_shard("x/4", env(&[]))
                .unwrap_err()
                .contains("not a whole number")
        );
    }
}
