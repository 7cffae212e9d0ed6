#!/usr/bin/env bash
# The project's one test command (make test, .ci/run). pytest exits 5 when it collected no
# test: that is a failure here, never a silent pass. --durations=25 lists the 25 slowest
# tests (setup, call and teardown), so where the suite's time goes is in every log.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -n auto --dist loadgroup --durations=25 "$@"
status=$?
if [ "$status" -eq 5 ]; then
  echo "run_tests: pytest collected no tests; failing" >&2
  exit 1
fi
exit "$status"
