#!/usr/bin/env bash
# The distributed path on a real Slurm: starts a single-node cluster (munge, slurmctld,
# slurmd) in a temporary directory, submits a capsim run as a 4-task job array plus a
# dependent merge with deploy/slurm/submit.sh, and checks that the merged tables are
# byte-identical to a local single run. Then checks that a run whose shards fail is
# reported as failed (the merge is cancelled), not as success. Cleans up after itself.
#
# Needs root and Debian's slurm-wlm and munge (installed here with apt-get if missing).
# Skips, saying so, only where Slurm cannot be installed or started.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
capsim="$root/target/release/capsim"
say() { echo "slurm test: $*"; }
skip() { say "SKIPPED: $*"; exit 0; }
fail() { say "FAILED: $*"; exit 1; }
[ -x "$capsim" ] || fail "no $capsim: run cargo build --release first"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || skip "slurm-wlm is not installed and cannot be (needs root and apt-get)"
    say "installing slurm-wlm and munge"
    { apt-get install -y --no-install-recommends slurm-wlm munge || { apt-get update && apt-get install -y --no-install-recommends slurm-wlm munge; }; } \
        >/dev/null 2>&1 || skip "apt-get could not install slurm-wlm and munge"
fi

work=$(mktemp -d /tmp/capsim-slurm.XXXXXX)
munge_pid=""
cleanup() {
    # Stop by the PIDs the daemons wrote, never by process name.
    for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid"; do
        if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    if [ -n "$munge_pid" ]; then kill "$munge_pid" 2>/dev/null || true; fi
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

if [ ! -S /run/munge/munge.socket.2 ] || ! munge -n >/dev/null 2>&1; then
    install -d -o munge -g munge /run/munge
    runuser -u munge -- /usr/sbin/munged || skip "munged does not start"
    munge_pid=$(cat /run/munge/munged.pid 2>/dev/null || true)
fi

mkdir -p "$work/state" "$work/spool"
conf="$work/slurm.conf"
node=$(slurmd -C | head -n 1)
cat > "$conf" <<CONF
ClusterName=capsim-ci
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
DependencyParameters=kill_invalid_depend
SchedulerParameters=batch_sched_delay=0
MinJobAge=3600
MailProg=/bin/true
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"
setsid nohup slurmctld -D -f "$conf" >"$work/slurmctld.out" 2>&1 &
setsid nohup slurmd -D -f "$conf" >"$work/slurmd.out" 2>&1 &
for _ in $(seq 1 60); do
    [ "$(sinfo -h -o %T 2>/dev/null | head -n 1)" = idle ] && break
    sleep 0.5
done
if [ "$(sinfo -h -o %T 2>/dev/null | head -n 1)" != idle ]; then
    tail -n 5 "$work/slurmctld.log" "$work/slurmd.log" 2>/dev/null || true
    skip "the single-node cluster did not come up (node state: $(sinfo -h -o %T 2>/dev/null || echo none))"
fi
say "cluster up: $(sinfo -h -o '%N %T %c CPUs')"

# Waits for jobs to leave the queue (with a timeout: a pending job never leaves).
wait_for() {
    for _ in $(seq 1 600); do
        [ -z "$(squeue -h -j "$1" 2>/dev/null)" ] && return 0
        sleep 0.5
    done
    squeue -j "$1" || true
    fail "jobs $1 still queued after 300 s"
}
state_of() { scontrol -o show job "$1" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }

scenario="$root/scenarios/glut-2026.yaml"
flags=(--replications 6)
"$capsim" run "$scenario" "${flags[@]}" --out "$work/local" --quiet
read -r array merge < <(CAPSIM="$capsim" "$root/deploy/slurm/submit.sh" "$scenario" "$work/slurm" 4 "${flags[@]}")
say "submitted array $array (4 shards) and merge $merge"
wait_for "$array,$merge"
[ "$(state_of "$merge")" = COMPLETED ] || { cat "$work"/slurm/*.out 2>/dev/null || true; fail "merge job $merge ended $(state_of "$merge")"; }
for table in runs summary timeseries savings yields returns yields_summary weeks; do
    cmp -s "$work/local/$table.parquet" "$work/slurm/$table.parquet" || fail "$table.parquet from Slurm differs from the local run"
done
say "4 shards on Slurm merged into tables byte-identical to a local run"

# A run whose shards fail must not look like a success: the merge never completes.
read -r array merge < <(CAPSIM="$capsim" "$root/deploy/slurm/submit.sh" "$root/tests/fixtures/invalid/unknown-key.yaml" "$work/failing" 2)
wait_for "$array,$merge"
merge_state=$(state_of "$merge")
[ "$merge_state" != COMPLETED ] || fail "merge job $merge completed although its shards failed"
[ ! -e "$work/failing/summary.parquet" ] || fail "a summary was written although the shards failed"
say "failed shards are reported: the merge job ended $merge_state and wrote nothing"
say "passed"
