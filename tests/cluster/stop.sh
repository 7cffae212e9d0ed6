#!/usr/bin/env bash
# Stops exactly the daemons tests/cluster/start.sh started, by their pid files under $STATE,
# in the reverse order: slurmd, slurmctld, slurmdbd, MariaDB, munged. A daemon it did not
# start (no pid file of ours, or the pid is no longer that program) is left alone. Safe to
# run twice; keeps the configuration and the accounting database for the next start.
set -uo pipefail

STATE=${ALLIANCE_CLUSTER_STATE:-/var/tmp/alliance-cluster}

pid_file() {  # the same places as in start.sh
  case $1 in munged) echo "$STATE/munge/munged.pid";; mariadbd) echo "$STATE/mariadb/mariadbd.pid";;
             *) echo "$STATE/run/$1.pid";; esac
}

stop() {
  local name=$1 file pid
  file=$(pid_file "$name")
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null)
  if [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$name" ]; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 60); do [ -d "/proc/$pid" ] || break; sleep 0.5; done
    if [ -d "/proc/$pid" ]; then
      echo "cluster: $name ($pid) did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null
    fi
    echo "cluster: $name ($pid) stopped"
  fi
  rm -f "$file"
}

for name in slurmd slurmctld slurmdbd mariadbd munged; do
  stop "$name"
done
