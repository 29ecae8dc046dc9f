# Shared helpers for scripts/slurm/{up,down}.sh.  Sourced, not executed.
# shellcheck shell=bash

# Every daemon started by up.sh carries this variable in its environment,
# set to the absolute STATE_DIR.  down.sh only signals a process whose
# /proc/PID/environ holds exactly this entry, so an unrelated process that
# happens to reuse a recorded pid is never touched.
MARKER_VAR=PRUNECV_SLURM_STATE

log() { printf '[slurm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# abs_path DIR: absolute path of DIR without requiring realpath -m.
abs_path() {
    case "$1" in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

# is_ours PID STATE: true if PID is alive and was started by up.sh for STATE.
is_ours() {
    local pid=$1 state=$2
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/environ ]] || return 1
    # A zombie has an empty environ; treat it as gone.
    # (Kernel threads and vanished pids make the read fail: not ours.)
    { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "$MARKER_VAR=$state"
}

# pid_of NAME STATE: prints the recorded pid of daemon NAME if it is ours and alive.
pid_of() {
    local name=$1 state=$2 pid
    [[ -f $state/run/$name.pid ]] || return 1
    pid=$(<"$state/run/$name.pid")
    is_ours "$pid" "$state" || return 1
    printf '%s\n' "$pid"
}

# marked_pids STATE: every live process carrying our marker for STATE
# (the daemons plus any slurmstepd they forked).
marked_pids() {
    local state=$1 p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        [[ $p == "$$" || $p == "$BASHPID" ]] && continue
        is_ours "$p" "$state" && printf '%s\n' "$p"
    done
    return 0
}

# proc_fields PID: prints "STATE PPID STARTTIME" from /proc/PID/stat.
proc_fields() {
    local s rest
    { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${s##*) }          # drop "pid (comm) "; comm may contain spaces
    # shellcheck disable=SC2086
    set -- $rest
    printf '%s %s %s\n' "$1" "$2" "${20}"
}

# token PID: "PID:STARTTIME", a pid that cannot be confused with a later
# process reusing the same number.
token() {
    local f
    read -r -a f < <(proc_fields "$1") || return 1
    printf '%s:%s\n' "$1" "${f[2]}"
}

# token_alive TOKEN: the process still exists, is not a zombie, same start time.
token_alive() {
    local f
    read -r -a f < <(proc_fields "${1%%:*}") || return 1
    [[ ${f[0]} != Z && ${f[2]} == "${1#*:}" ]]
}

# descendants PID...: all live descendants of the given pids (not the pids).
descendants() {
    local -A kids=()
    local p f q=("$@") cur c
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        read -r -a f < <(proc_fields "$p") || continue
        kids[${f[1]}]+=" $p"
    done
    while [[ ${#q[@]} -gt 0 ]]; do
        cur=${q[0]}; q=("${q[@]:1}")
        for c in ${kids[$cur]:-}; do
            printf '%s\n' "$c"
            q+=("$c")
        done
    done
}
