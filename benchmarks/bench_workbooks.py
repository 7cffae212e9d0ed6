"""Speed and memory of the coding workbooks: 10,000 responses x 3 coders written and read back.

Two phases, each its own process so that ``make bench`` (benchmarks/run_all.py) measures the
second alone:

* ``prepare FOLDER``: seeded responses (one multi-label question, 10 codes) and each coder's
  workbook filled as a coder would (about 30 % of the cells ticked, 2 % of rows left
  empty), saved as FOLDER/filled/<coder>.xlsx; not measured;
* ``run FOLDER``: writes the 3 blinded coding workbooks (``coding.sheets.coding_workbook``) and
  reads the 3 filled ones back (``intake.workbooks.read_workbook``), checking every read code
  against what was filled in. This is what is timed.

Target on 2 cores: under 30 s and 1 GB for 10,000 responses x 3 coders.
Run alone: ``python benchmarks/bench_workbooks.py prepare DIR && python
benchmarks/bench_workbooks.py run DIR`` (``--responses N``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from alliance_pipeline.coding.sheets import coding_workbook, fill_workbook  # noqa: E402
from alliance_pipeline.intake.sources import workbooks  # noqa: E402

CODERS = ["coder_a", "coder_b", "coder_c"]
KEY = "benchmark key"
TARGET_SECONDS = 30.0
TARGET_BYTES = 1024 ** 3


def codebook(n_codes: int = 10) -> dict:
    codes = [f"code{k:02d}" for k in range(n_codes)]
    return {"experience": {"prompt": "How was it?", "timepoints": ["pre1", "pre2", "post"],
                           "multi_label": True, "codes": codes,
                           "labels": {c: f"Label of {c}" for c in codes},
                           "definitions": {c: f"Definition of {c}." for c in codes}}}


def responses(n: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words = np.array(["I", "felt", "the", "client", "pull", "me", "into", "arguing", "and", "then", "I", "paused", "and", "named", "it"])
    texts = [" ".join(rng.choice(words, size=rng.integers(8, 40))) + f" ({i})" for i in range(n)]
    tps = ["pre1", "pre2", "post"]
    return pd.DataFrame({"response_id": [f"R{i:06d}" for i in range(n)],
                         "participant_id": [f"P{i // 3:05d}" for i in range(n)],
                         "timepoint": [tps[i % 3] for i in range(n)],
                         "question": "experience", "text": texts})


def codes_of(frame: pd.DataFrame, coder: str, questions: dict) -> pd.DataFrame:
    rng = np.random.default_rng(CODERS.index(coder))
    codes = questions["experience"]["codes"]
    ticked = rng.random((len(frame), len(codes))) < 0.3
    keep = rng.random(len(frame)) >= 0.02
    joined = [";".join(c for c, t in zip(codes, row, strict=True) if t) for row in ticked]
    return pd.DataFrame({"response_id": frame["response_id"], "codes": joined})[keep]


def prepare(folder: Path, n: int) -> None:
    questions, frame = codebook(), responses(n)
    (folder / "filled").mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "responses.csv", index=False)
    for coder in CODERS:
        blank = folder / f"blank_{coder}.xlsx"
        blank.write_bytes(coding_workbook(frame, cohort="bench", coder=coder,
                                          questions=questions, coding_key=KEY))
        (folder / "filled" / f"{coder}.xlsx").write_bytes(fill_workbook(
            blank, codes_of(frame, coder, questions), questions=questions, coding_key=KEY))


def run(folder: Path) -> int:
    questions = codebook()
    frame = pd.read_csv(folder / "responses.csv", dtype=str, keep_default_na=False)
    start = time.perf_counter()
    for coder in CODERS:
        (folder / "out").mkdir(exist_ok=True)
        (folder / "out" / f"{coder}.xlsx").write_bytes(coding_workbook(
            frame, cohort="bench", coder=coder, questions=questions, coding_key=KEY))
    written = time.perf_counter() - start
    for coder in CODERS:
        read, problems = workbooks.read_workbook(folder / "filled" / f"{coder}.xlsx", kind="coding",
                                                 cohort="bench", coder=coder, responses=frame,
                                                 questions=questions, coding_key=KEY)
        expected = codes_of(frame, coder, questions)
        if problems or dict(zip(read["response_id"], read["codes"], strict=True)) != dict(
                zip(expected["response_id"], expected["codes"], strict=True)):
            print(f"!! {coder}: read back differs from what was filled in: {problems[:3]}",
                  file=sys.stderr)
            return 1
    total = time.perf_counter() - start
    print(f"{len(frame):,} responses x {len(CODERS)} coders: written in {written:.1f} s, "
          f"written and read back in {total:.1f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=["prepare", "run"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--responses", type=int, default=10_000)
    args = parser.parse_args()
    if args.phase == "prepare":
        prepare(args.folder, args.responses)
        return 0
    return run(args.folder)


if __name__ == "__main__":
    sys.exit(main())
