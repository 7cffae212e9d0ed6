"""Speed and memory of ``agreement_table`` at the target scale.

100,000 responses to one multi-label question with 10 codes, 3 coders (each skips ~2 % of
responses), 2000 bootstrap resamples. Targets: under 60 s wall time and 2 GB peak memory on
2 cores. Run: ``.venv/bin/python benchmarks/bench_agreement.py [--responses N]``.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

from alliance_pipeline.coding.agreement import agreement_table

TARGET_SECONDS = 60.0
TARGET_BYTES = 2 * 1024**3


def make_codings(n_responses: int, n_codes: int = 10, coders=("A", "B", "C"),
                 seed: int = 7) -> tuple[pd.DataFrame, dict]:
    """Seeded synthetic codings: a true code set per response, each coder flipping each
    code with a small probability and skipping some responses."""
    rng = np.random.default_rng(seed)
    codes = [f"code{k:02d}" for k in range(n_codes)]
    prevalence = np.linspace(0.02, 0.45, n_codes)
    truth = rng.random((n_responses, n_codes)) < prevalence
    frames = []
    for c, coder in enumerate(coders):
        error = 0.03 + 0.02 * c
        given = truth ^ (rng.random(truth.shape) < error)
        keep = rng.random(n_responses) >= 0.02
        strings = [";".join(codes[k] for k in np.flatnonzero(row)) for row in given[keep]]
        frames.append(pd.DataFrame({
            "response_id": [f"r{i:06d}" for i in np.flatnonzero(keep)],
            "question": "q_multi", "coder": coder, "codes": strings}))
    codings = pd.concat(frames, ignore_index=True)
    questions = {"q_multi": {"multi_label": True, "codes": codes, "timepoints": ["pre", "post"]}}
    return codings, questions


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--bootstrap", type=int, default=2000)
    args = parser.parse_args()

    codings, questions = make_codings(args.responses)
    rss_before = peak_rss_bytes()
    start = time.perf_counter()
    table = agreement_table(codings, questions, cohort="bench", bootstrap=args.bootstrap,
                            seed=20250601)
    seconds = time.perf_counter() - start
    peak = peak_rss_bytes()

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table[["code", "n_units", "percent_agreement", "fleiss_kappa",
                     "krippendorff_alpha", "alpha_ci_low", "alpha_ci_high", "gwet_ac1",
                     "verdict"]].to_string(index=False))
    print(f"\nresponses={args.responses} coders=3 codes=10 resamples={args.bootstrap} "
          f"codings rows={len(codings)}")
    print(f"wall time: {seconds:.1f} s (target < {TARGET_SECONDS:.0f} s)")
    print(f"peak RSS: {peak / 1024**2:.0f} MiB (before the call {rss_before / 1024**2:.0f} MiB; "
          f"target < {TARGET_BYTES / 1024**3:.0f} GiB)")
    ok = seconds < TARGET_SECONDS and peak < TARGET_BYTES
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
