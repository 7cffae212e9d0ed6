"""One question's sheet of a filled coding or adjudication workbook, read row by row.

:class:`SheetValues` holds a sheet's cell values as openpyxl's read-only mode gives them (a
formula replaced by its saved value); :class:`QuestionSheet` checks the sheet's header and
reads each coded row back to its response: the unit id of the workbook, the text the unit
was made with, the ticks or the code, a rationale for adjudication. Every problem names file,
sheet, A1 cell, value and the fix.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd
from openpyxl.utils import get_column_letter

from alliance_pipeline.common.privacy import WITHHELD
from alliance_pipeline.common.workbook_layout import (
    NOT_APPLY,
    RATIONALE,
    TICKS,
    code_ids,
    fill_columns,
)
from alliance_pipeline.intake.checks.characters import WidthFolding, character_note, fold
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.read.xlsx import cell_text, unified_lines
from alliance_pipeline.intake.sources.sheet_edits import inserted_column


def where(file, sheet, cell, value, message) -> Problem:
    """A problem located by workbook, sheet and A1 cell."""
    return Problem(file, None, None, None if value is None else cell_text(value), message,
                   sheet=sheet, cell=cell)


class SheetValues:
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

    def use_saved_values(self, saved: SheetValues) -> None:
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


def _value_at(rows, number: int, index: int):
    """The value in spreadsheet row ``number``, 0-based column ``index`` of a sheet's rows."""
    return next(values[index] for n, values in rows if n == number)


@dataclass
class QuestionSheet:
    """The sheet of question ``qid``: what it is checked against and the rows read so far.

    ``by_unit``: unit id -> its response id, text and text digest (the responses now);
    ``in_workbook``: unit id -> question, as the hidden sheet records them.
    """
    sheet: SheetValues
    file: str
    qid: str
    spec: Mapping
    kind: str
    by_unit: dict
    in_workbook: dict
    folding: WidthFolding
    problems: list[Problem] = field(default_factory=list)
    seen: dict = field(default_factory=dict)      # unit id -> the row it was first read in

    def __post_init__(self) -> None:
        self.fills = fill_columns(self.spec)
        self.needed = ["unit_id", "text", *self.fills, *([RATIONALE] if self.kind == "adjudication" else [])]
        self.own_texts: dict[str, str] = {}  # text -> the first unit of this sheet with it
        for unit, q in self.in_workbook.items():
            if q == self.qid and unit in self.by_unit:
                self.own_texts.setdefault(self.by_unit[unit]["text"], unit)

    def read(self) -> tuple[pd.DataFrame | None, list[Problem]]:
        """The sheet's coded rows (``response_id, codes, [rationale], sheet, cell``) and its
        problems; None when the header is not the generated one."""
        rows = self.sheet.rows
        header = [cell_text(v).strip() for v in rows[0][1]] if rows and rows[0][0] == 1 else []
        missing = [n for n in self.needed if n not in header]
        if missing:
            return None, [self._header_problem(header, missing)]
        self.at = {name: header.index(name) for name in self.needed}
        self.problems += self._stray_columns(header)
        if self.problems:
            return None, self.problems
        out = [record for number, values in rows[1:]
               if (record := self._row(number, values)) is not None]
        return pd.DataFrame(out, dtype=object), self.problems

    def _header_problem(self, header: list[str], missing: list[str]) -> Problem:
        extra = [h for h in header if h and h not in self.needed and not h.startswith("coder_")]
        fix = "restore the header of the generated workbook"
        if extra and set(missing) <= set(self.fills):
            fix = (f"the workbook has code column(s) {', '.join(extra)} that question {self.qid} "
                   "of the codebook does not have: if the codebook changed, correct it or make "
                   f"new coding sheets; otherwise {fix}")
        return where(self.file, self.qid, "A1", None,
                     f"header row 1 lacks {', '.join(missing)} (it has "
                     f"{', '.join(h for h in header if h) or 'nothing'}); {fix}")

    def _stray_columns(self, header: list[str]) -> list[Problem]:
        """A column the generated sheet did not have: notes inserted, or ticks under a code
        the codebook no longer has."""
        problems, rows = [], self.sheet.rows
        for index, name in enumerate(header):
            if not name or name in self.needed or name.startswith("coder_"):
                continue
            ticked = next((number for number, values in rows[1:]
                           if index < len(values) and cell_text(values[index]).strip()), None)
            inserted = inserted_column(rows, index, name, file=self.file, sheet=self.qid)
            if inserted:  # a column of notes, not a code column of another codebook
                problems.append(inserted)
            elif ticked is not None:
                problems.append(where(self.file, self.qid, f"{get_column_letter(index + 1)}{ticked}",
                                      _value_at(rows, ticked, index),
                                      f"is under column {name!r}, which is not a code of question "
                                      f"{self.qid} in the codebook ({', '.join(self.fills)}); the "
                                      "workbook was made with another codebook: restore the code "
                                      "in the codebook, or make new coding sheets"))
        return problems

    def _cell(self, name: str, number: int) -> str:
        return f"{get_column_letter(self.at[name] + 1)}{number}"

    def _row(self, number: int, values: list) -> dict | None:
        """One row's record, or None (not coded, or a problem, which is kept)."""
        def cell_of(name: str) -> str:
            return self._cell(name, number)

        def get(name: str) -> object:
            return values[self.at[name]] if self.at[name] < len(values) else None

        filled = {name: get(name) for name in self.fills}
        unsaved = [name for name in self.needed if cell_of(name) in self.sheet.unsaved]
        for name in unsaved:
            self.problems.append(where(self.file, self.qid, cell_of(name), self.sheet.unsaved[cell_of(name)],
                                       "is a formula without a saved value; open the workbook in "
                                       "Excel or LibreOffice and save it again (that stores the "
                                       "values), or type the value"))
        if unsaved:
            return None
        unit = cell_text(get("unit_id")).strip()
        note = cell_text(get(RATIONALE)) if self.kind == "adjudication" else ""
        if all(cell_text(v).strip() == "" for v in filled.values()) and not note.strip():
            return None  # not coded (or no disagreement settled): coverage reports it
        why = self._unit_problem(unit, number) or self._text_problem(unit, cell_text(get("text")))
        if why is not None:
            column, value, message = why
            self.problems.append(where(self.file, self.qid, cell_of(column), value, message))
            return None
        codes, found = _codes_of(filled, self.spec, self.file, self.qid, cell_of, self.folding)
        self.problems += found
        if found:
            return None
        record = {"response_id": self.by_unit[unit]["response_id"], "codes": codes,
                  "sheet": self.qid, "cell": cell_of("unit_id")}
        if self.kind == "adjudication":
            record[RATIONALE] = note
            if all(cell_text(v).strip() == "" for v in filled.values()):
                self.problems.append(where(self.file, self.qid, cell_of(self.fills[0]), None,
                                           "the row has a rationale but no agreed codes; fill in the "
                                           "codes (0 if no code applies)"))
                return None
        return record

    def _unit_problem(self, unit: str, number: int) -> tuple[str, str, str] | None:
        """(column, value, message) when the row's unit id is not one of this sheet's, or read
        before; else None (and the unit is marked as read)."""
        if unit not in self.in_workbook:
            return ("unit_id", unit, "is not a unit id of this workbook; restore the unit id of "
                    "the generated workbook, or delete the row")
        if self.in_workbook[unit] != self.qid:
            return ("unit_id", unit, f"is a unit of question {self.in_workbook[unit]}, not "
                    f"{self.qid}; move the row back to sheet {self.in_workbook[unit]}")
        if unit in self.seen:
            return "unit_id", unit, f"appears twice (first in row {self.seen[unit]}); keep one row"
        self.seen[unit] = number
        return None

    def _text_problem(self, unit: str, text: str) -> tuple[str, str, str] | None:
        """(column, value, message) when the row's text is not its unit's: edited, or moved by
        a sort of one column; else None."""
        expected = self.by_unit[unit]["text"]
        withheld = self.kind == "adjudication" and text.startswith(WITHHELD.split("{")[0])
        if withheld or _same_text(text, expected):
            return None
        belongs = self.own_texts.get(text) or next((u for t, u in self.own_texts.items()
                                                    if _same_text(text, t)), None)
        if belongs is not None and belongs != unit:
            why = (f"is the text of unit {belongs}, not of unit {unit} in the same row: the "
                   "sheet was sorted by one column only, which moved texts away from their "
                   "unit ids and codes; undo the sort (or start again from the generated "
                   "workbook) and sort only whole rows")
        else:
            why = (f"is not the text of unit {unit} (was the text edited?); restore the text "
                   "of the generated workbook")
        return "text", text, why


def _same_text(read: str, written: str) -> bool:
    """A spreadsheet program may turn CRLF into LF (and the cell is read with LF line ends):
    compared with line ends unified (CR LF and a lone CR as LF)."""
    return unified_lines(read) == unified_lines(written)


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
                problems.append(where(file, qid, cell_of(code), value,
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
    return "", [where(file, qid, cell_of("code"), filled["code"],
                       f"is not a code of question {qid}: choose one from the drop-down "
                       f"({', '.join(choices)}) or write a code id ({', '.join(codes)})"
                       + character_note(typed, value))]
