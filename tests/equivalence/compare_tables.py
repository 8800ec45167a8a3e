#!/usr/bin/env python3
"""Compares every Parquet table of two result trees column by column, NaN-aware.

Used to show that a refactoring changes no result: run the old and the new binary on
the same scenarios (see run.sh beside this file), then

    compare_tables.py OLD_ROOT NEW_ROOT

Every `*.parquet` under OLD_ROOT must exist under NEW_ROOT with the same columns, the
same number of rows and the same values (floats compared by their bits, so NaN equals
NaN and -0.0 differs from 0.0). Columns whose meaning is the build, not the results
(`scenario_hash`, `capsim_version`), are skipped. Exit 1 on any difference.

With `--allow-new-null-columns`, a column only NEW_ROOT has is accepted when every one
of its values is null (a feature that adds a column, such as `provider` in the yield
tables, leaving every existing value as it was); tables only NEW_ROOT has are then
listed but not counted as differences.
"""
import math
import pathlib
import struct
import sys

import pyarrow.parquet as pq

SKIPPED = {"scenario_hash", "capsim_version"}


def canonical(value):
    if isinstance(value, float):
        return ("f", struct.pack("<d", value)) if not math.isnan(value) else ("nan",)
    if isinstance(value, list):
        return ("l", tuple(canonical(v) for v in value))
    return ("v", value)


def main(old_root: str, new_root: str, allow_new: bool = False) -> int:
    old, new = pathlib.Path(old_root), pathlib.Path(new_root)
    differences, tables = 0, 0
    old_files = sorted(p.relative_to(old) for p in old.rglob("*.parquet"))
    new_files = sorted(p.relative_to(new) for p in new.rglob("*.parquet"))
    for missing in sorted(set(old_files) ^ set(new_files)):
        print(f"only in one tree: {missing}")
        if not (allow_new and missing in set(new_files)):
            differences += 1
    for rel in old_files:
        if not (new / rel).exists():
            continue
        tables += 1
        a, b = pq.read_table(old / rel), pq.read_table(new / rel)
        if allow_new:
            added = [n for n in b.column_names if n not in a.column_names]
            for name in added:
                if b.column(name).null_count != b.num_rows:
                    print(f"{rel}: new column {name} has values")
                    differences += 1
            b = b.drop_columns(added)
        if a.column_names != b.column_names:
            print(f"{rel}: columns differ:\n  {a.column_names}\n  {b.column_names}")
            differences += 1
            continue
        if a.num_rows != b.num_rows:
            print(f"{rel}: {a.num_rows} rows vs {b.num_rows}")
            differences += 1
            continue
        for name in a.column_names:
            if name in SKIPPED:
                continue
            if a.schema.field(name).type != b.schema.field(name).type:
                print(f"{rel}: column {name} type {a.schema.field(name).type} vs {b.schema.field(name).type}")
                differences += 1
                continue
            xs, ys = a.column(name).to_pylist(), b.column(name).to_pylist()
            bad = [i for i, (x, y) in enumerate(zip(xs, ys)) if canonical(x) != canonical(y)]
            if bad:
                i = bad[0]
                print(f"{rel}: column {name}: {len(bad)} rows differ, first row {i}: {xs[i]!r} vs {ys[i]!r}")
                differences += 1
    print(f"{tables} tables compared, {differences} differences")
    return 1 if differences or tables == 0 else 0


if __name__ == "__main__":
    flags = [arg for arg in sys.argv[1:] if arg.startswith("--")]
    roots = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    unknown = [flag for flag in flags if flag != "--allow-new-null-columns"]
    if len(roots) != 2 or unknown:
        print("usage: compare_tables.py [--allow-new-null-columns] OLD_ROOT NEW_ROOT")
        sys.exit(2)
    sys.exit(main(roots[0], roots[1], "--allow-new-null-columns" in flags))
