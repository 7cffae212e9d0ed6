"""Filled coding and adjudication workbooks (.xlsx) read back (:func:`read_workbook`).

The workbooks are those :mod:`alliance_pipeline.coding.sheets` wrote, in the layout of
:mod:`alliance_pipeline.common.workbook_layout`; read with openpyxl's read-only mode. A
workbook comes back checked against what it was made for (the hidden ``_pipeline`` sheet:
cohort, coder, a digest of each unit's text) and every problem names file, sheet, A1 cell,
value and the fix. Each question's sheet is read by
:class:`alliance_pipeline.intake.sources.workbook_sheet.QuestionSheet`.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alliance_pipeline.common.workbook_layout import (
    FORMAT,
    META_SHEET,
    META_UNIT_COLUMNS,
    RATIONALE,
    blinded_units,
    meta_cell,
    meta_values,
)
from alliance_pipeline.intake.checks.characters import WidthFolding
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.xlsx import DAMAGED, SAVE_AS, damage, file_problem, open_workbook
from alliance_pipeline.intake.sources.sheet_edits import missing_rows, units_on_sheet
from alliance_pipeline.intake.sources.workbook_sheet import QuestionSheet, SheetValues, where


def _recorded_units(rows) -> list[tuple[str, str, str]]:
    """(unit id, question, text digest) of each unit the ``_pipeline`` sheet records."""
    out, started = [], False
    for row in rows:
        if not started:
            started = bool(row) and row[0] == META_UNIT_COLUMNS[0]
            continue
        if row and row[0]:
            out.append((str(row[0]), str(row[1]), str(row[2])))
    return out


def read_workbook(path: str | Path, *, kind: str, cohort: str, coder: str,
                  responses: pd.DataFrame, questions: Mapping, coding_key: str,
                  findings: Findings | None = None
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a filled coding workbook (``kind="coding"``) or adjudication workbook.

    Returns ``(frame, problems)``: ``frame`` has one row per coded unit with
    ``response_id``, ``codes`` (``;``-joined in codebook order) and, for adjudication,
    ``rationale``; ``sheet`` and ``cell`` locate the row. Problems name file, sheet, A1 cell,
    value and the fix: a workbook for another cohort or coder, responses changed since it
    was made, an unknown unit id, a text that does not match its unit (a sheet sorted by one
    column), a value outside the choices, a formula without a saved value. Ticks and
    codes are read in NFKC form (full-width ``１`` is ``1``); each change is a warning in
    ``findings``.
    """
    path = Path(path)
    problem = file_problem(path)
    if problem:
        return None, [problem]
    file = str(path)
    try:
        wb = open_workbook(path, data_only=False)
    except Exception as err:  # openpyxl raises many kinds for a damaged file
        return None, [Problem(file, None, None, None, f"cannot be opened as an .xlsx workbook "
                              f"({damage(err)}); {SAVE_AS}")]
    folding = WidthFolding()
    try:
        return _read(wb, path, kind=kind, cohort=cohort, coder=coder, responses=responses,
                     questions=questions, coding_key=coding_key, folding=folding)
    except DAMAGED as err:  # read-only sheets are unzipped and parsed only while read
        return None, [Problem(file, None, None, None, f"is damaged ({damage(err)}); {SAVE_AS}")]
    finally:
        wb.close()
        if findings is not None:
            findings.warnings += folding.warnings()


def _read(wb, path: Path, *, kind, cohort, coder, responses, questions, coding_key, folding):
    file = str(path)
    made = ("data/derived/<cohort>/coding_sheets/<coder>.xlsx" if kind == "coding"
            else "data/derived/<cohort>/adjudication_sheet.xlsx")
    meta_rows, problems = _made_for(wb, file, kind=kind, cohort=cohort, coder=coder, made=made)
    if problems:
        return None, problems
    units = blinded_units(responses, coding_key)
    by_unit = {u: {"response_id": r, "text": t, "text_digest": d} for u, r, t, d in
               zip(units["unit_id"], units["response_id"], units["text"], units["text_digest"], strict=True)}
    recorded = _recorded_units(meta_rows)
    changed = _changed_since(recorded, by_unit, file, kind)
    if changed:
        return None, [changed]
    frames: list[pd.DataFrame | None] = []
    present: set[str] = set()
    read: set[str] = set()
    problems = _read_sheets(wb, path, meta_values(meta_rows), questions, kind, by_unit,
                            {u: q for u, q, _ in recorded}, folding, made, frames, present, read)
    if kind == "coding" and not problems:  # a row deleted from a sheet
        problems = missing_rows(recorded, present, read, file=file,
                                made=f"data/derived/{cohort}/coding_sheets/{coder}.xlsx")
    if problems:
        return None, problems
    columns = ["response_id", "codes", *([RATIONALE] if kind == "adjudication" else []), "sheet", "cell"]
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=columns, dtype=object), []
    return pd.concat(frames, ignore_index=True)[columns], []


def _made_for(wb, file: str, *, kind: str, cohort: str, coder: str, made: str
              ) -> tuple[list, list[Problem]]:
    """The hidden sheet's rows, and problems when the workbook was not made by the pipeline
    for this kind, cohort and coder."""
    if META_SHEET not in wb.sheetnames:
        return [], [Problem(file, None, None, None,
                            f"is not a workbook made by the pipeline (it has no hidden sheet "
                            f"{META_SHEET}); fill in the workbook {made} and save it here, or "
                            "give the codes as CSV")]
    meta_rows = list(wb[META_SHEET].iter_rows(values_only=True))
    meta = meta_values(meta_rows)
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        other = meta.get("kind") or "another"
        return meta_rows, [Problem(file, None, None, meta.get("kind"),
                                   f"is a {other} workbook, not a {kind} workbook; use {made}")]
    problems = []
    if meta.get("cohort") != cohort:
        problems.append(where(file, META_SHEET, meta_cell("cohort"), meta.get("cohort"),
                              f"this workbook was made for cohort {meta.get('cohort')!r}, not "
                              f"{cohort!r}; put it in that cohort's raw folder, or use "
                              f"data/derived/{cohort}/..."))
    if kind == "coding" and meta.get("coder") != coder:
        problems.append(where(file, META_SHEET, meta_cell("coder"), meta.get("coder"),
                              f"this workbook was made for coder {meta.get('coder')!r}, not "
                              f"{coder!r} (the file name); if it holds {meta.get('coder')}'s "
                              f"codes save it as codes/{meta.get('coder')}.xlsx, otherwise put "
                              f"{coder}'s own workbook here"))
    return meta_rows, problems


def _changed_since(recorded: list[tuple[str, str, str]], by_unit: dict, file: str, kind: str
                   ) -> Problem | None:
    """A problem when responses the workbook was made from have changed or gone since."""
    changed, removed = [], []
    for unit, _, digest in recorded:
        if unit not in by_unit:
            removed.append(unit)
        elif by_unit[unit]["text_digest"] != digest:
            changed.append(by_unit[unit]["response_id"])
    if not (changed or removed):
        return None
    parts = []
    if changed:
        parts.append(f"text changed: {', '.join(changed)}")
    if removed:
        parts.append(f"no longer among the responses: unit(s) {', '.join(removed)}")
    again = ("make new coding sheets (snakemake coding_sheets) and have the coder code "
             "these responses again" if kind == "coding" else
             "run the workflow again for a new adjudication_sheet.xlsx")
    return where(file, META_SHEET, None, None,
                 f"was made from responses that have since changed ({'; '.join(parts)}); {again}")


def _read_sheets(wb, path: Path, meta: dict, questions, kind, by_unit, in_workbook, folding,
                 made: str, frames: list, present: set, read: set) -> list[Problem]:
    """Each question sheet the workbook lists, read into ``frames``; the units found on the
    sheets go to ``present``, the questions read to ``read``; the problems."""
    file, problems, saved = str(path), [], None
    for qid in meta.get("questions", "").split(";"):
        if not qid:
            continue
        if qid not in questions:
            problems.append(where(file, qid, None, None, f"question {qid} is no longer in the "
                                  "codebook; make the workbook again"))
            continue
        if qid not in wb.sheetnames:
            problems.append(where(file, qid, None, None, "sheet is missing (renamed or deleted?); "
                                  f"restore the sheet named {qid} from {made}"))
            continue
        sheet = SheetValues(wb[qid])
        if sheet.formulas:  # a formula's saved value stands for it (a second pass, rarely needed)
            saved = saved or open_workbook(path, data_only=True)
            sheet.use_saved_values(SheetValues(saved[qid]))
        frame, found = QuestionSheet(sheet, file, qid, questions[qid], kind, by_unit, in_workbook,
                                     folding).read()
        problems += found
        frames.append(frame)
        present |= units_on_sheet(sheet.rows)
        read.add(qid)
    if saved is not None:
        saved.close()
    return problems
