#!/usr/bin/env bash
# Stop the single-node Slurm cluster that scripts/slurm/up.sh started in
# STATE_DIR: cancels its jobs, stops slurmd and slurmctld, then whatever they
# left behind (slurmstepd and the job processes under it), then munged, and
# waits until all of it is gone.  Only processes tagged by up.sh for this
# STATE_DIR (see common.sh) and their descendants are ever signalled.
# Idempotent: succeeds when nothing is running or STATE_DIR does not exist.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

[[ $# -eq 1 && -n $1 ]] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
if [[ ! -d $1 ]]; then
    log "$1 does not exist; nothing to stop"
    exit 0
fi
STATE=$(cd "$1" && pwd -P)
export PATH=$PATH:/usr/sbin:/sbin

if [[ ${PRUNECV_SLURM_LOCKED:-} != "$STATE" ]]; then
    exec 9>"$STATE/.lock"
    flock -w 120 9 || die "could not lock $STATE/.lock"
fi

# stop TIMEOUT TOKEN...: SIGTERM, wait up to TIMEOUT s, SIGKILL, wait 5 s.
# Tokens are PID:STARTTIME (common.sh), so a reused pid is never signalled.
stop() {
    local timeout=$1; shift
    local t left=() i sig
    for sig in TERM KILL; do
        left=()
        for t in "$@"; do token_alive "$t" && left+=("$t"); done
        [[ ${#left[@]} -eq 0 ]] && return 0
        [[ $sig == KILL ]] && log "still alive after ${timeout}s, sending SIGKILL: ${left[*]%%:*}"
        [[ $sig == KILL ]] && timeout=5
        for t in "${left[@]}"; do kill "-$sig" "${t%%:*}" 2>/dev/null || true; done
        for ((i = 0; i < timeout * 10; i++)); do
            left=()
            for t in "$@"; do token_alive "$t" && left+=("$t"); done
            [[ ${#left[@]} -eq 0 ]] && return 0
            sleep 0.1
        done
    done
    return 1
}

tok_of() { local p; p=$(pid_of "$1" "$STATE") && token "$p"; }
ctld=$(tok_of slurmctld || true)
slurmd=$(tok_of slurmd || true)
munged=$(tok_of munged || true)

# 1. Cancel whatever is still queued or running, so that slurmd itself ends
#    the jobs and their slurmstepd (needs all three daemons alive).
if [[ -n $ctld && -n $slurmd && -n $munged && -f $STATE/slurm.conf ]]; then
    export SLURM_CONF=$STATE/slurm.conf
    jobs=$(timeout 10 squeue -h -o '%i' 2>/dev/null || true)
    if [[ -n $jobs ]]; then
        log "cancelling jobs: $(tr '\n' ' ' <<<"$jobs")"
        # shellcheck disable=SC2086
        timeout 10 scancel $jobs 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            [[ -z $(timeout 5 squeue -h -o '%i' 2>/dev/null || true) ]] && break
            sleep 0.2
        done
    fi
fi

# 2. Snapshot everything that belongs to this cluster while the process
#    tree is intact: the tagged daemons, slurmscriptd and slurmstepd (they
#    inherit the tag) and all their descendants (job scripts and children).
mapfile -t marked < <(marked_pids "$STATE")
rest=()
for p in ${marked[@]+"${marked[@]}"} $( ((${#marked[@]})) && descendants "${marked[@]}"); do
    t=$(token "$p") || continue
    [[ $t == "$ctld" || $t == "$slurmd" || $t == "$munged" ]] && continue
    rest+=("$t")
done

# 3. slurmd and slurmctld.
stopped=()
if [[ -n $slurmd || -n $ctld ]]; then
    # shellcheck disable=SC2086
    stop 20 $slurmd $ctld || die "could not stop slurmd/slurmctld"
    stopped+=(${slurmd:+slurmd} ${ctld:+slurmctld})
fi

# 4. Leftovers (normally none after step 1).
if [[ ${#rest[@]} -gt 0 ]]; then
    alive=()
    for t in "${rest[@]}"; do token_alive "$t" && alive+=("$t"); done
    if [[ ${#alive[@]} -gt 0 ]]; then
        log "stopping leftover processes: $(for t in "${alive[@]}"; do printf '%s(%s) ' "${t%%:*}" "$(cat /proc/"${t%%:*}"/comm 2>/dev/null)"; done)"
        stop 3 "${alive[@]}" || die "could not stop leftover processes"
    fi
fi

# 5. munged last: slurmd/slurmctld need it while shutting down.
if [[ -n $munged ]]; then
    stop 10 "$munged" || die "could not stop munged"
    stopped+=(munged)
fi

# 6. Let init reap the zombies, so that `pgrep slurm` is clean when we
#    return (only waits; a pid reused by a new process ends the wait).
for t in $ctld $slurmd $munged ${rest[@]+"${rest[@]}"}; do
    for ((i = 0; i < 100; i++)); do
        f=(); read -r -a f < <(proc_fields "${t%%:*}") || true
        [[ ${f[0]:-} == Z && ${f[2]} == "${t#*:}" ]] || break
        sleep 0.1
    done
done

remaining=$(marked_pids "$STATE")
[[ -z $remaining ]] || die "processes of $STATE still alive: $(tr '\n' ' ' <<<"$remaining")"
rm -f "$STATE"/run/*.pid
if [[ ${#stopped[@]} -gt 0 ]]; then
    log "stopped ${stopped[*]} for $STATE"
else
    log "nothing running for $STATE"
fi
