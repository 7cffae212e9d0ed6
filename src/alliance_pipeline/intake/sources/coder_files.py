"""The coders' files and the adjudication as a cohort's raw input.

``codes/<coder>.csv`` (``response_id, codes``) or the filled coding workbook
``codes/<coder>.xlsx`` (:mod:`alliance_pipeline.intake.sources.workbooks`, problems then name
sheet and A1 cell), two or more coders; optional ``adjudication.csv`` or
``adjudication.xlsx``. A coder file's codes are read in NFKC form (``ｈｏｏｋｅｄ`` is
``hooked``; each change a warning) and checked by
:func:`alliance_pipeline.intake.checks.codes.check_coding`; each row is tied to its response's
position in responses.csv.
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from alliance_pipeline.common.cohort_files import coder_files, not_a_file
from alliance_pipeline.intake.checks.characters import WidthFolding, restore_typed, typed_values
from alliance_pipeline.intake.checks.codes import (
    CheckedCoding,
    ResponseLookup,
    check_coding,
    response_positions,
)
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.csv_parser import read_raw_csv
from alliance_pipeline.intake.read.xlsx import NOT_XLSX, file_problem
from alliance_pipeline.intake.sources.sheet_edits import coding_sheet_as_csv
from alliance_pipeline.intake.spec import CohortSpec

CODING_COLUMNS = ["response_id", "codes"]
ADJUDICATION_COLUMNS = ["response_id", "codes", "rationale"]
SPREADSHEET_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods", ".numbers", ".tsv", ".txt"}
WORKBOOK_SUFFIX = ".xlsx"  # a filled coding workbook (alliance_pipeline.intake.sources.workbooks)


class CodingRead(NamedTuple):
    """One coder file or adjudication read without problems: its rows (``response_id``,
    ``codes`` normalised, and what else the file holds) and each row's position in
    responses.csv."""
    frame: pd.DataFrame
    positions: np.ndarray


class Context(NamedTuple):
    """What reading a coder file needs besides the file: the cohort, its checked responses
    and their look-up, and the checks of code lists already made (shared by every file)."""
    spec: CohortSpec
    responses: pd.DataFrame
    lookup: ResponseLookup
    source: str                # how messages name where the responses come from
    code_checks: dict          # (codes cell, question) -> its check


def list_coder_files(codes_dir: Path) -> tuple[list[Path], list[Problem]]:
    """The coder files :func:`alliance_pipeline.common.cohort_files.coder_files` lists (so the
    workflow and intake agree); other entries named *.csv / *.xlsx (folders, broken links),
    other spreadsheets (.xls, .ods, ...) and a coder with both a .csv and an .xlsx file are
    problems."""
    why = not_a_file(codes_dir, "folder") if not codes_dir.is_dir() else None
    if why or codes_dir.is_file():
        return [], [Problem(str(codes_dir), None, None, None,
                            why or "is a file, not a folder; codes/ holds one <coder_id>.csv per coder")]
    if not codes_dir.is_dir():
        return [], []
    paths, problems = coder_files(codes_dir.parent), []  # the same list the workflow reads
    for path in sorted(codes_dir.iterdir()):
        if path in paths or path.name.startswith(("~$", ".")):
            continue  # read, or Excel (~$name) / LibreOffice (.~lock.name#) lock, hidden file
        if path.suffix in (".csv", WORKBOOK_SUFFIX):  # not a regular file: a folder, broken link
            problems.append(Problem(str(path), None, None, None,
                                    not_a_file(path) or "is not a regular file"))
        elif not path.is_file():
            continue
        elif path.suffix.lower() in NOT_XLSX:
            problems += [found for found in [file_problem(path)] if found is not None]
        elif path.suffix.lower() == ".csv" or path.suffix.lower() in SPREADSHEET_SUFFIXES:
            problems.append(Problem(str(path), None, None, None,
                                    f"is not read: coder files must be CSV files named "
                                    f"<coder_id>.csv; save it as 'CSV UTF-8 (Comma delimited)' named {path.stem}.csv"))
    stems = [p.stem for p in paths]
    for path in paths:
        if path.suffix == WORKBOOK_SUFFIX and stems.count(path.stem) > 1:
            problems.append(Problem(str(path), None, None, None,
                                    f"and {path.stem}.csv are both present, so coder {path.stem} "
                                    "would be read twice; keep one of them (move the other out "
                                    "of codes/)"))
    return paths, problems


def read_coder_file(path: Path, context: Context, findings: Findings) -> CodingRead | None:
    """One coder's file (CSV or filled workbook), or None with its problems in ``findings``
    (sorted by row)."""
    coder = path.stem
    if path.suffix != WORKBOOK_SUFFIX:
        return _read_codes_csv(path, f"{coder}{WORKBOOK_SUFFIX}", (), allow_no_rows=False,
                               context=context, findings=findings)
    frame, found = _read_workbook(path, "coding", coder, context, findings)
    findings.problems += sorted(found, key=lambda p: p.row or 0)
    if found or frame is None:
        return None
    return CodingRead(frame, _positions(frame, None, context.lookup))


def read_adjudication(raw_dir: Path, context: Context, findings: Findings
                      ) -> tuple[CodingRead | None, Path]:
    """The adjudication (adjudication.xlsx or .csv) if there is one, and the path messages
    name it by. An unreadable adjudication is refused, never dropped: without it the coders'
    codes (or majority codes) would silently take the place of the adjudicated ones."""
    csv_path, workbook_path = raw_dir / "adjudication.csv", raw_dir / f"adjudication{WORKBOOK_SUFFIX}"
    if workbook_path.is_file() and csv_path.is_file():
        findings.problems.append(Problem(
            str(workbook_path), None, None, None, "and adjudication.csv are both present; keep "
            "one of them (move the other out of the cohort's folder)"))
        return None, csv_path
    if workbook_path.is_file():
        frame, found = _read_workbook(workbook_path, "adjudication", "", context, findings)
        findings.problems += found
        if frame is None or found:
            return None, workbook_path
        return CodingRead(frame, _positions(frame, None, context.lookup)), workbook_path
    if not csv_path.is_file():
        return None, csv_path
    read = _read_codes_csv(csv_path, f"adjudication{WORKBOOK_SUFFIX}", ["rationale"],
                           allow_no_rows=True, context=context, findings=findings)
    if read is not None and "rationale" not in read.frame.columns:
        read.frame["rationale"] = ""
    return read, csv_path


def _read_codes_csv(path: Path, workbook: str, optional, *, allow_no_rows: bool,
                    context: Context, findings: Findings) -> CodingRead | None:
    """A coder CSV or adjudication.csv (``response_id, codes`` and ``optional`` columns) read
    and checked, or None with its problems in ``findings`` (sorted by row); a sheet of the
    coding workbook ``workbook`` saved as CSV is refused naming it."""
    sheet_csv = coding_sheet_as_csv(path, context.spec.encoding, workbook)
    frame, found = (None, [sheet_csv]) if sheet_csv else read_raw_csv(
        path, context.spec.encoding, CODING_COLUMNS, optional, allow_no_rows=allow_no_rows,
        findings=findings)
    checked = None
    if frame is not None:
        checked = _checked_codes(frame, str(path), context, findings)
        found += checked.problems
    findings.problems += sorted(found, key=lambda p: p.row or 0)
    if frame is None or found:
        return None
    return CodingRead(frame, _positions(frame, checked, context.lookup))


def _checked_codes(frame: pd.DataFrame, path: str, context: Context,
                   findings: Findings) -> CheckedCoding:
    """:func:`check_coding` of a coder CSV or adjudication.csv on codes read in NFKC form;
    refused codes are shown as typed with their characters named."""
    typed = typed_values(frame, "codes")
    folding = WidthFolding()
    folding.column(frame, "codes", path)
    checked = check_coding(frame, path, response_question=context.lookup,
                           questions=context.spec.questions, source=context.source,
                           code_checks=context.code_checks)
    findings.warnings += folding.warnings()
    return checked._replace(problems=restore_typed(checked.problems, "codes", typed,
                                                   lambda value: True))


def _positions(frame: pd.DataFrame, checked: CheckedCoding | None,
               lookup: ResponseLookup) -> np.ndarray:
    """The position in responses.csv of each response of a coder file or adjudication read
    without problems; sets the frame's codes to the normalised ones :func:`check_coding`
    made for a CSV file (a workbook's come in codebook order already)."""
    codes = frame["codes"].to_numpy(dtype=object) if checked is None else checked.codes
    frame["codes"] = pd.array(codes, dtype="str")
    if checked is None:
        return response_positions(frame["response_id"], lookup)
    return checked.positions


def _read_workbook(path: Path, kind: str, coder: str, context: Context, findings: Findings
                   ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A filled coding or adjudication workbook (:func:`alliance_pipeline.intake.sources.workbooks.read_workbook`)."""
    from alliance_pipeline.intake.sources.workbooks import read_workbook  # openpyxl: only for .xlsx

    spec = context.spec
    if not spec.coding_key:
        problem = file_problem(path)
        return None, [problem or Problem(
            str(path), None, None, None,
            f"is a workbook, but cohort {spec.cohort} has no coding_key to map its unit ids back "
            f"to responses; set `coding_key:` for the cohort in config/config.yaml (the key "
            "the coding sheets were made with)")]
    return read_workbook(path, kind=kind, cohort=spec.cohort, coder=coder,
                         responses=context.responses, questions=spec.questions,
                         coding_key=spec.coding_key, findings=findings)
