//! `capsim compare OUT_A OUT_B`: the differences between two runs' headline metrics.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::{Failure, print_ok, write_failure};
use crate::compare::{self, Comparison, Method, RunSamples};
use crate::output::{self, Provenance, RawDir};
use crate::results::{RawSource, RawTable, Results};

#[derive(Debug, Args)]
pub(super) struct CompareArgs {
    /// The first run's result directory (A).
    a: PathBuf,
    /// The second run's result directory (B); differences are B − A.
    b: PathBuf,
    /// Where compare.parquet goes [default: notebooks-output/compare/<A name>-vs-<B name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// A run's provenance and the samples of its headline metrics, from its raw tables.
fn read_run(dir: &Path) -> Result<(Provenance, RunSamples), Failure> {
    let refused = |e: output::OutputError| {
        Failure::Input(format!(
            "capsim: error: cannot compare {}: {e}\n   = hint: give the directories of two runs (or merges), which hold runs.parquet\n",
            dir.display()
        ))
    };
    let raw = RawDir::open(dir).map_err(refused)?;
    let runs = raw.table_path("runs").map_err(refused)?;
    let provenance = output::read_provenance(&runs).map_err(refused)?;
    if let Some((k, n)) = provenance.shard {
        return Err(Failure::Input(format!(
            "capsim: error: {} holds shard {k} of {n} only\n   = hint: merge the shards first (capsim merge), then compare\n",
            dir.display()
        )));
    }
    let mut records = Results::default();
    // Runs written before segments were tallied have no segments table: they compare on
    // everything but the savings like for like.
    let segments = raw
        .table_path("segments")
        .is_ok()
        .then_some(RawTable::Segments);
    for table in [RawTable::Runs, RawTable::Years, RawTable::Returns]
        .into_iter()
        .chain(segments)
    {
        raw.scan(table, &mut |piece| records.append(piece.clone()))
            .map_err(refused)?;
    }
    Ok((provenance, compare::samples(&records)))
}

pub(super) fn compare(args: &CompareArgs) -> Result<ExitCode, Failure> {
    let (provenance_a, a) = read_run(&args.a)?;
    let (provenance_b, b) = read_run(&args.b)?;
    // Same seed: replication k drew the same streams in both runs.
    let paired = provenance_a.seed == provenance_b.seed;
    let antithetic = provenance_a.antithetic && provenance_b.antithetic;
    let rows = compare::compare(&a, &b, paired, antithetic);
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new("notebooks-output/compare").join(format!(
            "{}-vs-{}",
            provenance_a.scenario, provenance_b.scenario
        ))
    });
    let _lock = super::writable(&out)?;
    let frame = output::compare_frame(&rows, &provenance_a, &provenance_b)
        .map_err(|e| Failure::Other(format!("cannot build tables: {e}")))?;
    let written = output::write_tables(&out, vec![("compare", frame)], &provenance_b)
        .map_err(write_failure(&out))?;
    if !args.quiet {
        print_ok(print_comparison(
            &args.a,
            &args.b,
            &provenance_a,
            &provenance_b,
            &rows,
            &written,
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_comparison(
    a: &Path,
    b: &Path,
    pa: &Provenance,
    pb: &Provenance,
    rows: &[Comparison],
    written: &[PathBuf],
) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "A: {} ({}, seed {}, {} replications)",
        a.display(),
        pa.scenario,
        pa.seed,
        pa.replications.1 - pa.replications.0
    )?;
    writeln!(
        out,
        "B: {} ({}, seed {}, {} replications)",
        b.display(),
        pb.scenario,
        pb.seed,
        pb.replications.1 - pb.replications.0
    )?;
    if rows.iter().any(|r| r.method == Method::Paired) {
        writeln!(
            out,
            "same seed: differences are paired replication by replication (common random numbers)"
        )?;
    } else {
        writeln!(
            out,
            "different seeds: independent runs, Welch intervals (use one seed for paired, narrower intervals)"
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<28} {:<22} {:>12} {:>12} {:>12}   95% CI of B − A",
        "system", "metric", "A", "B", "B − A"
    )?;
    for row in rows {
        let (scale, unit) = compare::unit(row.metric);
        let show = |v: f64| {
            if v.is_finite() {
                format!("{:.4}", v * scale)
            } else {
                "–".to_string()
            }
        };
        let verdict = match row.ci95 {
            (0.0, 0.0) if row.difference == 0.0 => "  identical",
            (low, _) if low > 0.0 => "  B higher",
            (_, high) if high < 0.0 => "  B lower",
            (low, high) if low.is_finite() && high.is_finite() => "  no clear difference",
            _ => "",
        };
        writeln!(
            out,
            "{:<28} {:<22} {:>12} {:>12} {:>12}   [{}, {}] {unit}{verdict}",
            row.system,
            row.metric,
            show(row.means.0),
            show(row.means.1),
            show(row.difference),
            show(row.ci95.0),
            show(row.ci95.1)
        )?;
    }
    writeln!(out)?;
    for path in written {
        writeln!(out, "wrote {}", path.display())?;
    }
    Ok(())
}
