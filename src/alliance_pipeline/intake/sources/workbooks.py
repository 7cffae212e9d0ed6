"""Filled coding and adjudication workbooks (.xlsx) read back (:func:`read_workbook`).

The workbooks are those :mod:`alliance_pipeline.coding.sheets` wrote, in the layout of
:mod:`alliance_pipeline.common.workbook_layout`; read with openpyxl's read-only mode. A
workbook comes back checked against what it was made for (the hidden ``_pipeline`` sheet:
cohort, coder, a digest of each unit's text) and every problem names file, sheet, A1 cell,
value and the fix.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from alliance_pipeline.common.privacy import WITHHELD
from alliance_pipeline.common.workbook_layout import (
    FORMAT,
    META_SHEET,
    META_UNIT_COLUMNS,
    NOT_APPLY,
    RATIONALE,
    TICKS,
    blinded_units,
    code_ids,
    fill_columns,
    meta_cell,
    meta_values,
)
from alliance_pipeline.intake.checks.characters import WidthFolding, character_note, fold
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.xlsx import DAMAGED, SAVE_AS, cell_text, damage, file_problem
from alliance_pipeline.intake.sources.sheet_edits import (
    inserted_column,
    missing_rows,
    units_on_sheet,
)


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


class _Sheet:
    """A sheet's cell values (by spreadsheet row) and its formula cells, from read-only mode."""

    def __init__(self, ws):
        self.rows: list[tuple[int, list]] = []
        self.formulas: dict[str, str] = {}
        for cells in ws.iter_rows():
            values, number = [], None
            for cell in cells:
                if getattr(cell, "row", None) is not None:
                    number = cell.row
                value = cell.value
                if getattr(cell, "data_type", None) == "f" and value is not None:
                    self.formulas[cell.coordinate] = str(value)
                values.append(value)
            if number is not None:
                self.rows.append((number, values))
        self.unsaved: dict[str, str] = {}  # formula cells without a saved value

    def use_saved_values(self, saved: _Sheet) -> None:
        """Replace each formula by the value the file saved for it (none: kept in ``unsaved``)."""
        values = {(number, index): value for number, row in saved.rows
                  for index, value in enumerate(row)}
        for number, row in self.rows:
            for index in range(len(row)):
                coordinate = f"{get_column_letter(index + 1)}{number}"
                if coordinate in self.formulas:
                    row[index] = values.get((number, index))
                    if row[index] is None:
                        self.unsaved[coordinate] = self.formulas[coordinate]



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
        wb = load_workbook(path, read_only=True, data_only=False)
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


def _where(file, sheet, cell, value, message) -> Problem:
    return Problem(file, None, None, None if value is None else cell_text(value), message,
                   sheet=sheet, cell=cell)


def _read(wb, path: Path, *, kind, cohort, coder, responses, questions, coding_key, folding):
    file = str(path)
    made = ("data/derived/<cohort>/coding_sheets/<coder>.xlsx" if kind == "coding"
            else "data/derived/<cohort>/adjudication_sheet.xlsx")
    if META_SHEET not in wb.sheetnames:
        return None, [Problem(file, None, None, None,
                              f"is not a workbook made by the pipeline (it has no hidden sheet "
                              f"{META_SHEET}); fill in the workbook {made} and save it here, or "
                              "give the codes as CSV")]
    meta_rows = list(wb[META_SHEET].iter_rows(values_only=True))
    meta = meta_values(meta_rows)
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        other = meta.get("kind") or "another"
        return None, [Problem(file, None, None, meta.get("kind"),
                              f"is a {other} workbook, not a {kind} workbook; use {made}")]
    problems = []
    if meta.get("cohort") != cohort:
        problems.append(_where(file, META_SHEET, meta_cell("cohort"), meta.get("cohort"),
                               f"this workbook was made for cohort {meta.get('cohort')!r}, not "
                               f"{cohort!r}; put it in that cohort's raw folder, or use "
                               f"data/derived/{cohort}/..."))
    if kind == "coding" and meta.get("coder") != coder:
        problems.append(_where(file, META_SHEET, meta_cell("coder"), meta.get("coder"),
                               f"this workbook was made for coder {meta.get('coder')!r}, not "
                               f"{coder!r} (the file name); if it holds {meta.get('coder')}'s "
                               f"codes save it as codes/{meta.get('coder')}.xlsx, otherwise put "
                               f"{coder}'s own workbook here"))
    if problems:
        return None, problems
    units = blinded_units(responses, coding_key)
    by_unit = {u: {"response_id": r, "text": t, "text_digest": d} for u, r, t, d in
               zip(units["unit_id"], units["response_id"], units["text"], units["text_digest"], strict=True)}
    recorded = _recorded_units(meta_rows)
    changed, removed = [], []
    for unit, _, digest in recorded:
        if unit not in by_unit:
            removed.append(unit)
        elif by_unit[unit]["text_digest"] != digest:
            changed.append(by_unit[unit]["response_id"])
    if changed or removed:
        parts = []
        if changed:
            parts.append(f"text changed: {', '.join(changed)}")
        if removed:
            parts.append(f"no longer among the responses: unit(s) {', '.join(removed)}")
        again = ("make new coding sheets (snakemake coding_sheets) and have the coder code "
                 "these responses again" if kind == "coding" else
                 "run the workflow again for a new adjudication_sheet.xlsx")
        return None, [_where(file, META_SHEET, None, None,
                             f"was made from responses that have since changed ({'; '.join(parts)}); "
                             f"{again}")]
    in_workbook = {u: q for u, q, _ in recorded}
    frames, saved, present, read = [], None, set(), set()
    for qid in meta.get("questions", "").split(";"):
        if not qid:
            continue
        if qid not in questions:
            problems.append(_where(file, qid, None, None, f"question {qid} is no longer in the "
                                   "codebook; make the workbook again"))
            continue
        if qid not in wb.sheetnames:
            problems.append(_where(file, qid, None, None, "sheet is missing (renamed or deleted?); "
                                   f"restore the sheet named {qid} from {made}"))
            continue
        sheet = _Sheet(wb[qid])
        if sheet.formulas:  # a formula's saved value stands for it (a second pass, rarely needed)
            saved = saved or load_workbook(path, read_only=True, data_only=True)
            sheet.use_saved_values(_Sheet(saved[qid]))
        frame, found = _read_question(sheet, file, qid, questions[qid], kind, by_unit, in_workbook,
                                      folding)
        problems += found
        frames.append(frame)
        present |= units_on_sheet(sheet.rows)
        read.add(qid)
    if saved is not None:
        saved.close()
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


def _value_at(rows, number: int, index: int):
    """The value in spreadsheet row ``number``, 0-based column ``index`` of a sheet's rows."""
    return next(values[index] for n, values in rows if n == number)


def _read_question(sheet: _Sheet, file, qid, spec, kind, by_unit, in_workbook, folding):
    problems = []
    rows = sheet.rows
    header = [cell_text(v).strip() for v in rows[0][1]] if rows and rows[0][0] == 1 else []
    fills = fill_columns(spec)
    needed = ["unit_id", "text", *fills, *([RATIONALE] if kind == "adjudication" else [])]
    missing = [n for n in needed if n not in header]
    if missing:
        extra = [h for h in header if h and h not in needed and not h.startswith("coder_")]
        fix = "restore the header of the generated workbook"
        if extra and set(missing) <= set(fills):
            fix = (f"the workbook has code column(s) {', '.join(extra)} that question {qid} "
                   "of the codebook does not have: if the codebook changed, correct it or make "
                   f"new coding sheets; otherwise {fix}")
        return None, [_where(file, qid, "A1", None,
                             f"header row 1 lacks {', '.join(missing)} (it has "
                             f"{', '.join(h for h in header if h) or 'nothing'}); {fix}")]
    at = {name: header.index(name) for name in needed}
    for index, name in enumerate(header):  # a tick under a code the codebook no longer has
        if not name or name in needed or name.startswith("coder_"):
            continue
        ticked = next((number for number, values in rows[1:]
                       if index < len(values) and cell_text(values[index]).strip()), None)
        inserted = inserted_column(rows, index, name, file=file, sheet=qid)
        if inserted:  # a column of notes, not a code column of another codebook
            problems.append(inserted)
        elif ticked is not None:
            problems.append(_where(file, qid, f"{get_column_letter(index + 1)}{ticked}",
                                   _value_at(rows, ticked, index),
                                   f"is under column {name!r}, which is not a code of question "
                                   f"{qid} in the codebook ({', '.join(fills)}); the workbook "
                                   "was made with another codebook: restore the code in the "
                                   "codebook, or make new coding sheets"))
    if problems:
        return None, problems
    own_texts: dict[str, str] = {}
    for unit, q in in_workbook.items():
        if q == qid and unit in by_unit:
            own_texts.setdefault(by_unit[unit]["text"], unit)
    out: list = []
    seen: dict = {}
    for number, values in rows[1:]:
        def cell_of(name: str, number: int = number) -> str:
            return f"{get_column_letter(at[name] + 1)}{number}"

        def get(name: str, values: list = values) -> object:
            return values[at[name]] if at[name] < len(values) else None

        filled = {name: get(name) for name in fills}
        unsaved = [name for name in needed if cell_of(name) in sheet.unsaved]
        for name in unsaved:
            problems.append(_where(file, qid, cell_of(name), sheet.unsaved[cell_of(name)],
                                   "is a formula without a saved value; open the workbook in "
                                   "Excel or LibreOffice and save it again (that stores the "
                                   "values), or type the value"))
        if unsaved:
            continue
        unit = cell_text(get("unit_id")).strip()
        text = cell_text(get("text"))
        note = cell_text(get(RATIONALE)) if kind == "adjudication" else ""
        if all(cell_text(v).strip() == "" for v in filled.values()) and not note.strip():
            continue  # not coded (or no disagreement settled): coverage reports it
        if unit not in in_workbook:
            problems.append(_where(file, qid, cell_of("unit_id"), unit,
                                   "is not a unit id of this workbook; restore the unit id of "
                                   "the generated workbook, or delete the row"))
            continue
        if in_workbook[unit] != qid:
            problems.append(_where(file, qid, cell_of("unit_id"), unit,
                                   f"is a unit of question {in_workbook[unit]}, not {qid}; "
                                   f"move the row back to sheet {in_workbook[unit]}"))
            continue
        if unit in seen:
            problems.append(_where(file, qid, cell_of("unit_id"), unit,
                                   f"appears twice (first in row {seen[unit]}); keep one row"))
            continue
        seen[unit] = number
        expected = by_unit[unit]["text"]
        withheld = kind == "adjudication" and text.startswith(WITHHELD.split("{")[0])
        if not withheld and not _same_text(text, expected):
            belongs = own_texts.get(text) or next((u for t, u in own_texts.items()
                                                   if _same_text(text, t)), None)
            if belongs is not None and belongs != unit:
                why = (f"is the text of unit {belongs}, not of unit {unit} in the same row: the "
                       "sheet was sorted by one column only, which moved texts away from their "
                       "unit ids and codes; undo the sort (or start again from the generated "
                       "workbook) and sort only whole rows")
            else:
                why = (f"is not the text of unit {unit} (was the text edited?); restore the text "
                       "of the generated workbook")
            problems.append(_where(file, qid, cell_of("text"), text, why))
            continue
        codes, found = _codes_of(filled, spec, file, qid, cell_of, folding)
        problems += found
        if found:
            continue
        record = {"response_id": by_unit[unit]["response_id"], "codes": codes,
                  "sheet": qid, "cell": cell_of("unit_id")}
        if kind == "adjudication":
            record[RATIONALE] = note
            if all(cell_text(v).strip() == "" for v in filled.values()):
                problems.append(_where(file, qid, cell_of(fills[0]), None,
                                       "the row has a rationale but no agreed codes; fill in the "
                                       "codes (0 if no code applies)"))
                continue
        out.append(record)
    return pd.DataFrame(out, dtype=object), problems


def _same_text(read: str, written: str) -> bool:
    """A spreadsheet program may turn CRLF into LF: compared with line ends unified."""
    return read.replace("\r\n", "\n") == written.replace("\r\n", "\n")


def _codes_of(filled: dict, spec: Mapping, file, qid, cell_of, folding: WidthFolding
              ) -> tuple[str, list[Problem]]:
    codes = code_ids(spec)
    if spec["multi_label"]:
        chosen, problems = [], []
        for code, value in filled.items():
            shown = cell_text(value).strip()
            read = folding.value(shown, file=file, column=code, sheet=qid, cell=cell_of(code))
            if read.lower() in TICKS or value is True:
                chosen.append(code)
            elif read in ("", NOT_APPLY) or value is False:
                continue
            else:
                problems.append(_where(file, qid, cell_of(code), value,
                                       f"is not a tick for code {code}: write 1 or x where the "
                                       "code applies, 0 or nothing where it does not"
                                       + character_note(shown, read)))
        return ";".join(c for c in codes if c in chosen), problems
    typed = cell_text(filled["code"]).strip()
    by_label = {spec["labels"].get(c, c): c for c in codes}
    if typed in codes or typed in by_label:  # as typed first: a label may be full-width text
        return by_label.get(typed, typed), []
    value = folding.value(typed, file=file, column="code", sheet=qid, cell=cell_of("code"))
    folded = {fold(name): c for name, c in [*by_label.items(), *zip(codes, codes, strict=True)]}
    if value == NOT_APPLY:
        return "", []
    if value in folded:
        return folded[value], []
    choices = [*by_label, NOT_APPLY]
    return "", [_where(file, qid, cell_of("code"), filled["code"],
                       f"is not a code of question {qid}: choose one from the drop-down "
                       f"({', '.join(choices)}) or write a code id ({', '.join(codes)})"
                       + character_note(typed, value))]
