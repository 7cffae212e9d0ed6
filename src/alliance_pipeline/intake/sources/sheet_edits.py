"""What a coder may do to a coding workbook that the reader must name as it is.

Each check sees one edit a spreadsheet program allows and says how to undo it, keeping the
coder's work: a column inserted for notes (delete that column; not "made with another
codebook", which would throw the codes away), a row deleted (restore it from the generated
workbook; not merely "did not code"), and a sheet saved as CSV (send the .xlsx workbook; not
"required column response_id is missing"). Used by :mod:`alliance_pipeline.intake.sources.workbooks`
and :mod:`alliance_pipeline.intake.cohort`.
"""
from __future__ import annotations

from pathlib import Path

from alliance_pipeline.common.workbook_layout import META_UNIT_COLUMNS, NOT_APPLY, TICKS
from alliance_pipeline.intake.checks.characters import fold
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.read.csv_cells import first_record
from alliance_pipeline.intake.read.decoding import decode
from alliance_pipeline.intake.read.xlsx import cell_text


def _text(value: object) -> str:
    if value is None or value is False or value is True:
        return ""
    return cell_text(value).strip()


def inserted_column(rows: list[tuple[int, list]], index: int, name: str, *, file: str,
                    sheet: str) -> Problem | None:
    """A column the generated sheet does not have and that holds text other than ticks
    (``1``, ``x``, ``0``): a column inserted for notes. ``rows``: (spreadsheet row, values),
    the header first. ``None`` when the column holds only ticks (it may be a code column of
    another codebook) or nothing."""
    from openpyxl.utils import get_column_letter

    for number, values in rows[1:]:
        value = _text(values[index]) if index < len(values) else ""
        if value and fold(value).lower() not in (*TICKS, NOT_APPLY):
            letter = get_column_letter(index + 1)
            return Problem(file, None, None, None,
                           f"column {letter} ({name!r}) is not a column of the generated sheet "
                           f"and holds notes (first in cell {letter}{number}), so it was "
                           f"inserted; delete column {letter} ({name!r}) (copy the notes "
                           "elsewhere first) and keep the other columns as they are",
                           sheet=sheet, cell=f"{letter}1")
    return None


def units_on_sheet(rows: list[tuple[int, list]]) -> set[str]:
    """The unit ids in the ``unit_id`` column of a sheet (header in row 1)."""
    if not rows or rows[0][0] != 1:
        return set()
    header = [_text(v) for v in rows[0][1]]
    if META_UNIT_COLUMNS[0] not in header:
        return set()
    at = header.index(META_UNIT_COLUMNS[0])
    return {_text(values[at]) for _, values in rows[1:] if at < len(values)} - {""}


def missing_rows(recorded: list[tuple[str, str, str]], present: set[str], read: set[str], *,
                 file: str, made: str) -> list[Problem]:
    """A unit the hidden sheet records (``recorded``: unit id, question, digest) for a sheet
    that was read (``read``: question ids) but whose row is on no sheet: a deleted row."""
    return [Problem(file, None, None, None,
                    f"unit {unit} is missing from sheet {question}: restore the row from {made} "
                    "(copy the whole row back, then fill it in)", sheet=question)
            for unit, question, _ in recorded if question in read and unit not in present]


def coding_sheet_as_csv(path: Path, encoding: str, workbook: str) -> Problem | None:
    """A coder file or adjudication.csv that is a sheet of a coding workbook saved as CSV
    (its header has ``unit_id`` and ``text`` but no ``response_id``); ``workbook`` is the
    name the filled workbook must have (``coder_a.xlsx``). ``None`` for any other file."""
    with open(path, "rb") as handle:  # read-only: raw files are never written
        text, problems = decode(handle.read(), str(path), encoding)
    if text is None or problems:
        return None
    header = [h.strip() for h in (first_record(text) if text else [])]
    if not {"unit_id", "text"} <= set(header) or "response_id" in header:
        return None
    return Problem(str(path), 1, None, None,
                   "is a sheet of a coding workbook saved as CSV (its header has unit_id, text "
                   "and the code columns); send the .xlsx workbook: save the filled workbook "
                   f"as {workbook} (File > Save As > Excel Workbook) in place of this file. A "
                   "CSV keeps one sheet only and loses the workbook's link to the responses")
