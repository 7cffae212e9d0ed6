"""One form export read: its header, its layout and the cells of the columns asked for.

A ``.csv`` in the cohort's encoding or its own (decoded and parsed by intake's CSV reader,
with its located messages) or an ``.xlsx`` (openpyxl, read-only, saved values): the sheet
``sheet:`` names (by name or index), else the only visible sheet or the one visible sheet
whose header holds the configured columns, never a hidden one (a note names the sheet read).
The layout is recognised from the first three rows
(:mod:`alliance_pipeline.intake.read.export_layout`): Qualtrics' extra header rows are skipped and
its survey-preview and spam rows left out (counted in :attr:`Export.notes`). Only the columns
asked for are kept; no other column's value reaches a table, a log or a message.
"""
from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from alliance_pipeline.common.hints import did_you_mean
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.csv_parser import parse_csv, unfinished_last_line
from alliance_pipeline.intake.read.decoding import decode
from alliance_pipeline.intake.read.export_layout import (
    Layout,
    left_out,
    recognise,
    resolve,
    status_column,
)
from alliance_pipeline.intake.read.xlsx import (
    DAMAGED,
    cell_text,
    damage,
    open_workbook,
    unified_lines,
)


class Export:
    """One export: header (row 1), layout, the config names resolved to header ids
    (``columns``), and the kept rows ``(spreadsheet row, {header id: text})``."""

    def __init__(self, path: Path, sheet: str | int | None):
        self.path, self.sheet = path, sheet
        self.header: list[str] = []
        self.header_row = 1
        self.last_header_row = 1  # the last header row (Qualtrics: row 2 or 3)
        self.layout = Layout()
        self.columns: dict[str, tuple[str | None, int]] = {}  # config name -> (header id, matches)
        self.rows: list[tuple[int, dict[str, str]]] = []
        self.positions: dict[str, int] = {}
        self.notes: list[str] = []

    def where(self, row: int | None, header: str | None = None, **kw) -> dict:
        """Problem location: file, sheet and A1 cell for workbooks; file, row, column for CSV."""
        if self.sheet is not None and row is not None and header in self.positions:
            from openpyxl.utils import get_column_letter
            cell = f"{get_column_letter(self.positions[header] + 1)}{row}"
            return dict(file=str(self.path), row=None, column=header, sheet=self.sheet, cell=cell, **kw)
        return dict(file=str(self.path), row=row, column=header, sheet=self.sheet, **kw)

    def _choose(self, below: list[tuple[int, list[str]]], names: list[str], extra: list[str]
                ) -> list[str]:
        """Recognise the layout from the first non-blank rows ``below`` the header
        ((row, cells)), resolve ``names``; the header ids to keep."""
        below = [(n, cells) for n, cells in below if any(c.strip() for c in cells)][:2]
        below += [(self.header_row, [])] * (2 - len(below))
        self.layout = recognise(self.header, below[0][1], below[1][1])
        self.last_header_row = below[self.layout.skip - 1][0] if self.layout.skip else self.header_row
        self.columns = {name: resolve(name, self.header, self.layout) for name in names}
        keep = [h for h, count in self.columns.values() if h is not None and count == 1]
        status = status_column(self.header, self.layout)
        keep += [h for h in (*extra, status) if h and h in self.header and self.header.count(h) == 1]
        keep = list(dict.fromkeys(keep))
        self.positions = {h: self.header.index(h) for h in keep}
        return keep

    def _finish(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        """Drop the extra header rows and Qualtrics' preview and spam rows (counted)."""
        first = self.last_header_row
        status = status_column(self.header, self.layout)
        out: dict[str, list[int]] = {}
        for number, cells in rows:
            if number <= first:
                continue
            kind = left_out(cells.get(status, "")) if status else None
            if kind:
                out.setdefault(kind, []).append(number)
                continue
            self.rows.append((number, cells))
        self.notes.append(f"{self.path}: {self.layout.name}")
        for kind, numbers in out.items():
            shown = ", ".join(map(str, numbers[:20])) + (", ..." if len(numbers) > 20 else "")
            self.notes.append(f"{self.path}: {len(numbers)} {kind} row(s) left out (Status "
                              f"column {status}): row(s) {shown}")


def read_export(path: Path, sheet: str | int | None, encoding: str, names: list[str],
                extra: Sequence[str] = (), findings: Findings | None = None
                ) -> tuple[Export, list[Problem]]:
    """Read one export, keeping the columns ``names`` resolve to (see
    :func:`alliance_pipeline.intake.read.export_layout.resolve`) and those of ``extra`` present.
    Returns the export and its problems; a warning (a last line without its line break) goes
    to ``findings``."""
    export = Export(path, sheet)
    if path.suffix.lower() == ".xlsx":
        return export, _read_xlsx(export, names, list(extra))
    return export, _read_csv(export, encoding, names, list(extra),
                             Findings() if findings is None else findings)


def _read_csv(export: Export, encoding: str, names: list[str], extra: list[str],
              findings: Findings) -> list[Problem]:
    with open(export.path, "rb") as handle:  # read-only: raw files are never written
        data = handle.read()
    text, problems = decode(data, str(export.path), encoding, findings.warnings)
    if text is None:
        return problems
    first: list[tuple[int, list[str]]] = []  # the header and the first rows with a value
    try:
        for number, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if number == 1 or any(c.strip() for c in record):
                first.append((number, record))
            if len(first) == 3 or number > 50:
                break
    except csv.Error:
        pass
    export.header = [h.strip() for h in first[0][1]] if first else []
    keep = export._choose(first[1:], names, extra)
    frame, problems = parse_csv(text, str(export.path), [], keep, allow_no_rows=True, only_kept=True)
    if frame is None:
        return problems
    findings.warnings += unfinished_last_line(text, str(export.path), frame) if len(frame) else []
    kept = [c for c in keep if c in frame.columns]
    rows = [(int(row), dict(zip(kept, map(unified_lines, values), strict=True)))
            for row, *values in frame[["spreadsheet_row", *kept]].itertuples(index=False)]
    export._finish(rows)
    return problems


def _read_xlsx(export: Export, names: list[str], extra: list[str]) -> list[Problem]:
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = ("is not a readable .xlsx workbook (an .xls or .ods file, or a "
                  "password-protected one, renamed?); open it and save it as 'Excel "
                  "Workbook (.xlsx)' without a password")
    try:
        book = open_workbook(export.path, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        return [Problem(str(export.path), None, None, None, unreadable)]
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        return [Problem(str(export.path), None, None, None,
                        f"is damaged ({damage(err)}); {unreadable}")]
    try:
        return _read_sheet(book, export, names, extra)
    except DAMAGED as err:  # read-only sheets are unzipped and parsed only while read
        return [Problem(str(export.path), None, None, None,
                        f"is damaged ({damage(err)}); open it and save "
                        "it as 'Excel Workbook (.xlsx)' again, or export the form's responses again")]
    finally:
        book.close()


def _head(sheet) -> tuple[int, list[str], list, Iterator] | None:
    """A sheet's first non-blank row (its number and stripped texts), the 12 rows below it
    (the two header rows Qualtrics may add, blank rows) and the rows after; None when empty."""
    values = sheet.iter_rows(min_row=1, values_only=True)
    for number, cells in enumerate(values, start=1):
        texts = [cell_text(v) for v in cells]
        if any(c.strip() for c in texts):
            return number, [c.strip() for c in texts], list(itertools.islice(values, 12)), values
    return None


def _holds(sheet, path: Path, names: list[str]) -> bool:
    """Whether the header of ``sheet`` holds every configured column, each once."""
    head = _head(sheet)
    if head is None:
        return False
    trial = Export(path, sheet.title)
    trial.header, trial.header_row = head[1], head[0]
    trial._choose([(head[0] + 1 + i, [cell_text(v) for v in cells])
                   for i, cells in enumerate(head[2])], names, [])
    return all(h is not None and count == 1 for h, count in trial.columns.values())


def _pick_sheet(book, export: Export, names: list[str]) -> tuple[Any, list[Problem]]:
    """The sheet to read: the one ``sheet:`` names (by name or 0-based index, hidden or
    not); else the only visible sheet, or the one visible sheet holding the configured
    columns (the first visible when none does: its missing columns are then named). Hidden
    and very hidden sheets are never read unless named; several visible sheets holding the
    columns are refused."""
    file, fix = str(export.path), "correct the `sheet:` of this export in config/config.yaml"
    sheets = book.worksheets
    listed = ", ".join(repr(s.title) for s in sheets)
    if isinstance(export.sheet, int):
        if export.sheet < len(sheets):
            return sheets[export.sheet], []
        return None, [Problem(file, None, None, None,
                              f"has no sheet {export.sheet} (`sheet:` counts from 0, hidden sheets "
                              f"included; its sheets: {listed}); {fix}")]
    if export.sheet is not None:
        if export.sheet in book.sheetnames:
            return book[export.sheet], []
        return None, [Problem(file, None, None, None,
                              f"has no sheet {export.sheet!r} (its sheets: {', '.join(book.sheetnames)})"
                              f"{did_you_mean(export.sheet, book.sheetnames)}; {fix}")]
    visible = [s for s in sheets if s.sheet_state == "visible"]
    if not visible:
        return None, [Problem(file, None, None, None,
                              f"has no visible sheet (its sheets: {listed}, all hidden); name the "
                              "sheet to read with `sheet:` of this export in config/config.yaml")]
    holding = [s for s in visible if _holds(s, export.path, names)] if len(visible) > 1 else visible
    if len(holding) > 1:
        return None, [Problem(file, None, None, None,
                              "has several visible sheets whose header holds the configured "
                              f"columns ({', '.join(repr(s.title) for s in holding)}); name the one "
                              "to read with `sheet:` of this export in config/config.yaml "
                              "(e.g. {file: " + export.path.name + ", sheet: "
                              + repr(holding[0].title) + "})")]
    return (holding or visible)[0], []


def _read_sheet(book, export: Export, names: list[str], extra: list[str]) -> list[Problem]:
    """The export's sheet (:func:`_pick_sheet`): its header row, layout and the rows with
    values in kept columns; a note names the sheet read and the hidden sheets left out."""
    named = export.sheet is not None
    sheet, problems = _pick_sheet(book, export, names)
    if sheet is None:
        return problems
    export.sheet = sheet.title
    hidden = [s.title for s in book.worksheets if s.sheet_state != "visible" and s is not sheet]
    export.notes.append(f"{export.path}: sheet {sheet.title!r} read"
                        + (f" (as `sheet:` names it, {sheet.sheet_state})"
                           if named and sheet.sheet_state != "visible" else "")
                        + (f"; hidden sheet(s) {', '.join(map(repr, hidden))} not read"
                           if hidden and not named else ""))
    head = _head(sheet)
    if head is None:
        return [Problem(str(export.path), None, None, None,
                        f"sheet {export.sheet} is empty; export the form's responses again")]
    export.header_row, export.header, below, values = head
    export._choose([(export.header_row + 1 + i, [cell_text(v) for v in cells])
                    for i, cells in enumerate(below)], names, extra)
    positions = export.positions
    rows = []
    for number, cells in enumerate(itertools.chain(below, values), start=export.header_row + 1):
        row = {h: (cell_text(cells[i]) if i < len(cells) else "") for h, i in positions.items()}
        if any(v.strip() for v in row.values()):
            rows.append((number, row))
    export._finish(rows)
    return []
