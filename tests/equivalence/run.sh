#!/usr/bin/env bash
# Runs one capsim binary on every bundled and validation scenario (2 replications), a
# sweep and a tornado, writing the tables under ROOT; compare two such trees with
# compare_tables.py to show a change left every result as it was.
#   tests/equivalence/run.sh BINARY ROOT
set -euo pipefail
bin=$1 root=$2
cd "$(dirname "$0")/../.."
rm -rf "$root"; mkdir -p "$root"
for scenario in scenarios/*.yaml scenarios/validation/*.yaml; do
    name=$(basename "$scenario" .yaml)
    "$bin" run "$scenario" --replications 2 --quiet --out "$root/run/$name" >/dev/null
done
"$bin" sweep scenarios/seed-baseline-fixed.yaml --replications 2 --quiet --out "$root/sweep" \
    --vary distributed.pricing.usd_per_gpu_hour=1.5,2.0 --vary 'demand.segments[0].arrivals_per_hour=30,40' >/dev/null
"$bin" sweep scenarios/mmc-example.yaml --replications 2 --quiet --out "$root/lhs" \
    --design lhs --points 3 --vary 'demand.segments[0].arrivals_per_hour=30..50' >/dev/null
"$bin" sensitivity scenarios/seed-baseline.yaml --replications 2 --quiet --out "$root/tornado" >/dev/null
echo "wrote $root"
