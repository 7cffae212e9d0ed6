"""Speed of reading survey exports: a 10,000-participant REDCap long export and Qualtrics
exports of the same size (issue #21).

Two phases, each its own process so that ``make bench`` (benchmarks/run_all.py) measures the
second alone:

* ``prepare FOLDER``: seeded data written as the tools write it (not measured):
  ``redcap/export.csv``, one long CSV with a row per record and event (``record_id``,
  ``redcap_event_name``, the repeat columns, ``sess_exp``, ``session_complete``,
  ``train_fb``, ``feedback_complete``; three study events and a follow-up event; 5 % of the
  answers only spaces) and ``qualtrics/{pre1,pre2,post}.csv``, one per wave as downloaded
  (BOM, every cell quoted, CRLF, three header rows, the 17 metadata columns; a preview and a
  spam row per wave);
* ``run FOLDER --layout redcap|qualtrics``: reads them with
  ``intake.survey.read_survey`` and checks the counts of responses and blank answers against
  what was written. This is what is timed.

Target on 2 cores: each under 10 s and 1 GB for 10,000 participants x 3 waves.
Run alone: ``python benchmarks/bench_exports.py prepare DIR && python
benchmarks/bench_exports.py run DIR --layout redcap`` (``--participants N``).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from alliance_pipeline.examples.survey_tools import (  # noqa: E402
    QUALTRICS_IMPORT,
    QUALTRICS_META,
    QUALTRICS_TEXTS,
    SE,
    TF,
)
from alliance_pipeline.intake.problems import Findings  # noqa: E402
from alliance_pipeline.intake.sources.survey import read_survey  # noqa: E402

TIMEPOINTS = ["pre1", "pre2", "post"]
TARGET_SECONDS = 10.0
TARGET_BYTES = 1024 ** 3
QUESTIONS = {"session_experience": {"prompt": SE, "timepoints": TIMEPOINTS},
             "training_feedback": {"prompt": TF, "timepoints": ["post"]}}
SURVEYS = {
    "redcap": {"file": "export.csv", "participant_column": "record_id",
               "timepoint_column": "redcap_event_name",
               "timepoints": {tp: f"{tp}_arm_1" for tp in TIMEPOINTS},
               "questions": {"session_experience": "sess_exp", "training_feedback": "train_fb"}},
    "qualtrics": {"participant_column": "Q1", "files": {tp: f"{tp}.csv" for tp in TIMEPOINTS},
                  "questions": {"session_experience": "Q2", "training_feedback": "Q3"}},
}


def _answers(rng: np.random.Generator, n: int) -> list[str]:
    words = np.array(["I", "felt", "the", "client", "pull", "me", "into", "arguing", "and",
                      "then", "paused", "named", "it", "calmly"])
    return [" " if rng.random() < 0.05 else " ".join(rng.choice(words, size=rng.integers(6, 30)))
            for _ in range(n)]


def prepare(folder: Path, n: int, seed: int = 21) -> dict:
    rng = np.random.default_rng(seed)
    answers = {(tp, q): _answers(rng, n) for tp in TIMEPOINTS for q in ("se", "tf")}
    expected = {"responses": 0, "blank": 0}
    for tp in TIMEPOINTS:
        for q in ("se", "tf") if tp == "post" else ("se",):
            blank = sum(1 for a in answers[(tp, q)] if not a.strip())
            expected["responses"] += n - blank
            expected["blank"] += blank
    (folder / "redcap").mkdir(parents=True, exist_ok=True)
    with open(folder / "redcap/export.csv", "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["record_id", "redcap_event_name", "redcap_repeat_instrument",
                      "redcap_repeat_instance", "sess_exp", "session_complete", "train_fb",
                      "feedback_complete"])
        for i in range(n):
            for tp in TIMEPOINTS:
                tf = answers[(tp, "tf")][i] if tp == "post" else ""
                out.writerow([i + 1, f"{tp}_arm_1", "", "", answers[(tp, "se")][i], 2, tf,
                              2 if tp == "post" else ""])
            if i % 10 == 0:
                out.writerow([i + 1, "followup_arm_1", "", "", "", 0, "", ""])
    (folder / "qualtrics").mkdir(exist_ok=True)
    for tp in TIMEPOINTS:
        ids, texts = ["Q1", "Q2"], ["Participant code", SE]
        imports = ['{"ImportId":"QID1_TEXT"}', '{"ImportId":"QID2_TEXT"}']
        if tp == "post":
            ids, texts, imports = ids + ["Q3"], texts + [TF], imports + ['{"ImportId":"QID3_TEXT"}']
        with open(folder / f"qualtrics/{tp}.csv", "w", encoding="utf-8-sig", newline="") as handle:
            out = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
            out.writerows([QUALTRICS_META + ids, QUALTRICS_TEXTS + texts, QUALTRICS_IMPORT + imports])
            meta = ["2026-04-06 10:00:00", "2026-04-06 10:05:00", "IP Address", "192.0.2.1", "100",
                    "300", "True", "2026-04-06 10:05:01", "R_x", "", "", "", "", "35.6", "139.7",
                    "anonymous", "EN"]
            for i in range(n):
                row = meta + [f"P{i + 1:05d}", answers[(tp, "se")][i]]
                out.writerow(row + ([answers[(tp, "tf")][i]] if tp == "post" else []))
                if i == n // 2:
                    preview = meta[:2] + ["Survey Preview"] + meta[3:]
                    out.writerow(preview + ["", "testing"] + (["testing"] if tp == "post" else []))
                    out.writerow(meta[:2] + ["Spam"] + meta[3:] + ["P00001", "spam"]
                                 + (["spam"] if tp == "post" else []))
    (folder / "expected.json").write_text(json.dumps(expected))
    return expected


def run(folder: Path, layout: str) -> int:
    expected = json.loads((folder / "expected.json").read_text())
    pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
    start = time.perf_counter()
    findings = Findings()
    responses, unanswered = read_survey(
        folder / layout, SURVEYS[layout], cohort="bench", encoding="utf-8", timepoints=TIMEPOINTS,
        questions=QUESTIONS, id_pattern=pattern, findings=findings)
    problems = findings.problems
    seconds = time.perf_counter() - start
    if problems or len(responses) != expected["responses"] or len(unanswered) != expected["blank"]:
        print(f"!! {layout}: {len(problems)} problem(s) {problems[:2]}; "
              f"{0 if responses is None else len(responses)} responses (expected "
              f"{expected['responses']}), {len(unanswered)} blank (expected {expected['blank']})",
              file=sys.stderr)
        return 1
    print(f"{layout}: {len(responses):,} responses and {len(unanswered):,} blank answers read in "
          f"{seconds:.1f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=["prepare", "run"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--layout", choices=sorted(SURVEYS), default="redcap")
    args = parser.parse_args()
    if args.phase == "prepare":
        prepare(args.folder, args.participants)
        return 0
    return run(args.folder, args.layout)


if __name__ == "__main__":
    sys.exit(main())
