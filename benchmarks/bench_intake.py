"""The intake step's own time on a cohort, beside a plain ``pandas.read_csv`` of its raw files.

Run in a fresh interpreter by ``benchmarks/run_all.py`` (case ``large``) on the folder of the
large cohort, after the workflow run; or alone:

    python benchmarks/bench_intake.py <study folder> <cohort> [--repeat 3] [--json] [--src DIR]

Measured in one process, each the median of ``--repeat`` runs:

- ``plain read``: ``pandas.read_csv(path, dtype=str, keep_default_na=False)`` of every CSV of
  the cohort's raw folder (responses, each coder file, adjudication): the floor of any reader
  of those files;
- ``intake step``: what the rule's script runs after its imports (scripts/intake.py):
  ``read_cohort`` on the raw folder, the step's log lines and the five tables written (to a
  temporary folder). Snakemake's start-up and the job's imports are not counted.

Prints the two figures (wall and CPU seconds) and their ratio (target of issue #25: at most
5x on wall time); with ``--json``, one JSON line of them instead.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if __name__ == "__main__":  # the package of the checkout measured (--src), else this one
    _src = sys.argv[sys.argv.index("--src") + 1] if "--src" in sys.argv else str(HERE.parent / "src")
    sys.path.insert(0, _src)

import pandas as pd  # noqa: E402

TARGET_FACTOR = 5.0


def raw_csv_files(raw: Path) -> list[Path]:
    """The cohort's raw CSV files: responses.csv, codes/*.csv, adjudication.csv."""
    return sorted(p for p in [raw / "responses.csv", raw / "adjudication.csv",
                              *(raw / "codes").glob("*.csv")] if p.is_file())


def plain_read(files: list[Path]) -> tuple[float, float]:
    """(wall, CPU) seconds of reading ``files`` with pandas alone."""
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        pd.read_csv(path, dtype=str, keep_default_na=False)
    return time.perf_counter() - start, time.process_time() - cpu


def intake_step(study: Path, cohort: str, out: Path) -> tuple[float, float]:
    """scripts/intake.py's step, timed from after its imports to the last table written."""
    from alliance_pipeline.common.tables import write_table
    from alliance_pipeline.config.load import load_study
    from alliance_pipeline.config.settings import coding_settings, cohort_settings, study_settings
    from alliance_pipeline.intake.cohort import read_cohort
    from alliance_pipeline.intake.log_lines import log_cohort

    cwd = os.getcwd()
    os.chdir(study)  # config paths are relative to the study folder, as in the workflow
    try:
        config, codebook = load_study("config/config.yaml")
        study_values = study_settings(config, codebook)
        values = cohort_settings(config, cohort)
        coding = coding_settings(config, cohort)
        log = logging.getLogger("bench_intake")
        log.addHandler(logging.NullHandler())
        log.propagate = False
        start, cpu = time.perf_counter(), time.process_time()
        tables = read_cohort(values["raw"], cohort=cohort, encoding=values["encoding"],
                             timepoints=study_values["timepoints"],
                             questions=study_values["questions"],
                             id_pattern=values["privacy"]["participant_id_pattern"],
                             allow_similar_ids=values["privacy"]["allow_similar_participant_ids"],
                             survey=config["cohorts"][cohort].get("survey"),
                             coding_key=coding["coding_key"])
        log_cohort(tables, log)
        for name in tables.TABLES:
            write_table(getattr(tables, name), str(out / f"{name}.csv"))
        return time.perf_counter() - start, time.process_time() - cpu
    finally:
        os.chdir(cwd)


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def verdict(plain: tuple[float, float], intake: tuple[float, float], files: int) -> str:
    """The figures as one line: wall (and CPU) seconds of both, and the factor on wall time."""
    factor = intake[0] / plain[0]
    return (f"plain pandas.read_csv of {files} raw files {plain[0]:.2f} s (CPU {plain[1]:.2f} s); "
            f"intake step {intake[0]:.2f} s (CPU {intake[1]:.2f} s): {factor:.1f}x the plain read "
            f"(CPU {intake[1] / plain[1]:.1f}x), target <= {TARGET_FACTOR:.0f}x: "
            f"{'ok' if factor <= TARGET_FACTOR else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("cohort")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--src", help="the package's folder (default: this checkout's src/)")
    args = parser.parse_args()
    study = args.study.resolve()
    files = raw_csv_files(study / "data" / "raw" / args.cohort)
    plain = _median([plain_read(files) for _ in range(args.repeat)])
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as out:
        intake = _median([intake_step(study, args.cohort, Path(out)) for _ in range(args.repeat)])
    if args.json:
        print(json.dumps({"plain": plain[0], "intake": intake[0], "plain_cpu": plain[1],
                          "intake_cpu": intake[1], "files": len(files)}))
    else:
        print(verdict(plain, intake, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
