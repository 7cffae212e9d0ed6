"""Speed and memory of the change-over-time statistics on a large synthetic cohort.

Generates (seeded) one cohort of 100,000 participants × 3 time points × 10 codes of one
multi-label question as a contract ``final_codes`` frame (3,000,000 rows, a few percent of
responses missing so the exclusion paths run), then times ``proportions_table``,
``tests_table``, ``power_table`` (with the difference of changes) and ``models_table`` (the
model step: the GEE per code and the sign-flip rows) and reports wall time and the process's peak resident
memory against the targets: under 30 s and 2 GB on 2 cores.

    .venv/bin/python benchmarks/bench_change.py [--participants N] [--items K] [--seed S]
    .venv/bin/python benchmarks/bench_change.py --models-from STUDY_FOLDER COHORT

``--models-from`` times only the model step (``models_table``) on a cohort the workflow has
run (its ``data/derived/<cohort>/final_codes.csv`` and the folder's config): what
``benchmarks/run_all.py`` prints for its 100,000-participant cohort.

``--items K`` (K > 1) gives every participant K responses (scenes s1..sK) per time point,
so the aggregate rule and the clustered McNemar rows are timed too.

Exits 1 when a target is missed. Not a test: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_pipeline.change.models import models_table
from alliance_pipeline.change.paired_tests import tests_table
from alliance_pipeline.change.participant_level import participant_codes
from alliance_pipeline.change.power import power_table
from alliance_pipeline.change.proportions import proportions_table

TIME_TARGET_S = 30.0
MEMORY_TARGET_MB = 2048.0
TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}
COMPARE = [["training", "baseline"]]
N_CODES = 10


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_cohort(participants: int, seed: int, items: int = 1) -> tuple[pd.DataFrame, dict]:
    """final_codes of one cohort; each code's prevalence drifts over the time points."""
    rng = np.random.default_rng(seed)
    codes = [f"code{j:02d}" for j in range(N_CODES)]
    # per participant, time point (and item): 3 % of responses missing at pre2, 6 % at post
    per = len(TIMEPOINTS) * items
    pid = np.repeat(np.arange(participants), per)
    tp = np.tile(np.repeat(np.arange(len(TIMEPOINTS)), items), participants)
    item = np.tile(np.arange(items), participants * len(TIMEPOINTS))
    keep = rng.random(len(pid)) >= np.array([0.0, 0.03, 0.06])[tp]
    pid, tp, item = pid[keep], tp[keep], item[keep]
    n_resp = len(pid)
    prevalence = np.linspace(0.1, 0.6, N_CODES)[None, :] + np.array([0.0, 0.02, 0.15])[tp][:, None]
    present = (rng.random((n_resp, N_CODES)) < prevalence).astype(np.int64)
    # string columns as arrays of references to a few shared str objects, as a CSV reader
    # would hold them after interning; one str object per cell would dominate memory
    response_names = np.array([f"r{i}" for i in range(n_resp)], dtype=object)
    participant_names = np.array([f"P{i:06d}" for i in range(participants)], dtype=object)
    frame = pd.DataFrame({
        "response_id": response_names[np.repeat(np.arange(n_resp), N_CODES)],
        "participant_id": participant_names[np.repeat(pid, N_CODES)],
        "timepoint": np.array(TIMEPOINTS, dtype=object)[np.repeat(tp, N_CODES)],
        "question": "session_experience",
        "item": (np.array([f"s{k + 1}" for k in range(items)], dtype=object)[np.repeat(item, N_CODES)]
                 if items > 1 else ""),
        "code": np.array(codes, dtype=object)[np.tile(np.arange(N_CODES), n_resp)],
        "present": present.ravel(),
        "source": "unanimous",
    })
    questions = {"session_experience": {"timepoints": TIMEPOINTS, "codes": codes, "multi_label": True}}
    return frame, questions


def time_models(folder: Path, cohort: str) -> float:
    """Seconds ``models_table`` takes on a cohort of a study folder the workflow has run."""
    import os

    from alliance_pipeline.common.tables import read_table
    from alliance_pipeline.config.load import load_study
    from alliance_pipeline.config.settings import cohort_settings, study_settings

    os.chdir(folder)
    config, codebook = load_study("config/config.yaml")
    study, settings = study_settings(config, codebook), cohort_settings(config, cohort)
    final_codes = read_table(f"data/derived/{cohort}/final_codes.csv")
    analysis = settings["analysis"]
    t = time.perf_counter()
    models_table(final_codes, cohort=cohort, questions=study["questions"], timepoints=study["timepoints"],
                 contrasts=study["contrasts"], compare=study["compare"],
                 confidence=analysis["confidence"], aggregate=analysis["aggregate"],
                 permutations=analysis["signflip"]["permutations"], seed=analysis["signflip"]["seed"])
    return time.perf_counter() - t


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20250601)
    parser.add_argument("--models-from", nargs=2, metavar=("FOLDER", "COHORT"))
    args = parser.parse_args(argv)
    if args.models_from:
        seconds = time_models(Path(args.models_from[0]), args.models_from[1])
        print(f"model step (models_table) {seconds:.2f} s")
        return 0

    t0 = time.perf_counter()
    final_codes, questions = make_cohort(args.participants, args.seed, args.items)
    generated = time.perf_counter() - t0
    print(f"final_codes: {len(final_codes):,} rows ({args.participants:,} participants x "
          f"{len(TIMEPOINTS)} time points x {args.items} item(s) x {N_CODES} codes), generated in {generated:.1f} s; "
          f"RSS so far {peak_rss_mb():.0f} MB")

    timings = {}
    start = time.perf_counter()
    t = time.perf_counter()
    props = proportions_table(final_codes, cohort="bench", questions=questions, timepoints=TIMEPOINTS)
    timings["proportions_table"] = time.perf_counter() - t
    t = time.perf_counter()
    tests = tests_table(final_codes, cohort="bench", questions=questions, timepoints=TIMEPOINTS,
                        contrasts=CONTRASTS)
    timings["tests_table"] = time.perf_counter() - t
    t = time.perf_counter()   # as the change step does: participant codes once for power and models
    pc = participant_codes(final_codes)
    timings["participant_codes"] = time.perf_counter() - t
    t = time.perf_counter()
    power = power_table(final_codes, cohort="bench", questions=questions, timepoints=TIMEPOINTS,
                        contrasts=CONTRASTS, compare=COMPARE, participant_level=pc)
    timings["power_table"] = time.perf_counter() - t
    t = time.perf_counter()
    models = models_table(final_codes, cohort="bench", questions=questions, timepoints=TIMEPOINTS,
                          contrasts=CONTRASTS, compare=COMPARE, participant_level=pc)
    timings["models_table"] = time.perf_counter() - t
    wall = time.perf_counter() - start
    peak = peak_rss_mb()

    for name, seconds in timings.items():
        print(f"  {name:<18} {seconds:6.2f} s")
    print(f"rows: proportions {len(props)}, tests {len(tests)}, power {len(power)}, models {len(models)}")
    time_ok = wall < TIME_TARGET_S
    memory_ok = peak < MEMORY_TARGET_MB
    print(f"wall time  {wall:6.2f} s   target < {TIME_TARGET_S:.0f} s      {'ok' if time_ok else 'MISSED'}")
    print(f"peak RSS   {peak:6.0f} MB  target < {MEMORY_TARGET_MB:.0f} MB   {'ok' if memory_ok else 'MISSED'}"
          "  (whole process, data generation included)")
    return 0 if time_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
