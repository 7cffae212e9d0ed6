"""Snapshot of the English cohort report's fragments and figures, for the byte-identity check.

``python tests/english_baseline/snapshot.py <derived dir> <out dir>`` writes, from a pilot's
derived tables (``data/derived/pilot``) and the checkout's config, the report's Markdown
fragments (English, a fixed provenance) and ``figures.json`` (the SHA-256 of every figure
file). Run once with the code before the message catalogue (commit 8a30330) to make the
committed baseline; ``tests/test_language.py`` rebuilds the same with today's code and
compares byte for byte. Which package runs is whatever ``PYTHONPATH`` puts first.

Regenerated after #22 and #23 (the difference-of-changes section, the Power rows of the
compare pairs, the pipeline version line and ``alliance verify``): ``tables/models.csv`` and
the new ``tables/power.csv`` were written by ``change_tables`` from ``tables/final_codes.csv``
(proportions, tests and flow came out byte-identical to the stored ones); the fragments were
first written by main's code (4772dd4, the #22 sentences still outside the catalogue) and by
the code with them wrapped in the catalogue, and compared equal, before being stored.

Regenerated for #32: ``tables/models.csv`` by ``change_tables`` again (the new
``gee_bias_reduced_t`` rows; the other rows equal to the stored ones up to the last bit of
one float), the fragments by the #32 code after reading their diff against the stored ones:
only the t rows and their sentence, the MCAR limitation, the lower-bound reliability verdict,
the cited source (``source.md``, ``references.md``, ``has_reference``) and the published
section's context changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TABLES = ("agreement", "proportions", "tests", "power", "final_codes", "flow", "models")
PROVENANCE = {"command": "make run", "git_commit": "0" * 40, "git_dirty": False,
              "codebook_version": "1.0", "raw_files": [["data/raw/pilot/responses.csv", "0" * 64]],
              "packages": [["pandas", "2.2.3"]], "config_yaml": "analysis:\n  confidence: 0.95\n"}


def inputs():
    from alliance_pipeline.config import load as study_config
    from alliance_pipeline.config import settings

    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        config, codebook = study_config.load_study("config/config.yaml")
    finally:
        os.chdir(cwd)
    return settings.study_settings(config, codebook), settings.cohort_settings(config, "pilot")


def snapshot(derived: Path, out: Path) -> None:
    from alliance_pipeline.report.cohort_report import load_tables, write_fragments
    from alliance_pipeline.report.figures.cohort_figures import write_cohort_figures

    study, cohort = inputs()
    tables = load_tables(derived)
    cohort = {**cohort, "coders_blind": False}
    write_fragments(tables, study=study, cohort=cohort, provenance=PROVENANCE, out_dir=out,
                    quotes=[{"response_id": "R012", "question": "session_experience",
                             "timepoint": "pre1", "text": "引き込まれた"}])
    labels = {c: lab for q in study["questions"].values() for c, lab in q["labels"].items()}
    analysis = cohort["analysis"]
    with tempfile.TemporaryDirectory() as scratch:
        written = write_cohort_figures({t: tables[t] for t in ("agreement", "proportions", "tests", "flow")},
                                       out_dir=Path(scratch), questions=study["questions"],
                                       labels=labels, timepoints=study["timepoints"],
                                       contrasts=study["contrasts"],
                                       acceptable=analysis["agreement"]["acceptable"],
                                       good=analysis["agreement"]["good"])
        hashes = {Path(p).name: hashlib.sha256(Path(p).read_bytes()).hexdigest()
                  for p in sorted(written) if str(p).endswith(".svg")}
    (out / "figures.json").write_text(json.dumps(hashes, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    snapshot(Path(sys.argv[1]), Path(sys.argv[2]))
