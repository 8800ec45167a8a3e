//! Runs interrupted or starved of disk: Ctrl-C and SIGTERM stop cleanly, a full disk
//! and a read-only directory give clear errors, and in every case the results already
//! in place stay whole. Also: every input the fuzzer kept still has the properties in
//! `tests/support/robustness.rs`.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::{capsim, root, text};

/// A small scenario whose results are quick to write: the "previous results".
const TINY: &str = "name: tiny
simulation: {horizon_hours: 300, replications: 2, seed: 1}
demand:
  segments:
    - name: jobs
      arrivals_per_hour: 50
      duration_hours: {exponential: {mean: 1}}
centralized: {gpus: 64}
";

/// One replication of ~100 M events (tens of seconds): a stop must come from inside it.
const LONG: &str = "name: tiny
simulation: {horizon_hours: 50000, replications: 1, seed: 1}
demand:
  segments:
    - name: jobs
      arrivals_per_hour: 1000
      duration_hours: {exponential: {mean: 1}}
centralized: {gpus: 1100}
";

/// Every file of `dir`, by name, with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| {
            let entry = entry.expect("entry");
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}

/// Names in `dir` that a run uses for staging.
fn staging_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("capsim-staging"))
        .collect()
}

/// Sends `signal` to a run of the long scenario after it started, and checks that it
/// ends within seconds with exit 130 and the message, leaving the earlier results alone.
fn stop_with(signal: &str) {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("tiny.yaml"), TINY).expect("write");
    std::fs::write(temp.path().join("long.yaml"), LONG).expect("write");
    assert!(
        capsim(
            temp.path(),
            &["run", "tiny.yaml", "--out", "out", "--quiet"]
        )
        .status
        .success()
    );
    let before = snapshot(&temp.path().join("out"));
    let child = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(["run", "long.yaml", "--out", "out", "--threads", "1"])
        .current_dir(temp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Well into the replication: parsing and the banner take milliseconds.
    std::thread::sleep(Duration::from_millis(700));
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(
        sent.success(),
        "{signal} could not be sent: the run ended early?"
    );
    // Timing the stop is the point of this test; no result depends on it.
    #[allow(clippy::disallowed_methods)]
    let signalled = std::time::Instant::now();
    let output = child.wait_with_output().expect("wait");
    let waited = signalled.elapsed();
    let (stdout, stderr) = text(&output);
    assert!(
        waited < Duration::from_secs(5),
        "{signal}: took {waited:?} to stop"
    );
    assert_eq!(output.status.code(), Some(130), "{signal}: {stderr}");
    assert!(stderr.contains("capsim: stopping"), "{signal}: {stderr}");
    assert!(
        stderr.contains("stopped on request before the end; nothing was written, and results already in place are untouched"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.is_empty(), "no report for a stopped run: {stdout}");
    assert_eq!(
        snapshot(&temp.path().join("out")),
        before,
        "{signal}: the earlier results changed"
    );
    assert!(
        staging_left(temp.path()).is_empty(),
        "{signal}: staging left behind"
    );
}

#[test]
fn ctrl_c_stops_a_run_cleanly() {
    stop_with("-INT");
}

/// Slurm's `scancel` and a shutting-down machine send SIGTERM.
#[test]
fn sigterm_stops_a_run_cleanly() {
    stop_with("-TERM");
}

/// Runs `script` with `sh` in `cwd`, inside a private mount namespace whose `disk/` is
/// a fresh tmpfs of `size` (a real file system that fills up, with no root needed and
/// nothing left mounted afterwards). `$CAPSIM` is the binary.
fn on_small_disk(cwd: &Path, size: &str, script: &str) -> Output {
    std::fs::create_dir_all(cwd.join("disk")).expect("mkdir");
    let output = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
        .arg(format!(
            "set -e; mount -t tmpfs -o size={size} tmpfs disk; cd disk; {script}"
        ))
        .env("CAPSIM", env!("CARGO_BIN_EXE_capsim"))
        .current_dir(cwd)
        .output()
        .expect("unshare (util-linux) runs");
    let (_, stderr) = text(&output);
    assert!(
        !stderr.contains("unshare:") && !stderr.contains("mount:"),
        "cannot make a private tmpfs here (user namespaces disabled?): {stderr}"
    );
    output
}

/// A disk that fills up during a run: a clear message naming the full disk and a way
/// out, exit 1, the earlier results unchanged and readable, no staging left.
#[test]
fn a_full_disk_gives_a_clear_error_and_keeps_earlier_results() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("tiny.yaml"), TINY).expect("write");
    // The first run fits in 400 kB (~60 kB of tables); the second needs megabytes.
    let output = on_small_disk(
        temp.path(),
        "400k",
        r#"B="$CAPSIM"; "$B" run ../tiny.yaml --out out --quiet; mkdir ../before; cp out/* ../before/;
           set +e; "$B" run ../tiny.yaml --out out --quiet --replications 20000; echo "exit $?";
           mkdir ../after; cp -r . ../after/"#,
    );
    let (stdout, stderr) = text(&output);
    assert!(stdout.contains("exit 1"), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("capsim: error: cannot write results to out: "),
        "{stderr}"
    );
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(
        stderr.contains(
            "= hint: the disk holding out is full: free some space, or write elsewhere with --out"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("results already in out are untouched"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let after = temp.path().join("after");
    assert_eq!(
        snapshot(&after.join("out")),
        snapshot(&temp.path().join("before")),
        "the earlier results changed"
    );
    let set = capsim::output::TableSet::open(&after.join("out"))
        .unwrap_or_else(|e| panic!("the earlier set: {e}"));
    for (name, _) in snapshot(&after.join("out")) {
        if let Some(stem) = name.strip_suffix(".parquet") {
            let path = set
                .get(stem)
                .unwrap_or_else(|| panic!("{name} is not listed"));
            capsim::output::read_table(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    assert!(
        staging_left(&after).is_empty(),
        "staging left behind on the full disk"
    );
}

/// A directory that cannot be written (a read-only file system: permissions do not
/// stop root, which CI runs as) is refused before the simulation, as bad input.
#[test]
fn a_read_only_directory_is_refused_up_front() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("tiny.yaml"), TINY).expect("write");
    let output = on_small_disk(
        temp.path(),
        "1m",
        r#""$CAPSIM" run ../tiny.yaml --out out --quiet; mount -o remount,ro .;
           set +e; "$CAPSIM" run ../tiny.yaml --out out; echo "exit $?"; "$CAPSIM" run ../tiny.yaml --out elsewhere/new; echo "exit $?""#,
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(stdout.matches("exit 2").count(), 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("capsim: error: --out out is not writable: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("--out elsewhere/new is not writable: "),
        "{stderr}"
    );
    assert!(stderr.contains("Read-only file system"), "{stderr}");
    assert!(
        !stderr.contains("running"),
        "refused before simulating: {stderr}"
    );
}

/// Every input the fuzzer found or kept, every bundled scenario and every bad-input
/// fixture: the properties of `tests/support/robustness.rs` hold (it panics otherwise).
#[test]
fn fuzz_corpus_keeps_its_properties() {
    let mut checked = 0;
    for dir in [
        "tests/fixtures/fuzz",
        "tests/fixtures/invalid",
        "tests/fixtures/refused",
        "scenarios",
        "scenarios/validation",
        "scenarios/bench",
    ] {
        for entry in std::fs::read_dir(root().join(dir)).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let bytes = std::fs::read(&path).expect("read");
                let result =
                    std::panic::catch_unwind(|| crate::robustness::check_scenario_text(&bytes));
                assert!(
                    result.is_ok(),
                    "{} breaks a property (see the panic above)",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} inputs checked");
}

/// Starts a long run into `out` (with `extra` arguments) and waits until it holds the
/// lock file `lock` (relative to `cwd`).
fn start_long_writer(cwd: &Path, extra: &[&str], lock: &str) -> std::process::Child {
    std::fs::write(cwd.join("long.yaml"), LONG).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args([
            "run",
            "long.yaml",
            "--out",
            "out",
            "--threads",
            "1",
            "--quiet",
        ])
        .args(extra)
        .current_dir(cwd)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    for _ in 0..200 {
        let holder = std::fs::read_to_string(cwd.join(lock)).unwrap_or_default();
        if holder.starts_with(&format!("pid {}:", child.id())) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the long run never took the lock {lock}");
}

/// While one run writes `out/` (over earlier results), a second `run`, `sweep`,
/// `sensitivity`, `merge`, `compare` and `report` into it are refused at once (exit 2), naming the
/// directory and the holder's process, and touch nothing; the first is not disturbed,
/// and once it is killed the lock is free again.
#[test]
fn a_second_writer_is_refused_at_once() {
    let temp = crate::TempDir::create();
    std::fs::write(temp.path().join("tiny.yaml"), TINY).expect("write");
    for out in ["done", "out"] {
        assert!(
            capsim(temp.path(), &["run", "tiny.yaml", "--out", out, "--quiet"])
                .status
                .success()
        );
    }
    let before = snapshot(&temp.path().join("out"));
    let mut first = start_long_writer(temp.path(), &[], ".out.capsim-lock");
    let pid = first.id().to_string();
    let attempts: [&[&str]; 6] = [
        &["run", "tiny.yaml", "--out", "out", "--quiet"],
        &[
            "sweep",
            "tiny.yaml",
            "--out",
            "out",
            "--quiet",
            "--vary",
            "demand.segments[0].arrivals_per_hour=40,45",
        ],
        &[
            "sensitivity",
            "tiny.yaml",
            "--out",
            "out",
            "--quiet",
            "--range",
            "demand.segments[0].arrivals_per_hour=40..50",
        ],
        &["merge", "done", "--out", "out"],
        &["compare", "done", "done", "--out", "out"],
        &["report", "out"],
    ];
    for args in attempts {
        // Timing the refusal is the point: it must not wait for the holder.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let output = capsim(temp.path(), args);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("another capsim is writing to out")
                && stderr.contains(&format!("pid {pid}: "))
                && stderr.contains("run long.yaml"),
            "{args:?}: {stderr}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?} waited"
        );
    }
    assert!(
        first.try_wait().expect("poll").is_none(),
        "the first run goes on"
    );
    assert_eq!(
        snapshot(&temp.path().join("out")),
        before,
        "the refused writers touched nothing"
    );
    let _ = first.kill();
    let _ = first.wait();
    // A killed holder leaves no lock behind: the kernel released it.
    assert!(
        capsim(
            temp.path(),
            &["run", "tiny.yaml", "--out", "out", "--quiet"]
        )
        .status
        .success(),
        "the lock is free once its holder is gone"
    );
    assert!(!temp.path().join(".out.capsim-lock").exists());
}

/// The shards of one array lock only their own `shard=K/`, so they run side by side:
/// while shard 0 of a long run holds `out/shard=0/`, shard 1 (shortened with `--set`)
/// writes `out/shard=1/` and succeeds.
#[test]
fn shards_of_one_run_write_side_by_side() {
    let temp = crate::TempDir::create();
    let mut first = start_long_writer(
        temp.path(),
        &["--shard", "0/2", "--set", "simulation.replications=2"],
        "out/.shard=0.capsim-lock",
    );
    let output = capsim(
        temp.path(),
        &[
            "run",
            "long.yaml",
            "--out",
            "out",
            "--quiet",
            "--shard",
            "1/2",
            "--set",
            "simulation.replications=2",
            "--set",
            "simulation.horizon_hours=300",
        ],
    );
    let still_running = first.try_wait().expect("poll").is_none();
    let _ = first.kill();
    let _ = first.wait();
    assert!(output.status.success(), "{}", text(&output).1);
    assert!(still_running, "the shards overlapped");
    assert!(temp.path().join("out/shard=1/runs.parquet").exists());
}

/// A damaged table (cut short, its bytes overwritten) or a foreign one (Parquet, but not
/// capsim's) given to `compare`, `report` or `merge` is named as unreadable, with its
/// path and what was expected; exit 2; nothing is written.
#[test]
fn damaged_and_foreign_tables_are_refused_by_name() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    std::fs::write(dir.join("tiny.yaml"), TINY).expect("write");
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["run", "tiny.yaml", "--out", out, "--quiet"];
        args.extend_from_slice(extra);
        assert!(capsim(dir, &args).status.success(), "run {out}");
    };
    for out in ["a", "b"] {
        run(out, &[]);
    }
    run("shards", &["--shard", "0/2"]);
    run("shards", &["--shard", "1/2"]);
    let refused = |args: &[&str], what: &str, needle: &str| {
        let output = capsim(dir, args);
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(needle), "{what}: {stderr}");
    };
    let cut_short = |path: &Path| {
        let bytes = std::fs::read(path).expect("read");
        std::fs::write(path, &bytes[..bytes.len() / 2]).expect("cut");
    };
    let overwritten = |path: &Path| {
        let mut bytes = std::fs::read(path).expect("read");
        let middle = bytes.len() / 2;
        bytes[middle - 64..middle + 64].fill(0xA5);
        std::fs::write(path, bytes).expect("damage");
    };

    // Cut short: compare and report name the file; neither writes anything.
    cut_short(&dir.join("a/runs.parquet"));
    refused(
        &["compare", "a", "b"],
        "compare",
        "cannot read a/runs.parquet",
    );
    assert!(!dir.join("notebooks-output/compare").exists());
    refused(&["report", "a"], "report", "cannot read a/runs.parquet");
    assert!(!dir.join("a/report.html").exists());
    // Bytes overwritten in the middle of a table the report draws from.
    overwritten(&dir.join("b/timeseries.parquet"));
    refused(
        &["report", "b"],
        "report",
        "cannot read b/timeseries.parquet",
    );
    assert!(!dir.join("b/report.html").exists());
    // A damaged shard stops the merge before it writes.
    cut_short(&dir.join("shards/shard=1/runs.parquet"));
    refused(
        &["merge", "shards", "--out", "merged"],
        "merge",
        "cannot read shards/shard=1/runs.parquet",
    );
    assert!(!dir.join("merged").join("runs.parquet").exists());
    // A foreign Parquet file in place of runs.parquet: not capsim's.
    run("c", &[]);
    let mut frame = polars::df!("x" => [1.0f64, 2.0]).expect("frame");
    let file = std::fs::File::create(dir.join("c/runs.parquet")).expect("create");
    polars::prelude::ParquetWriter::new(file)
        .finish(&mut frame)
        .expect("write a foreign table");
    // The manifest catches it first: the file is not the one capsim wrote there.
    refused(
        &["compare", "c", "b"],
        "compare",
        "cannot read c/runs.parquet: it has",
    );
    // Tables without their manifest (a first set cut short, or an older capsim's).
    run("d", &[]);
    std::fs::remove_file(dir.join("d").join(capsim::output::MANIFEST)).expect("remove");
    for args in [&["compare", "d", "b"][..], &["report", "d"]] {
        refused(
            args,
            args[0],
            "holds runs.parquet but no capsim-manifest.json",
        );
    }
    assert!(!dir.join("d/report.html").exists());
    // A file the manifest does not list is not read: a one-system run's set has no
    // savings, and a savings.parquet put back beside it stays out of every reader.
    run("f", &[]);
    let set = capsim::output::TableSet::open(&dir.join("f")).expect("opens");
    assert!(set.get("savings").is_none() && set.get("runs").is_some());
    let raw = capsim::output::RawDir::open(&dir.join("f")).expect("opens");
    std::fs::copy(dir.join("b/runs.parquet"), dir.join("f/savings.parquet")).expect("copy");
    let unlisted = raw.table_path("savings").expect_err("not listed");
    assert!(
        unlisted
            .to_string()
            .contains("not in the set capsim-manifest.json lists"),
        "{unlisted}"
    );
    // A manifest capsim cannot read: refused up front, by name, and left alone.
    run("e", &[]);
    let manifest = dir.join("e").join(capsim::output::MANIFEST);
    std::fs::write(&manifest, "{\"format\": 1, \"tables\": [oops").expect("damage");
    let before = snapshot(&dir.join("e"));
    for args in [
        &["run", "tiny.yaml", "--out", "e", "--quiet"][..],
        &["report", "e"],
        &["compare", "e", "b"],
    ] {
        refused(
            args,
            args[0],
            "its capsim-manifest.json is not one capsim wrote",
        );
    }
    assert_eq!(
        snapshot(&dir.join("e")),
        before,
        "the directory was touched"
    );
}

/// Every table of the complete set capsim reads in `dir`, by name, with its bytes.
fn read_set(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let set = capsim::output::TableSet::open(dir).map_err(|e| e.to_string())?;
    Ok(capsim::output::TABLE_ORDER
        .iter()
        .filter_map(|stem| {
            set.get(stem)
                .map(|path| (stem.to_string(), path.to_path_buf()))
        })
        .map(|(stem, path)| (stem, std::fs::read(path).expect("a listed table reads")))
        .collect())
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// A kill between any two steps of a commit (the process aborts there, as SIGKILL would
/// stop it) leaves a directory from which capsim reads either the old set or the new
/// one, byte for byte, and the next run completes the directory. The old set is a run
/// with both systems beside a sweep; the new one a run of one system, so the commit
/// also removes a table (`savings`) and must leave the sweep listed.
#[test]
fn a_kill_at_any_commit_step_leaves_the_old_set_or_the_new() {
    let temp = crate::TempDir::create();
    let dir = temp.path();
    let both = TINY.replace(
        "centralized: {gpus: 64}",
        "centralized: {gpus: 64}\ndistributed: {gpus: 64}",
    );
    std::fs::write(dir.join("old.yaml"), both).expect("write");
    std::fs::write(dir.join("new.yaml"), TINY.replace("seed: 1", "seed: 2")).expect("write");
    let ok = |args: &[&str]| {
        let output = capsim(dir, args);
        assert!(output.status.success(), "{args:?}: {}", text(&output).1);
    };
    ok(&[
        "sweep",
        "old.yaml",
        "--out",
        "pristine",
        "--quiet",
        "--replications",
        "2",
        "--vary",
        "demand.segments[0].arrivals_per_hour=40,50",
    ]);
    ok(&["run", "old.yaml", "--out", "pristine", "--quiet"]);
    let old = read_set(&dir.join("pristine")).expect("the old set reads");
    assert!(
        old.iter().any(|(stem, _)| stem == "savings")
            && old.iter().any(|(stem, _)| stem == "sweep")
    );
    copy_dir(&dir.join("pristine"), &dir.join("expected"));
    ok(&["run", "new.yaml", "--out", "expected", "--quiet"]);
    let new = read_set(&dir.join("expected")).expect("the new set reads");
    assert!(
        !new.iter().any(|(stem, _)| stem == "savings"),
        "the one-system run has no savings"
    );
    assert!(
        new.iter().any(|(stem, _)| stem == "sweep"),
        "the sweep stays listed"
    );
    assert_ne!(old, new);

    let out = dir.join("out");
    let mut killed_at: Vec<u32> = Vec::new();
    for step in 1..100_u32 {
        copy_dir(&dir.join("pristine"), &out);
        let run = run_killed_at(dir, &out, step);
        if run.status.success() {
            break;
        }
        assert_eq!(
            run.status.code(),
            None,
            "step {step}: killed, not an error: {}",
            text(&run).1
        );
        killed_at.push(step);
        let read = read_set(&out).unwrap_or_else(|e| panic!("step {step}: {e}"));
        assert!(
            read == old || read == new,
            "step {step}: capsim reads a mix of the old and the new set"
        );
        // The CLI's readers agree (compare reads runs, yields and returns).
        ok(&["compare", "out", "expected", "--out", "cmp", "--quiet"]);
        // A kill during a commit that follows a cut-short one (before, while and after
        // it replaces tables) also leaves a whole set.
        let second = [2, 4, 6, 12][step as usize % 4];
        let again = run_killed_at(dir, &out, second);
        assert_eq!(
            again.status.code(),
            None,
            "step {step}: the second run is killed too"
        );
        let read = read_set(&out).unwrap_or_else(|e| panic!("step {step}, then {second}: {e}"));
        assert!(
            read == old || read == new,
            "step {step}, then {second}: a mix"
        );
        // The next run finishes the directory: exactly the new set.
        ok(&["run", "new.yaml", "--out", "out", "--quiet"]);
        assert!(
            read_set(&out).expect("reads") == new,
            "step {step}: the next run completes it"
        );
        assert!(
            !out.join(".capsim-previous").exists(),
            "step {step}: previous versions removed"
        );
    }
    // Manifest staged, roll-back checked, previous versions kept, report, twelve renames
    // (a one-system run has no savings), one removal (savings), the manifest's rename.
    assert_eq!(killed_at, (1..=18).collect::<Vec<u32>>());

    // A first commit into a new directory: an empty set or the new one, never tables
    // without their manifest.
    let mut first_killed = 0;
    for step in 1..100_u32 {
        let fresh = dir.join(format!("fresh-{step}"));
        let run = run_killed_at(dir, &fresh, step);
        if run.status.success() {
            break;
        }
        first_killed += 1;
        let read = read_set(&fresh).unwrap_or_else(|e| panic!("first commit, step {step}: {e}"));
        assert!(
            read.is_empty() || read == new_run_only(&new),
            "first commit, step {step}: a mix"
        );
    }
    // Manifest staged, empty manifest, report, twelve renames, the manifest's rename.
    assert_eq!(first_killed, 16, "kill points of a first commit");
}

/// `capsim run new.yaml --out OUT`, stopped dead after step `step` of its commit.
fn run_killed_at(dir: &Path, out: &Path, step: u32) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_capsim"))
        .args(["run", "new.yaml", "--quiet", "--out"])
        .arg(out)
        .env("CAPSIM_TEST_KILL_AT_COMMIT_STEP", step.to_string())
        .current_dir(dir)
        .output()
        .expect("capsim runs")
}

/// The run tables of a set (without the sweep beside them).
fn new_run_only(set: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    set.iter()
        .filter(|(stem, _)| stem != "sweep")
        .cloned()
        .collect()
}
