#!/usr/bin/env bash
# A single-node SLURM cluster from nothing, for the `slurm` tests and `make bench` (Debian 12):
# munged, MariaDB, slurmdbd (the cluster registered, for sacct), slurmctld and slurmd, started
# by hand as daemons (no systemd). One node named after this host with its CPUs and a little
# less than its memory, one partition, no cgroups (proctrack/linuxproc, task/none). Waits
# until sinfo shows the node idle. Safe to run twice: what already runs is left alone, and
# only what this script started gets a pid file under $STATE (tests/cluster/stop.sh stops
# exactly those). Runs as root; jobs run as the user who submits them.
#
#   bash tests/cluster/start.sh      # then: sinfo; sbatch ...; bash tests/cluster/stop.sh
#
# Environment: ALLIANCE_CLUSTER_STATE (default /var/tmp/alliance-cluster): pid files, logs,
# the MariaDB data and Slurm's spool. Slurm's own config goes to /etc/slurm (where sbatch,
# squeue and sacct look for it); a config there that this script did not write is refused.
set -euo pipefail

STATE=${ALLIANCE_CLUSTER_STATE:-/var/tmp/alliance-cluster}
CLUSTER=alliance            # ClusterName, registered in slurmdbd
PARTITION=main
ACCOUNT=alliance            # an account root belongs to (tests set it as a site would)
DB_PORT=3307                # MariaDB on 127.0.0.1 only, beside any system MariaDB on 3306
MARK="# written by tests/cluster/start.sh"
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and starts system daemons)"

# ---- packages ------------------------------------------------------------------------------
missing=()
for bin in slurmctld slurmd slurmdbd sbatch sacct munged mariadbd mariadb-install-db; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${PACKAGES[*]} (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  apt_get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null 2>&1 || {
    apt_get update -qq && apt_get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null; }
fi

# ---- pid files: only for what this script started -------------------------------------------
mkdir -p "$STATE"/{run,log,spool/ctld,spool/d}
install -d -o munge -g munge -m 0700 "$STATE/munge"     # munged's pid file and log
install -d -o mysql -g mysql -m 0750 "$STATE/mariadb"   # MariaDB's socket, pid file and log
pid_file() {  # pid_file NAME: where the daemon NAME writes its pid (tests/cluster/stop.sh too)
  case $1 in munged) echo "$STATE/munge/munged.pid";; mariadbd) echo "$STATE/mariadb/mariadbd.pid";;
             *) echo "$STATE/run/$1.pid";; esac
}
alive() {  # alive NAME: the pid file names a running process of that program
  local file pid
  file=$(pid_file "$1")
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$1" ]
}
wait_for() {  # wait_for SECONDS WHAT COMMAND...: until the command succeeds
  local seconds=$1 what=$2; shift 2
  for _ in $(seq "$((seconds * 2))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "$what did not come up within ${seconds} s (logs: $STATE/log/)"
}

# ---- munge -----------------------------------------------------------------------------------
if alive munged; then
  say "munged runs already"
elif munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "a munged this script did not start answers: using it"
else
  [ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key;
                                   chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key; }
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
  rm -f "$(pid_file munged)"
  runuser -u munge -- munged --pid-file="$(pid_file munged)" --log-file="$STATE/munge/munged.log"
  wait_for 10 "munged's pid file" alive munged
  wait_for 20 munged sh -c 'munge -n | unmunge'
  say "munged started"
fi

# ---- MariaDB (its own data folder, socket and port) --------------------------------------------
DB_SOCKET="$STATE/mariadb/mariadb.sock"
if alive mariadbd; then
  say "mariadbd runs already"
else
  if [ ! -d "$STATE/mysql/mysql" ]; then
    install -d -o mysql -g mysql "$STATE/mysql"
    mariadb-install-db --user=mysql --datadir="$STATE/mysql" --auth-root-authentication-method=socket \
      --skip-test-db >"$STATE/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed ($STATE/log/mariadb-install.log)"
  fi
  rm -f "$(pid_file mariadbd)"
  mariadbd --no-defaults --user=mysql --datadir="$STATE/mysql" --socket="$DB_SOCKET" \
    --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file="$(pid_file mariadbd)" \
    --log-error="$STATE/mariadb/mariadb.log" --innodb-buffer-pool-size=64M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
  disown
  wait_for 60 MariaDB mariadb --no-defaults --socket="$DB_SOCKET" -u root -e 'select 1'
  wait_for 10 "MariaDB's pid file" alive mariadbd
  say "mariadbd started"
fi
DB_PASSWORD_FILE="$STATE/db-password"
[ -s "$DB_PASSWORD_FILE" ] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DB_PASSWORD_FILE")
DB_PASSWORD=$(cat "$DB_PASSWORD_FILE")
mariadb --no-defaults --socket="$DB_SOCKET" -u root <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
SQL

# ---- Slurm configuration ---------------------------------------------------------------------
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
REAL_MB=$((MEM_MB * 95 / 100))     # a little less than the machine's memory
mkdir -p /etc/slurm
write_config() {  # write_config FILE MODE: stdin to FILE, refusing to replace a foreign one
  local file=$1 mode=$2 text
  text=$(cat)
  if [ -e "$file" ] && ! grep -qxF "$MARK" "$file"; then
    die "$file exists and was not written by this script; move it away to use the test cluster"
  fi
  if [ ! -e "$file" ] || [ "$(cat "$file")" != "$text" ]; then
    (umask 077; printf '%s\n' "$text" >"$file.tmp"); chmod "$mode" "$file.tmp"; mv "$file.tmp" "$file"
  fi
}
write_config /etc/slurm/slurm.conf 0644 <<CONF
$MARK
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/spool/ctld
SlurmdSpoolDir=$STATE/spool/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# no cgroups: processes tracked through /proc, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=300
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
write_config /etc/slurm/slurmdbd.conf 0600 <<CONF
$MARK
AuthType=auth/munge
DbdHost=$NODE
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$STATE/run/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
CONF

# ---- slurmdbd, the cluster and its account, slurmctld, slurmd ---------------------------------
start_daemon() {  # start_daemon NAME READY-COMMAND...
  local name=$1; shift
  if alive "$name"; then say "$name runs already"; return; fi
  pgrep -x "$name" >/dev/null && die "a $name this script did not start is running; stop it first"
  rm -f "$(pid_file "$name")"
  "$name" >/dev/null 2>&1 || die "$name did not start (log: $STATE/log/$name.log)"
  wait_for 60 "$name" "$@"
  wait_for 10 "$name's pid file" alive "$name"
  say "$name started"
}
start_daemon slurmdbd sacctmgr -n list cluster
sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
sacctmgr -n -P list account format=account | grep -qx "$ACCOUNT" \
  || sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description="test cluster" Organization=alliance >/dev/null
sacctmgr -n -P list association user=root account="$ACCOUNT" format=account | grep -qx "$ACCOUNT" \
  || sacctmgr -i add user root Account="$ACCOUNT" Cluster="$CLUSTER" >/dev/null
start_daemon slurmctld scontrol ping
start_daemon slurmd sh -c "sinfo -h -n '$NODE' -o %T | grep -qvE 'unk|down'"
node_state() { sinfo -h -n "$NODE" -o %T; }
if [ "$(node_state)" != idle ] && ! bash "$(dirname "$0")/status.sh" >/dev/null; then
  scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
fi
wait_for 60 "node $NODE" bash "$(dirname "$0")/status.sh"
say "node $NODE is $(node_state): $CPUS CPU(s), $REAL_MB MB, partition $PARTITION, account $ACCOUNT"
