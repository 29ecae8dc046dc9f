#!/usr/bin/env bash
# shellcheck disable=SC2016  # the --wrap scripts are expanded by the job, not here
# End-to-end check of scripts/slurm/{up,down}.sh: brings a cluster up in a
# temp dir, runs job arrays with afterany/afterok dependencies (including a
# failing task), checks that array tasks run concurrently, and brings the
# cluster down again.  Exit 0 only if everything worked.
#
#   scripts/slurm/smoke.sh            # KEEP=1 keeps the temp dir for inspection
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
JOB_TIMEOUT=${JOB_TIMEOUT:-60}

T0=$(date +%s.%N)
TP=$T0
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
phase() { local t; t=$(now); printf '[smoke] %-44s %6ss (total %6ss)\n' "$1" "$(secs "$TP" "$t")" "$(secs "$T0" "$t")"; TP=$t; }
fail() { echo "[smoke] FAIL: $*" >&2; exit 1; }

DIR=$(mktemp -d /tmp/slurm-smoke.XXXXXX)
chmod 755 "$DIR"   # munged wants every parent of its socket to be o+x
STATE=$DIR/state
W=$DIR/work
mkdir -p "$W"
cleanup() {
    local rc=$?
    trap - EXIT
    if [[ $rc != 0 && -f $STATE/slurm.conf ]]; then
        echo "[smoke] --- squeue / logs at failure ---" >&2
        SLURM_CONF=$STATE/slurm.conf squeue >&2 2>/dev/null || true
        tail -n 20 "$STATE"/log/slurmctld.log "$STATE"/log/slurmd.log >&2 2>/dev/null || true
    fi
    "$HERE/down.sh" "$STATE" || rc=1
    if [[ ${KEEP:-0} == 1 ]]; then echo "[smoke] kept $DIR" >&2; else rm -rf "$DIR"; fi
    exit "$rc"
}
trap cleanup EXIT

# ------------------------------------------------------------------ up --
line=$("$HERE/up.sh" "$STATE" | tail -n 1)
[[ $line == "export SLURM_CONF="* ]] || fail "up.sh last line was: $line"
eval "$line"
[[ $SLURM_CONF == "$STATE/slurm.conf" ]] || fail "SLURM_CONF=$SLURM_CONF"
phase "up.sh (cluster idle)"
pids_before=$(cat "$STATE"/run/{munged,slurmctld,slurmd}.pid)
line2=$("$HERE/up.sh" "$STATE" 2>/dev/null | tail -n 1)
[[ $line2 == "$line" ]] || fail "second up.sh printed: $line2"
[[ $(cat "$STATE"/run/{munged,slurmctld,slurmd}.pid) == "$pids_before" ]] || fail "second up.sh restarted daemons"
phase "second up.sh (no-op)"
CPUS=$(sinfo -h -N -n localhost -o '%c')

submit() { local id; id=$(sbatch --parsable --chdir="$W" "$@") || fail "sbatch $*"; echo "${id%%;*}"; }

# wait_gone ID...: poll squeue until none of the jobs is pending/running.
wait_gone() {
    local deadline=$(( $(date +%s) + JOB_TIMEOUT )) out rc
    while :; do
        rc=0
        out=$(squeue -h -j "$(IFS=,; echo "$*")" -o '%i %T %r' 2>&1) || rc=$?
        if [[ $rc == 0 && -z $out ]] || [[ $rc != 0 && $out == *"Invalid job id"* ]]; then
            return 0
        fi
        (( $(date +%s) < deadline )) || fail "jobs $* not finished after ${JOB_TIMEOUT}s: $out"
        sleep 0.2
    done
}
# field JOB KEY: a field of `scontrol show job` (completed jobs are kept
# MinJobAge=300 s, which is all the "accounting" this cluster has).
field() { scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }

# ----------------------------------------- 1: array + afterany marker --
A=$(submit --array=0-3 --wrap 'echo $SLURM_ARRAY_TASK_ID > out.$SLURM_ARRAY_TASK_ID')
B=$(submit --dependency=afterany:"$A" --wrap 'ls out.* | wc -l > marker')
wait_gone "$A" "$B"
for i in 0 1 2 3; do
    [[ -f $W/out.$i && $(<"$W/out.$i") == "$i" ]] || fail "out.$i missing or wrong"
done
[[ -f $W/marker ]] || fail "afterany job did not write marker"
[[ $(tr -d ' ' <"$W/marker") == 4 ]] || fail "dependent job ran before the array finished (saw $(<"$W/marker") outputs)"
phase "array 0-3 + afterany job (job $A, $B)"

# -------------------- 2: failing task, afterany still runs, afterok not --
C=$(submit --array=0-3 --wrap 'if [ "$SLURM_ARRAY_TASK_ID" = 2 ]; then exit 3; fi; echo ok > ok.$SLURM_ARRAY_TASK_ID')
D=$(submit --dependency=afterany:"$C" --wrap 'echo ran > marker2')
E=$(submit --dependency=afterok:"$C" --wrap 'echo ran > marker3')
wait_gone "$C" "$D"
for i in 0 1 3; do [[ -f $W/ok.$i ]] || fail "ok.$i missing"; done
[[ ! -e $W/ok.2 ]] || fail "task 2 should have failed before writing ok.2"
[[ -f $W/marker2 ]] || fail "afterany job did not run after a failed array task"
[[ $(field "${C}_2" JobState) == FAILED ]] || fail "task ${C}_2 state: $(field "${C}_2" JobState)"
[[ $(field "${C}_2" ExitCode) == 3:0 ]] || fail "task ${C}_2 exit code: $(field "${C}_2" ExitCode)"
[[ $(field "${C}_1" JobState) == COMPLETED ]] || fail "task ${C}_1 state: $(field "${C}_1" JobState)"
# afterok on a failed array never becomes runnable (no kill_invalid_depend):
reason=$(squeue -h -j "$E" -o '%r')
[[ $reason == DependencyNeverSatisfied ]] || fail "afterok job $E: reason '$reason'"
[[ ! -e $W/marker3 ]] || fail "afterok job ran despite failed task"
scancel "$E"
wait_gone "$E"
phase "failing task (exit 3) + afterany/afterok ($C)"

# ------------------------------- 3: array tasks really run concurrently --
if (( CPUS >= 2 )); then
    F=$(submit --array=0-1 --wrap 'date +%s.%N > start.$SLURM_ARRAY_TASK_ID; sleep 2; date +%s.%N > end.$SLURM_ARRAY_TASK_ID')
    wait_gone "$F"
    overlap=$(awk -v s0="$(<"$W/start.0")" -v s1="$(<"$W/start.1")" -v e0="$(<"$W/end.0")" -v e1="$(<"$W/end.1")" \
        'BEGIN { s = (s0 > s1 ? s0 : s1); e = (e0 < e1 ? e0 : e1); print (s < e ? "yes" : "no") }')
    [[ $overlap == yes ]] || fail "array tasks did not overlap in time ($CPUS CPUs)"
    phase "2 tasks ran concurrently on $CPUS CPUs"
else
    echo "[smoke] only $CPUS CPU: concurrency check skipped"
fi

# ---------------------------------------------------------------- down --
trap - EXIT
"$HERE/down.sh" "$STATE" || fail "down.sh failed"
"$HERE/down.sh" "$STATE" 2>/dev/null || fail "second down.sh failed"
left=$(grep -lzsxF "PRUNECV_SLURM_STATE=$STATE" /proc/[0-9]*/environ 2>/dev/null || true)
[[ -z $left ]] || fail "processes left after down.sh: $left"
phase "down.sh (twice)"
if [[ ${KEEP:-0} == 1 ]]; then echo "[smoke] kept $DIR"; else rm -rf "$DIR"; fi
echo "[smoke] PASS in $(secs "$T0" "$(now)")s"
