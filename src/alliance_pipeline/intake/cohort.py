"""Reading and validating one cohort's raw files (data/raw/<cohort>/).

Every rule of the data contract is checked and every problem of a file is reported at
once, each naming the file, the row as a spreadsheet shows it (the header is row 1), the
column, the value and what to do. Raw files are opened read-only and never written.

Files: ``responses.csv``; ``codes/<coder>.csv`` or the filled coding workbook
``codes/<coder>.xlsx`` (two or more coders; workbooks are read by
:mod:`alliance_pipeline.intake.workbooks`, problems then name sheet and A1 cell); optional
``adjudication.csv`` or ``adjudication.xlsx``. Output: normalised frames (see
docs/development.md).

This module finds a cohort's files and assembles its tables (:func:`read_cohort`,
:func:`read_responses`); the rest of the intake step is beside it: ``problems`` (located
problems, :class:`IntakeError`), ``decoding`` (bytes to text), ``csv_parser`` (text to
frames), ``responses`` (checks of responses.csv), ``codes`` (checks of coder files and
adjudication, normalised codes), ``table_order`` (the tables' row order), ``survey`` (form
exports), ``log_lines`` (the step's log).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alliance_pipeline.cohort_files import coder_files, not_a_file, survey_exports, survey_file
from alliance_pipeline.intake.characters import WidthFolding, restore_typed, typed_values
from alliance_pipeline.intake.codes import (
    CheckedCoding,
    ResponseLookup,
    adjudication_of_agreed,
    check_coding,
    copied_coder_files,
    lookup_of_responses,
    response_positions,
)
from alliance_pipeline.intake.csv_parser import read_raw_csv
from alliance_pipeline.intake.personal_data import email_column_problem
from alliance_pipeline.intake.problems import IntakeError, Problem
from alliance_pipeline.intake.responses import strip_cells, validate_responses
from alliance_pipeline.intake.sheet_edits import coding_sheet_as_csv
from alliance_pipeline.intake.table_order import codings_order, responses_in_order, table_rank
from alliance_pipeline.privacy import participant_id_problem, scan_texts

RESPONSE_COLUMNS = ["response_id", "participant_id", "timepoint", "question", "text"]
CODING_COLUMNS = ["response_id", "codes"]
ADJUDICATION_COLUMNS = ["response_id", "codes", "rationale"]

SPREADSHEET_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods", ".numbers", ".tsv", ".txt"}
WORKBOOK_SUFFIX = ".xlsx"  # a filled coding workbook (alliance_pipeline.intake.workbooks)


def _coder_files(codes_dir: Path) -> tuple[list[Path], list[Problem]]:
    """The coder files :func:`alliance_pipeline.cohort_files.coder_files` lists (so the workflow and
    intake agree); other entries named *.csv / *.xlsx (folders, broken links), other
    spreadsheets (.xls, .ods, ...) and a coder with both a .csv and an .xlsx file are problems."""
    from alliance_pipeline.intake.xlsx import NOT_XLSX, file_problem

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


def _responses(raw_dir: Path, survey: dict | None, *, cohort: str, encoding: str,
               timepoints: list[str], questions: dict, id_pattern: str,
               allow_similar_ids: bool = False, warnings: list | None = None,
               notes: list[str] | None = None
               ) -> tuple[pd.DataFrame | None, pd.DataFrame, list[Problem]]:
    """``(responses, unanswered, problems)``: responses.csv, or the form exports of the
    ``survey`` block, read and checked (``item`` filled in as "" when there is none)."""
    warnings = [] if warnings is None else warnings
    unanswered = pd.DataFrame(columns=["timepoint", "question", "participant_id"])
    if survey is not None:
        from alliance_pipeline.intake.survey import (
            read_survey,  # only a cohort with form exports needs it
        )

        responses, unanswered, found = read_survey(
            raw_dir, survey, cohort=cohort, encoding=encoding, timepoints=timepoints,
            questions=questions, id_pattern=id_pattern, allow_similar_ids=allow_similar_ids,
            warnings=warnings, notes=notes)
    else:
        path = raw_dir / "responses.csv"
        responses, found = read_raw_csv(path, encoding, RESPONSE_COLUMNS, ["item"],
                                        allow_no_rows=False, warnings=warnings)
        if responses is not None:
            found += _checked_responses(responses, str(path), timepoints=timepoints,
                                        questions=questions, id_pattern=id_pattern,
                                        allow_similar_ids=allow_similar_ids, warnings=warnings)
    if found or responses is None:
        return None, unanswered, sorted(found, key=lambda p: p.row or 0)
    if "item" not in responses.columns:
        responses["item"] = ""
    responses["item"] = strip_cells(responses["item"])
    return responses, unanswered, []


def _checked_responses(frame: pd.DataFrame, path: str, *, timepoints: list[str], questions: dict,
                       id_pattern: str, allow_similar_ids: bool, warnings: list) -> list[Problem]:
    """:func:`validate_responses` on participant ids read in NFKC form (full-width ``Ｐ０５`` is
    ``P05``; each change a warning), an e-mail column refused whole; refused ids are shown
    as typed with their characters named (:mod:`alliance_pipeline.intake.characters`)."""
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
    found = validate_responses(frame, path, timepoints=timepoints, questions=questions,
                               id_pattern=id_pattern, allow_similar_ids=allow_similar_ids)
    warnings += folding.warnings()
    return restore_typed(found, "participant_id", typed,
                         lambda value: participant_id_problem(value, id_pattern) is not None)


def _checked_codes(frame: pd.DataFrame, path: str, *, lookup: ResponseLookup,
                   questions: dict, warnings: list, source: str = "responses.csv",
                   code_checks: dict | None = None) -> CheckedCoding:
    """:func:`check_coding` of a coder CSV or adjudication.csv on codes read in NFKC form
    (``ｈｏｏｋｅｄ`` is ``hooked``; each change a warning); refused codes are shown as typed
    with their characters named."""
    typed = typed_values(frame, "codes")
    folding = WidthFolding()
    folding.column(frame, "codes", path)
    checked = check_coding(frame, path, response_question=lookup, questions=questions,
                           source=source, code_checks=code_checks)
    warnings += folding.warnings()
    return checked._replace(problems=restore_typed(checked.problems, "codes", typed,
                                                   lambda value: True))


def _missing_responses(path: Path) -> Problem:
    """responses.csv is not there as a file: a folder or broken link where it should be, or
    missing."""
    return Problem(str(path), None, None, None,
                   not_a_file(path) or "is missing; every cohort needs responses.csv "
                   "(response_id, participant_id, timepoint, question, text)")


def read_responses(raw_dir: str | Path, *, cohort: str, encoding: str, timepoints: list[str],
                   questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                   survey: dict | None = None) -> pd.DataFrame:
    """A cohort's checked responses alone (for the coding sheets, before any code exists):
    ``response_id, participant_id, timepoint, question, item, text``, from responses.csv or
    the ``survey`` exports. Raises :class:`IntakeError` with every problem found there."""
    raw_dir = Path(raw_dir)
    path = raw_dir / "responses.csv"
    if survey is None and not path.is_file():
        raise IntakeError(cohort, [_missing_responses(path)])
    responses, _, problems = _responses(raw_dir, survey, cohort=cohort, encoding=encoding,
                                        timepoints=timepoints, questions=questions,
                                        id_pattern=id_pattern, allow_similar_ids=allow_similar_ids)
    if problems or responses is None:
        raise IntakeError(cohort, problems)
    return responses[["response_id", "participant_id", "timepoint", "question", "item", "text"]]


def read_cohort(raw_dir: str | Path, *, cohort: str, encoding: str, timepoints: list[str],
                questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                survey: dict | None = None, require_coders: bool = True,
                coding_key: str = "") -> dict:
    """Read and validate a cohort's raw folder.

    Returns ``{"responses", "codings", "adjudication", "coverage", "coder_files"}`` frames
    (see docs/development.md; ``coverage`` lists per coder the responses not coded,
    ``coder_files`` per coder the file read and whether it is a blinded coding workbook the
    pipeline generated), ``"unanswered"`` (``timepoint, question, participant_id`` of empty
    answers in survey exports) and ``"warnings"``, a list of :class:`Problem` that do not stop
    the run (the intake step logs them). Raises :class:`IntakeError` with every problem found.
    ``allow_similar_ids`` accepts participant ids that differ only in case or leading zeros.
    ``survey``: the cohort's ``survey:`` block; its form exports are read
    (:mod:`alliance_pipeline.intake.survey`) instead of responses.csv. ``require_coders=False``
    (a cohort still being coded) accepts fewer than two coder files: intake then gives the
    responses for the coding sheets and whatever codes have come back. Filled workbooks
    (``codes/<coder>.xlsx``, ``adjudication.xlsx``) are mapped back to responses with
    ``coding_key``.
    """
    raw_dir = Path(raw_dir)
    problems: list[Problem] = []
    if not raw_dir.is_dir():
        raise IntakeError(cohort, [Problem(str(raw_dir), None, None, None,
                                           f"cohort folder does not exist; create it or fix "
                                           f"cohorts.{cohort}.raw in config/config.yaml")])
    responses_path = raw_dir / "responses.csv"
    coder_paths, problems = _coder_files(raw_dir / "codes")
    if not responses_path.is_file() and survey is None:
        problems.append(_missing_responses(responses_path))
    adjudication_path = raw_dir / "adjudication.csv"
    why = not_a_file(adjudication_path)
    if why:
        problems.append(Problem(str(adjudication_path), None, None, None, why))
    if (len(coder_paths) < 2 and require_coders
            and not any(p.file.endswith(".csv") for p in problems)):
        problems.append(Problem(str(raw_dir / "codes"), None, None, None,
                                f"has {len(coder_paths)} coder file(s); agreement and consensus "
                                "need two or more (codes/<coder_id>.csv)"))
    if problems:
        raise IntakeError(cohort, problems)

    warnings: list[Problem] = []
    notes: list[str] = []
    responses, unanswered, found = _responses(
        raw_dir, survey, cohort=cohort, encoding=encoding, timepoints=timepoints,
        questions=questions, id_pattern=id_pattern, allow_similar_ids=allow_similar_ids,
        warnings=warnings, notes=notes)
    problems += found
    if problems or responses is None:
        raise IntakeError(cohort, problems)
    lookup = lookup_of_responses(responses["response_id"], responses["question"])
    source = "responses.csv"
    if survey is not None:
        names = [survey_file(v)[0] for v in survey_exports(survey).values()]
        source = f"the exports of cohorts.{cohort}.survey ({', '.join(names)})"
    response_ids = lookup.keys

    coded_frames: list[pd.DataFrame] = []
    coverage: list[dict] = []
    coder_files: list[dict[str, str]] = []
    coded_at: list[np.ndarray] = []  # per coder, the position of each coded response
    code_checks: dict = {}  # (codes cell, question) -> its check, for every coding file
    for path in coder_paths:
        coder = path.stem
        checked: CheckedCoding | None = None
        if path.suffix == WORKBOOK_SUFFIX:
            frame, found = _read_workbook(path, "coding", cohort, coder, responses, questions,
                                          coding_key, warnings)
        elif sheet_csv := coding_sheet_as_csv(path, encoding, f"{coder}{WORKBOOK_SUFFIX}"):
            frame, found = None, [sheet_csv]
        else:
            frame, found = read_raw_csv(path, encoding, CODING_COLUMNS, allow_no_rows=False,
                                        warnings=warnings)
            if frame is not None:
                checked = _checked_codes(frame, str(path), lookup=lookup, questions=questions,
                                         warnings=warnings, source=source, code_checks=code_checks)
                found += checked.problems
        problems += sorted(found, key=lambda p: p.row or 0)
        if found or frame is None:
            continue
        coder_files.append({"coder": coder, "file": path.name,
                            "blind": "yes" if path.suffix == WORKBOOK_SUFFIX else "no"})
        at = _positions(frame, checked, lookup)
        # the same ids as responses.csv's own strings, whose hashes are known: later look-ups
        # of the codings (adjudication, order) hash nothing again
        frame["response_id"] = response_ids[at]
        frame["question"] = pd.array(np.asarray(lookup.questions[at], dtype=object), dtype="str")
        frame["coder"] = coder
        coded_frames.append(frame[["response_id", "question", "coder", "codes"]])
        coded_at.append(at)
        coded = np.zeros(len(response_ids), dtype=bool)
        coded[at] = True
        missing = sorted(response_ids[~coded])
        coverage.append({"coder": coder, "n_coded": len(frame), "n_missing": len(missing),
                         "missing": ";".join(missing[:20]) + (";..." if len(missing) > 20 else "")})

    copied = copied_coder_files(coder_paths)
    warnings += copied
    adjudication = pd.DataFrame(columns=ADJUDICATION_COLUMNS)
    adjudicated_at = np.zeros(0, dtype=np.int64)  # the position of each adjudicated response
    workbook_path = raw_dir / f"adjudication{WORKBOOK_SUFFIX}"
    if workbook_path.is_file() and adjudication_path.is_file():
        problems.append(Problem(str(workbook_path), None, None, None,
                                "and adjudication.csv are both present; keep one of them (move "
                                "the other out of the cohort's folder)"))
    elif workbook_path.is_file():
        adjudication_path = workbook_path
        frame, found = _read_workbook(workbook_path, "adjudication", cohort, "", responses,
                                      questions, coding_key, warnings)
        problems += found
        if frame is not None and not found:
            adjudication = frame
            adjudicated_at = _positions(frame, None, lookup)
    elif adjudication_path.is_file():
        sheet_csv = coding_sheet_as_csv(adjudication_path, encoding, f"adjudication{WORKBOOK_SUFFIX}")
        frame, found = (None, [sheet_csv]) if sheet_csv else read_raw_csv(
            adjudication_path, encoding, ["response_id", "codes"], ["rationale"],
            allow_no_rows=True, warnings=warnings)
        checked = None
        if frame is not None:
            checked = _checked_codes(frame, str(adjudication_path), warnings=warnings,
                                     lookup=lookup, questions=questions, source=source,
                                     code_checks=code_checks)
            found += checked.problems
        # an unreadable adjudication.csv is refused, never dropped: without it the coders'
        # codes (or majority codes) would silently take the place of the adjudicated ones
        problems += sorted(found, key=lambda p: p.row or 0)
        if frame is not None and not found:
            if "rationale" not in frame.columns:
                frame["rationale"] = ""
            adjudicated_at = _positions(frame, checked, lookup)
            adjudication = frame
    if problems:
        raise IntakeError(cohort, problems)

    codings = (pd.concat(coded_frames, ignore_index=True) if coded_frames else
               pd.DataFrame(columns=["response_id", "question", "coder", "codes"]))
    positions = (np.concatenate(coded_at) if coded_at else np.zeros(0, dtype=np.int64),
                 adjudicated_at)
    problems += adjudication_of_agreed(adjudication, codings, str(adjudication_path), positions)
    if problems:
        # a copied coder file is the likely cause of "adjudication of agreed responses"
        raise IntakeError(cohort, copied + problems)

    responses = responses_in_order(responses, questions, timepoints)
    responses["identifying"] = scan_texts(responses)
    responses = responses[["response_id", "participant_id", "timepoint", "question", "item",
                           "text", "identifying"]].reset_index(drop=True)
    rank = table_rank(responses["response_id"], lookup)
    codings = codings.iloc[codings_order(coded_at, [c["coder"] for c in coder_files], rank)
                           ].reset_index(drop=True)
    adjudication = (adjudication.iloc[np.argsort(rank[adjudicated_at], kind="stable")]
                    [ADJUDICATION_COLUMNS].reset_index(drop=True))
    return {"responses": responses, "codings": codings, "adjudication": adjudication,
            "coverage": pd.DataFrame(coverage, columns=["coder", "n_coded", "n_missing", "missing"]),
            "coder_files": pd.DataFrame(coder_files, columns=CODER_FILE_COLUMNS),
            "unanswered": unanswered, "warnings": warnings, "notes": notes}


CODER_FILE_COLUMNS = ["coder", "file", "blind"]


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


def _read_workbook(path: Path, kind: str, cohort: str, coder: str, responses: pd.DataFrame,
                   questions: dict, coding_key: str, warnings: list
                   ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A filled coding or adjudication workbook (:func:`alliance_pipeline.intake.workbooks.read_workbook`)."""
    from alliance_pipeline.intake.workbooks import read_workbook
    from alliance_pipeline.intake.xlsx import file_problem

    if not coding_key:
        problem = file_problem(path)
        return None, [problem or Problem(
            str(path), None, None, None,
            f"is a workbook, but cohort {cohort} has no coding_key to map its unit ids back "
            f"to responses; set `coding_key:` for the cohort in config/config.yaml (the key "
            "the coding sheets were made with)")]
    return read_workbook(path, kind=kind, cohort=cohort, coder=coder, responses=responses,
                         questions=questions, coding_key=coding_key, warnings=warnings)
