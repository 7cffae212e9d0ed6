"""``responses.csv`` as a cohort's raw input: one row per free-text response.

Read by intake's CSV reader (:func:`alliance_pipeline.intake.read.csv_parser.read_raw_csv`)
and checked by :func:`alliance_pipeline.intake.checks.responses.validate_responses`, with
participant ids read in NFKC form (full-width ``Ｐ０５`` is ``P05``; each change a warning)
and a participant column of e-mail addresses refused whole.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from alliance_pipeline.common.cohort_files import not_a_file
from alliance_pipeline.common.privacy import participant_id_problem
from alliance_pipeline.intake.checks.characters import WidthFolding, restore_typed, typed_values
from alliance_pipeline.intake.checks.personal_data import email_column_problem
from alliance_pipeline.intake.checks.responses import strip_cells, validate_responses
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.csv_parser import read_raw_csv
from alliance_pipeline.intake.spec import CohortSpec

RESPONSE_COLUMNS = ["response_id", "participant_id", "timepoint", "question", "text"]


def missing_responses(path: Path) -> Problem:
    """responses.csv is not there as a file: a folder or broken link where it should be, or
    missing."""
    return Problem(str(path), None, None, None,
                   not_a_file(path) or "is missing; every cohort needs responses.csv "
                   "(response_id, participant_id, timepoint, question, text)")


def read_responses_file(path: Path, spec: CohortSpec, findings: Findings) -> pd.DataFrame | None:
    """The responses of ``path`` (responses.csv), or None with its problems in ``findings``."""
    responses, found = read_raw_csv(path, spec.encoding, RESPONSE_COLUMNS, ["item"],
                                    allow_no_rows=False, findings=findings)
    if responses is not None:
        found += _checked_responses(responses, str(path), spec, findings)
    findings.problems += found
    return None if found else responses


def _checked_responses(frame: pd.DataFrame, path: str, spec: CohortSpec,
                       findings: Findings) -> list[Problem]:
    """:func:`validate_responses` on participant ids read in NFKC form (each change a
    warning), an e-mail column refused whole; refused ids are shown as typed with their
    characters named (:mod:`alliance_pipeline.intake.checks.characters`)."""
    typed = typed_values(frame, "participant_id")
    frame["participant_id"] = strip_cells(frame["participant_id"])
    emails = email_column_problem(
        frame["participant_id"].to_numpy(dtype=object), file=path, column="participant_id",
        fix="replace each with the participant's pseudonym (such as P01) and keep the list "
            "linking pseudonyms to addresses outside the study's folders")
    if emails:
        return [emails]
    folding = WidthFolding()
    folding.column(frame, "participant_id", path)
    found = validate_responses(frame, path, timepoints=spec.timepoints, questions=spec.questions,
                               id_pattern=spec.id_pattern, allow_similar_ids=spec.allow_similar_ids)
    findings.warnings += folding.warnings()
    return restore_typed(found, "participant_id", typed,
                         lambda value: participant_id_problem(value, spec.id_pattern) is not None)
