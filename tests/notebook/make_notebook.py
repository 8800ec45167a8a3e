"""Writes notebooks-output/explore.ipynb (cells without outputs). Kept as the notebook's
source so that a change to it is a reviewable diff: edit here, run, commit both."""
import nbformat as nbf
from pathlib import Path

md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell

cells = [
    md("""# Exploring capsim results

This notebook reads the Parquet tables of two capsim runs with [polars](https://pola.rs), redraws two of the report's charts, and compares the two runs.

Make the runs first, from the repository root (any scenario works; these take seconds):

```sh
cargo run --release -- run scenarios/glut-2026.yaml --replications 8 --out notebooks-output/explore-a
cargo run --release -- run scenarios/glut-2026.yaml --replications 8 --out notebooks-output/explore-b \\
    --set distributed.pricing.usd_per_gpu_hour=2.2
cargo run --release -- compare notebooks-output/explore-a notebooks-output/explore-b --out notebooks-output/explore-compare
```

Both runs use the scenario's seed, so replication *k* of one saw the same jobs as replication *k* of the other: their difference can be taken replication by replication. `docs/outputs.md` describes every column."""),
    code("""import os
from pathlib import Path

import matplotlib.pyplot as plt
import polars as pl
from scipy import stats

# The directories of the two runs; override with CAPSIM_RUN_A / CAPSIM_RUN_B.
RUN_A = Path(os.environ.get("CAPSIM_RUN_A", "explore-a"))
RUN_B = Path(os.environ.get("CAPSIM_RUN_B", "explore-b"))
COMPARE = Path(os.environ.get("CAPSIM_COMPARE", "explore-compare"))
for run in (RUN_A, RUN_B):
    assert (run / "summary.parquet").exists(), f"no run in {run.resolve()}: see the commands above"
"""),
    md("## Where the numbers came from\n\nEvery table carries its provenance: scenario, scenario hash, seed and capsim version."),
    code("""summary = pl.read_parquet(RUN_A / "summary.parquet")
summary.select("scenario", "scenario_hash", "seed", "capsim_version").unique()"""),
    md("## Headline metrics of run A\n\nMean over replications with its 95% confidence interval, per system."),
    code("""headline = ["utilization", "p95_wait_hours", "lost_demand_fraction", "spend_usd_per_gpu_hour", "savings_fraction"]
summary.filter(pl.col("metric").is_in(headline)).select("system", "metric", "mean", "ci95_low", "ci95_high", "n").sort("metric", "system")"""),
    md("## Chart 1: installed GPUs over time (fan chart)\n\n`timeseries.parquet` holds P05, P50 and P95 across replications for every week; the band is P05–P95 and the line the median, as in the HTML report."),
    code("""ts = pl.read_parquet(RUN_A / "timeseries.parquet").filter(pl.col("metric") == "installed_gpus")
fig, ax = plt.subplots(figsize=(8, 3.5))
for system, colour in [("centralized", "#0072B2"), ("distributed", "#D55E00")]:
    s = ts.filter(pl.col("system") == system).sort("week")
    if s.height == 0:
        continue
    ax.fill_between(s["week"], s["p05"], s["p95"], color=colour, alpha=0.25, linewidth=0)
    ax.plot(s["week"], s["p50"], color=colour, label=system)
ax.set_xlabel("week since the start (warm-up included)")
ax.set_ylabel("GPUs installed (end of week)")
ax.set_title("Installed GPUs: P05–P95 band, median line")
ax.legend()
plt.show()
assert ts.height > 0"""),
    md("## Chart 2: investor yield per year\n\n`yields_summary.parquet` has each year's yield (operating cash flow ÷ capital employed) across replications; `cohort` is null for the whole system."),
    code("""ys = (
    pl.read_parquet(RUN_A / "yields_summary.parquet")
    .filter((pl.col("metric") == "yield") & pl.col("cohort").is_null() & (pl.col("year") >= 1))
    .sort("system", "year")
)
fig, ax = plt.subplots(figsize=(8, 3.5))
for (system,), s in ys.group_by("system", maintain_order=True):
    line = ax.plot(s["year"], s["p50"] * 100, marker="o", label=system)[0]
    ax.fill_between(s["year"], s["p05"] * 100, s["p95"] * 100, color=line.get_color(), alpha=0.25, linewidth=0)
ax.set_xlabel("year")
ax.set_ylabel("yield (% of capital employed)")
ax.set_title("Yield per year: P05–P95 band, median line")
ax.legend()
plt.show()
ys.select("system", "year", "p05", "p50", "p95")"""),
    md("""## Comparing two scenarios

`runs.parquet` has one row per replication and system. With the same seed the two runs are paired: join them on (replication, system), take B − A per replication, and a Student t interval of the mean difference. Common random numbers make this interval much narrower than comparing the two means as independent samples (Welch)."""),
    code("""cols = ["replication", "system", "utilization", "lost_demand_fraction", "spend_usd_per_gpu_hour"]
a = pl.read_parquet(RUN_A / "runs.parquet").select(cols)
b = pl.read_parquet(RUN_B / "runs.parquet").select(cols)
paired = a.join(b, on=["replication", "system"], suffix="_b")

def paired_interval(differences):
    d = differences.drop_nans().drop_nulls().to_numpy()
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / len(d) ** 0.5
    return d.mean(), d.mean() - half, d.mean() + half

rows = []
for system in paired["system"].unique(maintain_order=True):
    p = paired.filter(pl.col("system") == system)
    for metric in cols[2:]:
        d = p[f"{metric}_b"] - p[metric]
        if d.drop_nans().len() < 2:
            continue
        mean, low, high = paired_interval(d)
        welch = stats.ttest_ind(p[f"{metric}_b"].to_numpy(), p[metric].to_numpy(), equal_var=False).confidence_interval(0.95)
        rows.append({"system": system, "metric": metric, "difference": mean, "paired_low": low, "paired_high": high,
                     "welch_low": welch.low, "welch_high": welch.high})
comparison = pl.DataFrame(rows)
comparison"""),
    md("`capsim compare` computes the same paired differences (and more metrics) and writes `compare.parquet`; the two agree:"),
    code("""if (COMPARE / "compare.parquet").exists():
    written = pl.read_parquet(COMPARE / "compare.parquet")
    check = comparison.join(written.select("system", "metric", "difference", "ci95_low", "ci95_high"), on=["system", "metric"])
    assert check.height == comparison.height, "compare.parquet lacks a row"
    for row in check.iter_rows(named=True):
        assert abs(row["difference"] - row["difference_right"]) < 1e-9, row
        assert abs(row["paired_low"] - row["ci95_low"]) < 1e-9 and abs(row["paired_high"] - row["ci95_high"]) < 1e-9, row
    display(check.select("system", "metric", "difference", "ci95_low", "ci95_high"))
else:
    print(f"run `capsim compare {RUN_A} {RUN_B} --out {COMPARE}` to compare with the CLI")"""),
]

nb = nbf.v4.new_notebook()
nb.cells = cells
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nb.metadata["language_info"] = {"name": "python"}
out = Path(__file__).resolve().parents[2] / "notebooks-output" / "explore.ipynb"
nbf.write(nb, out)
print(f"wrote {out}")
