#!/usr/bin/env bash
# Stand up a single-node SLURM cluster (Debian's slurmctld + slurmd + munge) on this
# machine, for the `slurm`-marked test (tests/workflow/test_slurm.py) and CI.
#
#   sudo bash tests/cluster/slurm_up.sh      # as root; idempotent, a few seconds when up
#
# What it builds:
#   - cluster "romflow-test" (the test runs only on a cluster of that name, never on yours),
#     one partition "debug" with this machine as its one node, every core schedulable;
#   - no accounting storage (sacct cannot answer: the profile polls with squeue); a
#     finished job stays listed for an hour (MinJobAge), for squeue and the test;
#   - a stand-in GPU: GresTypes=gpu, the node's Gres=gpu:1, and gres.conf AutoDetect=off,
#     Name=gpu File=/dev/null, so that `sbatch --gpus=1` (what the GPU rules produce)
#     schedules on a GPU-less node; the job then runs on the CPU (device=auto finds no CUDA).
# Installs slurm-wlm and munge with apt-get where they are missing. Rerunning it with the
# cluster up and its config unchanged does nothing; with a changed config it restarts the
# daemons it started.
set -euo pipefail

CLUSTER=romflow-test
CONF_DIR=/etc/slurm
STATE=/var/spool/slurmctld
SPOOL=/var/spool/slurmd
LOGDIR=/var/log/slurm

if [[ $(id -u) -ne 0 ]]; then
    echo "slurm_up.sh: run as root (it installs packages and starts daemons)" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v munged >/dev/null; then
    echo "slurm_up.sh: installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# --- munge: a key, then the daemon as the munge user -----------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

# --- slurm.conf and gres.conf -----------------------------------------------------------
NODE=$(hostname -s)
CPUS=$(nproc)
# The rules ask up to 8000 MB; memory is not a consumable resource here (CR_Core) and
# config_overrides keeps the declared size on a smaller CI machine.
MEM=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
(( MEM < 16384 )) && MEM=16384

mkdir -p "$CONF_DIR" "$STATE" "$SPOOL" "$LOGDIR"
new_conf=$(cat <<EOF
# Written by tests/cluster/slurm_up.sh: a single-node test cluster, not for production.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE
SlurmdSpoolDir=$SPOOL
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGDIR/slurmctld.log
SlurmdLogFile=$LOGDIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
# squeue and scontrol still list a finished job for MinJobAge seconds: long enough for
# the executor's status polls (it wants at least 3 x its first interval of 40 s), and
# for the test to read every job's GPU request back after the run.
MinJobAge=3600
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
)
new_gres=$(cat <<EOF
# Written by tests/cluster/slurm_up.sh: one stand-in GPU on a GPU-less node.
AutoDetect=off
NodeName=$NODE Name=gpu File=/dev/null
EOF
)

changed=0
if [[ ! -f $CONF_DIR/slurm.conf ]] || [[ "$(cat "$CONF_DIR/slurm.conf")" != "$new_conf" ]]; then
    printf '%s\n' "$new_conf" > "$CONF_DIR/slurm.conf"
    changed=1
fi
if [[ ! -f $CONF_DIR/gres.conf ]] || [[ "$(cat "$CONF_DIR/gres.conf")" != "$new_gres" ]]; then
    printf '%s\n' "$new_gres" > "$CONF_DIR/gres.conf"
    changed=1
fi

running() {  # pid file of a daemon whose process is alive
    [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

if (( changed )) && { running /run/slurmctld.pid || running /run/slurmd.pid; }; then
    echo "slurm_up.sh: config changed, restarting the daemons"
    scontrol shutdown >/dev/null 2>&1 || true
    for _ in $(seq 100); do
        running /run/slurmctld.pid || running /run/slurmd.pid || break
        sleep 0.1
    done
fi
running /run/slurmctld.pid || slurmctld
# slurmd, and so every job it starts, at nice 10: the test cluster shares its machine.
running /run/slurmd.pid || nice -n 10 slurmd

# --- wait until the node takes jobs -----------------------------------------------------
deadline=$(( $(date +%s) + 30 ))
state=
while (( $(date +%s) < deadline )); do
    if ! running /run/slurmctld.pid || ! running /run/slurmd.pid; then
        sleep 0.5  # a daemon that fails its start exits within a moment of forking
        if ! running /run/slurmctld.pid || ! running /run/slurmd.pid; then
            echo "slurm_up.sh: a SLURM daemon exited; the end of its log:" >&2
            tail -n 5 "$LOGDIR/slurmctld.log" "$LOGDIR/slurmd.log" >&2
            exit 1
        fi
    fi
    state=$(timeout 5 sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
    case $state in
        idle|mixed|allocated) break ;;
        down*|drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
done
if [[ ! $state =~ ^(idle|mixed|allocated)$ ]]; then
    echo "slurm_up.sh: node $NODE is '${state:-unreachable}' after 30 s;" \
         "see $LOGDIR/slurmctld.log and $LOGDIR/slurmd.log" >&2
    exit 1
fi
echo "slurm_up.sh: cluster $CLUSTER up, node $NODE ($CPUS CPUs, gres gpu:1) $state"
