"""CSV records read by pandas' C parser and checked a column at a time.

:func:`alliance_pipeline.intake.read.csv_parser.parse_csv` reads a file's records here when a cheap
check shows that pandas reads them exactly as the ``csv`` module does; otherwise it reads them
with the ``csv`` module, one by one, as before. The checks (:func:`fast_records`): no
byte-order mark begins the text and no carriage return stands alone (it ends a record for
the ``csv`` module); every quote is where the ``csv`` module's strict reader takes it
(:func:`_quotes_in_place`); pandas gives one record per line (so no quoted cell goes on to
the next line) and as many columns as the header has cells, and no line has more cells
than the header. Each record's cells are counted in the file's bytes: when its commas
outside quotes are as many as whole records need, all records are whole; otherwise line by
line (:func:`_line_cells`: commas outside quotes, line breaks). The messages of the checks
made here are the ones both readers give (:mod:`alliance_pipeline.intake.read.csv_cells`).
"""
from __future__ import annotations

import csv
import io
from typing import NamedTuple

import numpy as np
import pandas as pd

from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.read.csv_cells import (
    ascii_without_whitespace,
    cell_count_problem,
    data_width,
    empty_frame,
    unnamed_column_problem,
)


class FastRecords(NamedTuple):
    """A file's records as pandas read them, with what the column-wise checks need."""

    records: pd.DataFrame  # every record (the header first), columns 0..n-1, short ones padded
    cells: np.ndarray  # the number of cells of each record, as the csv module reads them


def fast_records(text: str, encoded: bytes | None = None) -> FastRecords | None:
    """Every record of ``text`` read by pandas — or None when pandas might read it otherwise
    than the ``csv`` module (see the module's docstring), so that the caller reads it record
    by record. ``encoded``: the text's UTF-8 bytes when the caller has them (a file read as
    UTF-8), else they are made here."""
    if not text or text.startswith("\ufeff") or bare_carriage_return(text):
        return None
    if encoded is None:
        try:
            encoded = text.encode("utf-8")
        except UnicodeError:  # a lone surrogate has no UTF-8 form
            return None
    data = np.frombuffer(encoded, dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"')) if b'"' in encoded else np.zeros(0, dtype=np.intp)
    if len(quotes) and not _quotes_in_place(data, quotes):
        return None
    try:
        records = pd.read_csv(io.BytesIO(encoded), header=None, dtype=object, na_filter=False,
                              keep_default_na=False, skip_blank_lines=False, index_col=False,
                              engine="c", encoding="utf-8", quoting=csv.QUOTE_MINIMAL)
    except (ValueError, UnicodeError, pd.errors.ParserError):
        return None
    rows, width = records.shape
    if len(quotes) and rows != encoded.count(b"\n") + (not text.endswith("\n")):
        return None  # a quoted cell goes on to the next line (without quotes, a record is a line)
    # Each record is a line, and pandas refuses a record longer than the first: when the
    # commas outside quotes are as many as whole records have, every record is whole.
    whole = width > 1 and _commas_outside_quotes(encoded, data, quotes) == (width - 1) * rows
    cells = np.full(rows, width) if whole else _line_cells(data, quotes)
    if len(cells) != rows or width != cells[0] or cells.max() > cells[0]:
        return None
    return FastRecords(records, cells)


def _commas_outside_quotes(encoded: bytes, data: np.ndarray, quotes: np.ndarray) -> int:
    """How many commas of ``encoded`` (``data``: its bytes as an array) stand outside the
    quoted cells, which ``quotes`` (in place) open and close in turn."""
    if not len(quotes):
        return encoded.count(b",")
    commas = np.flatnonzero(data == ord(","))
    before = np.searchsorted(commas, quotes)  # the commas before each quote
    return len(commas) - int((before[1::2] - before[0::2]).sum())


def _line_cells(data: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """The number of cells of each line of ``data`` (UTF-8 text's bytes) whose ``quotes`` are
    in place (:func:`_quotes_in_place`): its commas outside quotes plus one; an empty line
    (or a lone ``\r``) has none. Records are lines only when no quoted cell goes on to the
    next line, which :func:`fast_records` checks."""
    ends = np.flatnonzero(data == ord("\n"))
    if not len(data) or data[-1] != ord("\n"):
        ends = np.append(ends, len(data))
    commas = np.flatnonzero(data == ord(","))
    if len(quotes):  # a comma after an odd number of quotes is inside a quoted cell
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    # the commas before each line's end, less those before the line before's end (its line break)
    cells = np.diff(np.searchsorted(commas, ends), prepend=0) + 1
    length = ends - np.concatenate(([0], ends[:-1] + 1))
    carriage = np.zeros(len(ends), dtype=bool)
    carriage[length > 0] = data[ends[length > 0] - 1] == ord("\r")
    cells[length - carriage == 0] = 0
    return cells


def _quotes_in_place(data: np.ndarray, quotes: np.ndarray) -> bool:
    """Whether every quote is where the csv module's strict reader takes it: there is an even
    number of them; the 1st, 3rd, ... opens a cell (at a line's start or after a comma) or
    is the second of a doubled quote (right after the one before); the 2nd, 4th, ... closes
    the cell (a comma, a line's end or the file's after it) or is the first of a doubled
    quote (a quote right after it). A quote anywhere else (inside an unquoted cell, text
    after a closing quote) leaves the text to the strict reader."""
    if len(quotes) % 2:
        return False
    last = len(data) - 1
    opening, closing = quotes[0::2], quotes[1::2]
    doubled_after = np.zeros(len(quotes), dtype=bool)
    doubled_after[1:] = quotes[1:] == quotes[:-1] + 1
    before = data[np.maximum(opening - 1, 0)]
    opens = doubled_after[0::2] | (before == ord(",")) | (before == ord("\n")) | (opening == 0)
    doubled_before = np.zeros(len(quotes), dtype=bool)
    doubled_before[:-1] = doubled_after[1:]
    after = np.where(closing < last, data[np.minimum(closing + 1, last)], ord("\n"))
    after_next = np.where(closing + 1 < last, data[np.minimum(closing + 2, last)], ord("\n"))
    closes = (doubled_before[1::2] | (after == ord(",")) | (after == ord("\n"))
              | ((after == ord("\r")) & (after_next == ord("\n"))))
    return bool(opens.all() and closes.all())


def bare_carriage_return(text: str) -> bool:
    """Whether a carriage return ends a line without a line feed after it."""
    return "\r" in text and text.count("\r") != text.count("\r\n")


def _blank_records(body: list[np.ndarray]) -> np.ndarray:
    """Which records (their cells: ``body``, a column each) hold only whitespace: among those
    whose first cell does — in a column of ASCII text without whitespace, the empty ones —
    checked cell by cell."""
    first = body[0]
    blank = (first == "") if ascii_without_whitespace(first) else ~_filled(first)
    for at in np.flatnonzero(blank):
        blank[at] = not any(values[at].strip() for values in body[1:])
    return blank


def _filled(values: np.ndarray) -> np.ndarray:
    """Whether each cell holds more than whitespace."""
    return np.fromiter((bool(v.strip()) for v in values), dtype=bool, count=len(values))


def records_frame(fast: FastRecords, path: str, header: list[str], required, keep_all: list[str],
                  *, allow_no_rows: bool, only_kept: bool
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The checks and the frame of :func:`alliance_pipeline.intake.read.csv_parser.parse_csv` after
    the header, a column at a time: unnamed columns with values, records of whitespace only
    (skipped), records with too many or too few cells; the kept columns and ``spreadsheet_row``."""
    body = [fast.records[i].to_numpy(dtype=object)[1:] for i in range(len(header))]
    cells = fast.cells[1:]
    problems = []
    for index, name in enumerate(header):
        if name or only_kept:
            continue
        filled = np.flatnonzero(_filled(body[index]))
        if len(filled):
            problems.append(unnamed_column_problem(path, index, int(filled[0]) + 2))
    if problems:
        return None, problems
    blank = _blank_records(body)
    if blank.all():
        if allow_no_rows:
            return empty_frame(required), []
        return None, [Problem(path, None, None, None, "has a header but no data rows")]
    width = data_width(header)
    wrong = ~blank & ((cells < width) | (cells > len(header)))
    for at in np.flatnonzero(wrong):
        problems.append(cell_count_problem(path, int(at) + 2, int(cells[at]), width))
    take = ~blank & ~wrong
    keep = [c for c in header if c in keep_all]
    if take.all():  # every record kept (most files): the columns as pandas read them
        columns, rows = [body[header.index(c)] for c in keep], np.arange(2, len(take) + 2)
    else:
        columns, rows = [body[header.index(c)][take] for c in keep], np.flatnonzero(take) + 2
    frame = pd.DataFrame(dict(zip(keep, columns, strict=True)), columns=keep, dtype=object,
                         copy=False)
    frame["spreadsheet_row"] = rows if len(rows) else []
    return frame, problems
