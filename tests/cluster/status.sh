#!/usr/bin/env bash
# Exit 0 when a SLURM cluster answers on this machine: sinfo shows a node that takes jobs
# (idle, mixed or allocated) and sacct answers (slurmdbd runs). Otherwise exit 1 and say what
# is missing. Used by tests/cluster/start.sh, tests/test_slurm.py and benchmarks/slurm.py.
set -uo pipefail
command -v sinfo >/dev/null 2>&1 || { echo "sinfo is not installed"; exit 1; }
states=$(timeout 20 sinfo -h -o %T 2>&1) || { echo "sinfo fails: ${states:-no answer}"; exit 1; }
grep -qxE 'idle|mixed|allocated|completing' <<<"$states" \
  || { echo "no node takes jobs (sinfo states: $(echo ${states:-none}))"; exit 1; }
out=$(timeout 20 sacct -n -X -S "$(date +%Y-%m-%dT00:00:00)" -o JobID 2>&1) \
  || { echo "sacct fails (is slurmdbd running?): $out"; exit 1; }
echo "a SLURM cluster answers (node states: $(echo $states))"
