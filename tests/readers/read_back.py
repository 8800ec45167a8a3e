"""Reads capsim's Parquet output with pyarrow and DuckDB and prints a JSON digest.

Called by the Rust test `parquet::other_readers_see_the_same_tables`, which compares
the digest with what polars reads from the same files.
"""
import json
import sys

import duckdb
import pyarrow.parquet as pq

directory = sys.argv[1]
runs = pq.read_table(f"{directory}/runs.parquet")
summary = pq.read_table(f"{directory}/summary.parquet")
metadata = pq.read_metadata(f"{directory}/runs.parquet").metadata
savings = pq.read_table(f"{directory}/savings.parquet")
weeks = duckdb.sql(
    f"select count(distinct week) from '{directory}/timeseries.parquet' where metric = 'utilization'"
).fetchall()[0][0]
duck = duckdb.sql(
    f"select count(*), sum(events), sum(utilization) from '{directory}/runs.parquet'"
).fetchall()[0]
yields = duckdb.sql(
    f"select count(*), count(cohort), sum(book_value_usd) from '{directory}/yields.parquet'"
).fetchall()[0]
returns = pq.read_table(f"{directory}/returns.parquet")
print(
    json.dumps(
        {
            "pyarrow_runs_columns": runs.column_names,
            "pyarrow_runs_rows": runs.num_rows,
            "pyarrow_summary_rows": summary.num_rows,
            "pyarrow_events": sum(runs.column("events").to_pylist()),
            "pyarrow_scenario_metadata": metadata[b"capsim.scenario"].decode(),
            "duckdb_rows": duck[0],
            "duckdb_events": int(duck[1]),
            "pyarrow_savings_rows": savings.num_rows,
            "duckdb_timeseries_weeks": weeks,
            "duckdb_yields_rows": yields[0],
            "duckdb_yields_cohort_rows": yields[1],
            "pyarrow_returns_rows": returns.num_rows,
            "pyarrow_returns_null_irr": returns.column("irr").null_count,
            "duckdb_book_value_sum": yields[2],
            "duckdb_utilization_sum": duck[2],
        }
    )
)
