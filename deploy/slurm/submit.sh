#!/usr/bin/env bash
# Submits a capsim run as a Slurm job array of SHARDS tasks plus a dependent merge job.
#
#   deploy/slurm/submit.sh SCENARIO OUT SHARDS [extra capsim run flags…]
#
# Prints "ARRAY_JOB_ID MERGE_JOB_ID". The merge job runs only after every shard
# succeeded (afterok) and is cancelled if one fails (set DependencyParameters=
# kill_invalid_depend in slurm.conf, or it pends for ever). Do not trust
# `sbatch --wait` on the merge job to report a failed shard: check its state with
# `scontrol show job MERGE_JOB_ID` (JobState=COMPLETED) or look for OUT/summary.parquet.
# CAPSIM (default: capsim on PATH) must be reachable from every node, as must SCENARIO
# and OUT (a shared file system).
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 SCENARIO OUT SHARDS [capsim run flags…]" >&2
    exit 2
fi
scenario=$(realpath "$1"); out=$(realpath -m "$2"); shards=$3; shift 3
here=$(cd "$(dirname "$0")" && pwd)
export SCENARIO="$scenario" OUT="$out" CAPSIM="${CAPSIM:-capsim}" CAPSIM_ARGS="$*"
mkdir -p "$out"
array=$(sbatch --parsable --chdir="$out" --array="0-$((shards - 1))" "$here/capsim-shard.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --chdir="$out" --dependency="afterok:$array" "$here/capsim-merge.sbatch")
merge=${merge%%;*}
echo "$array $merge"
