"""What every Snakemake script shares: its log file and how a failure is reported.

A script calls ``run(snakemake, step)``; ``step(snakemake, log)`` does the work. Messages go
to the rule's log (``logs/<cohort>/<rule>.log``) and, for a failure, also to stderr, with a
pointer to the log, and the job exits non-zero. Expected problems (bad input, bad config,
unresolved disagreements) are shown as their message alone; anything else with its traceback
in the log.
"""
from __future__ import annotations

import gc
import logging
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

# Expected problems are ValueErrors: intake.IntakeError, config.ConfigError and
# consensus.UnresolvedDisagreements are. Not imported here, so that every job's start-up
# stays free of intake's and config's imports (pandas, jsonschema).
EXPECTED = (ValueError,)


def _logger(path: str | None) -> logging.Logger:
    log = logging.getLogger("alliance_pipeline.step")
    log.handlers.clear()
    log.setLevel(logging.INFO)
    log.propagate = False
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, mode="w", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        log.addHandler(handler)
    return log


def checkout(snakemake) -> Path:
    """The checkout a script runs from: the parent of its ``scripts/`` folder.

    ``snakemake.scriptdir`` is the script's folder in the checkout (wherever ``-d`` points);
    a rule's ``workflow.source_path`` inputs are not: Snakemake serves them from its runtime
    source cache, outside any git checkout.
    """
    return Path(snakemake.scriptdir).resolve().parent


def run(snakemake, step: Callable) -> None:
    """Run ``step(snakemake, log)`` with the rule's log; exit 1 with a clear message on failure.

    The objects alive when the step starts (the modules a job imported) live until the job
    exits, so they are moved out of the cyclic garbage collector's view for the step
    (``gc.freeze``, Python docs "gc"): each collection during the step, and the
    ``gc.collect()`` statsmodels' ``multipletests`` calls, then scans only the step's own
    objects. This takes about a third off a small cohort's statistics jobs
    (docs/performance.md); nothing the step creates escapes collection, and ``gc.unfreeze`` afterwards
    leaves a caller's process (a test calling ``run``) as it was.
    """
    log_path = snakemake.log[0] if len(snakemake.log) else None
    log = _logger(log_path)
    rule = getattr(snakemake, "rule", "step")
    gc.freeze()
    try:
        step(snakemake, log)
        log.info("done: %s", ", ".join(str(p) for p in snakemake.output))
    except EXPECTED as err:
        log.error("%s", err)
        log.debug("%s", traceback.format_exc())
        print(f"\nERROR in {rule}: {err}\n(log: {log_path})\n", file=sys.stderr)
        sys.exit(1)
    except Exception:  # unexpected: keep the traceback for the developer
        log.error("unexpected failure:\n%s", traceback.format_exc())
        print(f"\nERROR in {rule}: unexpected failure, see the traceback in {log_path}\n",
              file=sys.stderr)
        raise
    finally:
        gc.unfreeze()
