#!/usr/bin/env bash
# Bring up a real single-node Slurm cluster (munged + slurmctld + slurmd) whose
# config, spool, logs, sockets and pid files all live under STATE_DIR.
#
#   eval "$(scripts/slurm/up.sh STATE_DIR | tail -1)"   # sets SLURM_CONF
#   sbatch ...; squeue ...
#   scripts/slurm/down.sh STATE_DIR
#
# Progress goes to stderr; the only line on stdout is the final
# `export SLURM_CONF=...`.  Idempotent: if the daemons for STATE_DIR are
# already running it just waits for the node and prints the export line.
#
# Environment knobs:
#   PRUNECV_SLURMCTLD_PORT  (default 6817)  slurmctld port on 127.0.0.1
#   PRUNECV_SLURMD_PORT     (default 6818)  slurmd port on 127.0.0.1
#   PRUNECV_SLURM_TIMEOUT   (default 60)    seconds to wait for the node to be idle
#   PRUNECV_SLURM_NO_INSTALL=1              never run apt-get; fail if tools missing
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

[[ $# -eq 1 && -n $1 ]] || { echo "usage: $0 STATE_DIR" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || die "must run as root (SlurmUser=root, slurmd needs root)"

CTLD_PORT=${PRUNECV_SLURMCTLD_PORT:-6817}
SLURMD_PORT=${PRUNECV_SLURMD_PORT:-6818}
TIMEOUT=${PRUNECV_SLURM_TIMEOUT:-60}
[[ $CTLD_PORT =~ ^[0-9]+$ && $SLURMD_PORT =~ ^[0-9]+$ && $CTLD_PORT != "$SLURMD_PORT" ]] ||
    die "bad ports: slurmctld=$CTLD_PORT slurmd=$SLURMD_PORT"

export PATH=$PATH:/usr/sbin:/sbin
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }'; }

mkdir -p "$1"
STATE=$(cd "$1" && pwd -P)
[[ $STATE != *[[:space:]]* ]] || die "STATE_DIR must not contain whitespace (slurm.conf paths): $STATE"
CONF=$STATE/slurm.conf
MUNGE_DIR=$STATE/munge
MUNGE_SOCK=$MUNGE_DIR/munge.socket.2

# One up/down at a time per STATE_DIR.
exec 9>"$STATE/.lock"
flock -w 120 9 || die "could not lock $STATE/.lock"

print_export() { printf 'export SLURM_CONF=%q\n' "$CONF"; }

# ---------------------------------------------------------------- install --
need_install() {
    local b
    for b in slurmctld slurmd sbatch squeue sinfo scontrol scancel munged munge unmunge; do
        command -v "$b" >/dev/null 2>&1 || return 0
    done
    return 1
}

install_packages() {
    [[ ${PRUNECV_SLURM_NO_INSTALL:-0} == 1 ]] && die "Slurm/munge not installed and PRUNECV_SLURM_NO_INSTALL=1"
    command -v apt-get >/dev/null || die "Slurm/munge missing and no apt-get to install them"
    log "installing slurmctld slurmd slurm-client munge (apt) ..."
    local aptlog=$STATE/log/apt.log rm_policy=0
    mkdir -p "$STATE/log"
    # Keep the packages' postinst scripts from starting system-wide daemons
    # (there is no systemd here, so invoke-rc.d would run the init scripts).
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        rm_policy=1
    fi
    local rc=0
    {
        apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                slurmctld slurmd slurm-client munge
    } >"$aptlog" 2>&1 || rc=$?
    [[ $rm_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
    if [[ $rc != 0 ]]; then
        tail -n 30 "$aptlog" >&2
        die "apt-get failed (rc=$rc), full log: $aptlog"
    fi
    need_install && die "packages installed but binaries still missing (see $aptlog)"
    log "packages installed in $(elapsed)"
}

if need_install; then install_packages; fi

# ------------------------------------------------------- already running? --
running=()
for d in munged slurmctld slurmd; do
    if pid_of "$d" "$STATE" >/dev/null; then running+=("$d"); fi
done
if [[ ${#running[@]} -eq 3 ]]; then
    log "cluster in $STATE already running (pids: $(cat "$STATE"/run/{munged,slurmctld,slurmd}.pid | tr '\n' ' '))"
    REUSE=1
else
    REUSE=0
    if [[ ${#running[@]} -gt 0 ]]; then
        log "partial cluster (${running[*]}) found in $STATE; restarting it"
        PRUNECV_SLURM_LOCKED=$STATE "$HERE/down.sh" "$STATE" >&2
    fi
fi

# -------------------------------------------------------------- log tails --
show_logs() {
    local f
    for f in "$STATE"/log/*.log "$STATE"/log/*.out "$MUNGE_DIR"/munged.log; do
        [[ -s $f ]] || continue
        printf -- '----- tail %s -----\n' "$f" >&2
        tail -n 25 "$f" >&2
    done
}
fail() { log "ERROR: $*"; show_logs; exit 1; }

port_busy() {
    local p=$1
    if command -v ss >/dev/null 2>&1 && [[ -n $(ss -Hltn "sport = :$p" 2>/dev/null) ]]; then
        return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

# -------------------------------------------------------------- start all --
if [[ $REUSE == 0 ]]; then
    for p in "$CTLD_PORT" "$SLURMD_PORT"; do
        port_busy "$p" && die "port $p on 127.0.0.1 is already in use; pick free ones with PRUNECV_SLURMCTLD_PORT=... PRUNECV_SLURMD_PORT=..."
    done
    id munge >/dev/null 2>&1 || die "user 'munge' missing (is the munge package installed?)"

    chmod 0755 "$STATE"
    mkdir -p "$STATE"/{run,log,spool/ctld,spool/slurmd,jobs}
    rm -f "$STATE"/run/*.pid

    # ---- munged: private instance on its own socket (never /run/munge),
    # run as the munge user.  Key: the system key if there is one, else a
    # key generated under STATE_DIR.  The system key is never modified.
    mkdir -p "$MUNGE_DIR"
    chown munge:munge "$MUNGE_DIR"
    chmod 0755 "$MUNGE_DIR"
    rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    if [[ -f /etc/munge/munge.key ]] && setpriv --reuid=munge --regid=munge --init-groups test -r /etc/munge/munge.key; then
        MUNGE_KEY=/etc/munge/munge.key
    else
        MUNGE_KEY=$MUNGE_DIR/munge.key
        if [[ ! -s $MUNGE_KEY ]]; then
            log "no usable system munge key; generating $MUNGE_KEY"
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        fi
        chown munge:munge "$MUNGE_KEY"
        chmod 0600 "$MUNGE_KEY"
    fi
    # munged refuses a socket whose parent directories are not all
    # world-searchable (o+x), even when run as root; mktemp -d makes 0700 dirs.
    d=$STATE
    while [[ $d != / ]]; do
        d=$(dirname "$d")
        [[ $(( 0$(stat -c %a "$d") & 1 )) == 1 ]] ||
            die "munged needs every parent of $MUNGE_DIR to be world-searchable, but $d is mode $(stat -c %a "$d"); chmod o+x it or use another STATE_DIR"
    done
    setpriv --reuid=munge --regid=munge --init-groups test -w "$MUNGE_DIR" -a -r "$MUNGE_KEY" ||
        die "user munge cannot use $MUNGE_DIR or $MUNGE_KEY"

    # ---- slurm.conf
    NODE_HW=$(slurmd -C 2>/dev/null | head -n 1) || true
    [[ $NODE_HW == NodeName=* ]] || die "slurmd -C gave unexpected output: $NODE_HW"
    NODE_HW=$(sed -E 's/^NodeName=[^ ]+ ?//' <<<"$NODE_HW")

    cat >"$CONF" <<EOF
# Generated by scripts/slurm/up.sh -- single-node test cluster, loopback only.
ClusterName=prunecv
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/slurmd
SlurmctldPidFile=$STATE/run/slurmctld.daemon.pid
SlurmdPidFile=$STATE/run/slurmd.daemon.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=300
MailProg=/bin/true
TmpFS=$STATE/jobs
NodeName=localhost NodeAddr=127.0.0.1 $NODE_HW State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$CONF

    # start NAME CMD...: launch a daemon in its own session, detached from the
    # caller's stdio (so `$(up.sh ...)` does not hang), tagged with the marker.
    start() {
        local name=$1; shift
        env "$MARKER_VAR=$STATE" SLURM_CONF="$CONF" setsid "$@" \
            </dev/null >>"$STATE/log/$name.out" 2>&1 9>&- &
        local pid=$!
        echo "$pid" >"$STATE/run/$name.pid"
        sleep 0.2
        is_ours "$pid" "$STATE" || fail "$name exited right after start"
    }

    start munged setpriv --reuid=munge --regid=munge --init-groups munged --foreground \
        --socket="$MUNGE_SOCK" --key-file="$MUNGE_KEY" \
        --pid-file="$MUNGE_DIR/munged.pid" --log-file="$MUNGE_DIR/munged.log" \
        --seed-file="$MUNGE_DIR/munged.seed"
    for _ in $(seq 100); do
        if munge -n -S "$MUNGE_SOCK" 2>/dev/null | unmunge -S "$MUNGE_SOCK" >/dev/null 2>&1; then break; fi
        pid_of munged "$STATE" >/dev/null || fail "munged died"
        sleep 0.1
    done
    munge -n -S "$MUNGE_SOCK" | unmunge -S "$MUNGE_SOCK" >/dev/null 2>&1 || fail "munged not answering on $MUNGE_SOCK"
    log "munged up (key $MUNGE_KEY) at $(elapsed)"

    # -c: start from a clean slate.  Jobs recorded by an earlier run in this
    # STATE_DIR no longer exist (down.sh killed them); recovering them would
    # leave the node ALLOCATED forever.  Job ids restart at 1.
    start slurmctld slurmctld -D -c -f "$CONF"
    for _ in $(seq 150); do
        if scontrol ping 2>/dev/null | grep -q 'is UP'; then break; fi
        pid_of slurmctld "$STATE" >/dev/null || fail "slurmctld died"
        sleep 0.2
    done
    scontrol ping 2>/dev/null | grep -q 'is UP' || fail "slurmctld not answering on 127.0.0.1:$CTLD_PORT"
    log "slurmctld up (port $CTLD_PORT) at $(elapsed)"

    start slurmd slurmd -D -N localhost -f "$CONF"
fi

export SLURM_CONF=$CONF

# ------------------------------------------------------- wait for the node --
deadline=$(( $(date +%s) + TIMEOUT ))
state=""
while :; do
    state=$(sinfo -h -N -n localhost -o '%T' 2>/dev/null | head -n 1) || state=""
    case $state in
        idle) break ;;
        mixed|allocated|completing) [[ $REUSE == 1 ]] && break ;;
    esac
    for d in munged slurmctld slurmd; do
        pid_of "$d" "$STATE" >/dev/null || fail "$d is not running"
    done
    if (( $(date +%s) >= deadline )); then
        scontrol show node localhost >&2 2>/dev/null || true
        fail "node 'localhost' not idle after ${TIMEOUT}s (state: '${state:-none}')"
    fi
    sleep 0.2
done
log "node localhost is $state; cluster ready in $(elapsed) (SLURM_CONF=$CONF)"
print_export
