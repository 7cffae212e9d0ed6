"""CSV records read by pandas' C parser and checked a column at a time.

:func:`alliance_pipeline.intake.csv_parser.parse_csv` reads a file's records here when a cheap
check shows that pandas reads them exactly as the ``csv`` module does; otherwise it reads them
with the ``csv`` module, one by one, as before. The checks (:func:`fast_records`): each
record's cells are counted in the file's bytes (:func:`cell_counts`: commas outside quotes,
line breaks) after every quote was found where the ``csv`` module's strict reader takes it
(:func:`_quotes_in_place`; else its strict pass counts, and refuses a malformed quote);
every record is one line (no line break inside a quoted cell, no bare carriage return), no
byte-order mark begins the text, no record has more cells than the header, and pandas
gives as many records and columns. The messages of the checks made here
(:func:`unnamed_column_problem`, :func:`cell_count_problem`) are the ones both readers give.
"""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd

from alliance_pipeline.intake.problems import Problem


def utf8(text: str) -> np.ndarray | None:
    """The text's UTF-8 bytes as an array (None for text that has no UTF-8 form: a lone
    surrogate); pandas reads them, and lines and cells are counted in them."""
    try:
        return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    except UnicodeError:
        return None


def cell_counts(text: str, data: np.ndarray | None) -> list[int] | None:
    """The number of cells of each record (the header is the first), as the ``csv`` module
    reads them in strict mode; None when a quote is malformed (then the strict reader says
    where). Text without bare carriage returns whose quotes all sit where a well-formed
    one-line record has them (:func:`_quotes_in_place`) is counted from its commas outside
    quotes and its line breaks: a line is a record, an empty line has no cells."""
    if not text or data is None or bare_carriage_return(text):
        return _strict_counts(text)
    quotes = np.flatnonzero(data == ord('"'))
    ends = np.flatnonzero(data == ord("\n"))
    if not text.endswith("\n"):
        ends = np.append(ends, len(data))
    if len(quotes) and not _quotes_in_place(data, quotes, ends):
        return _strict_counts(text)
    starts = np.concatenate(([0], ends[:-1] + 1))
    commas = np.flatnonzero(data == ord(","))
    if len(quotes):  # a comma after an odd number of quotes is inside a quoted cell
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    cells = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    length = ends - starts
    carriage = np.zeros(len(ends), dtype=bool)
    carriage[length > 0] = data[ends[length > 0] - 1] == ord("\r")
    cells[length - carriage == 0] = 0
    return cells.tolist()


def _strict_counts(text: str) -> list[int] | None:
    try:
        return list(map(len, csv.reader(io.StringIO(text, newline=""), strict=True)))
    except csv.Error:
        return None


def _quotes_in_place(data: np.ndarray, quotes: np.ndarray, ends: np.ndarray) -> bool:
    """Whether every quote is where the csv module's strict reader takes it, record by line:
    each line has an even number of quotes; the 1st, 3rd, ... of a line opens a cell (at
    the line's start or after a comma) or is the second of a doubled quote (right after the
    one before); the 2nd, 4th, ... closes the cell (a comma, the line's end or the file's
    after it) or is the first of a doubled quote (a quote right after it). A quote anywhere
    else (inside an unquoted cell, text after a closing quote, a cell going on to the next
    line) leaves the text to the strict reader."""
    per_line = np.bincount(np.searchsorted(ends, quotes), minlength=len(ends))
    if (per_line % 2).any():
        return False
    padded = np.concatenate((data, np.full(2, ord("\n"), dtype=np.uint8)))  # the end: a line end
    opening, closing = quotes[0::2], quotes[1::2]  # even counts per line: parity is per line
    doubled_after = np.zeros(len(quotes), dtype=bool)
    doubled_after[1:] = quotes[1:] == quotes[:-1] + 1
    before = np.where(opening > 0, data[np.maximum(opening - 1, 0)], ord("\n"))
    opens = doubled_after[0::2] | (before == ord(",")) | (before == ord("\n"))
    doubled_before = np.zeros(len(quotes), dtype=bool)
    doubled_before[:-1] = doubled_after[1:]
    after = padded[closing + 1]
    closes = (doubled_before[1::2] | (after == ord(",")) | (after == ord("\n"))
              | ((after == ord("\r")) & (padded[closing + 2] == ord("\n"))))
    return bool(opens.all() and closes.all())


def bare_carriage_return(text: str) -> bool:
    """Whether a carriage return ends a line without a line feed after it."""
    return "\r" in text and text.count("\r") != text.count("\r\n")


def first_record(text: str) -> list[str]:
    """The first record of ``text`` as the ``csv`` module reads it, read from the text's
    beginning when a second record begins there (the whole text is not copied)."""
    if len(text) > 65536:
        records = csv.reader(io.StringIO(text[:65536], newline=""))
        first = next(records)
        if next(records, None) is not None:  # the first record ended inside the prefix
            return first
    return next(csv.reader(io.StringIO(text, newline="")))


def data_width(header: list[str]) -> int:
    """The header's width without trailing unnamed columns (Excel writes trailing empty cells
    for formatted but empty columns: a record may stop before them)."""
    width = len(header)
    while width > 1 and not header[width - 1]:
        width -= 1
    return width


def empty_frame(columns: list[str]) -> pd.DataFrame:
    """A frame of no records with ``columns`` and ``spreadsheet_row``."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame["spreadsheet_row"] = pd.Series(dtype=int)
    return frame


def unnamed_column_problem(path: str, index: int, first_row: int) -> Problem:
    return Problem(path, 1, None, None,
                   f"column {index + 1} has no name in the header but has values "
                   f"(first in row {first_row}); give it a name or delete it")


def cell_count_problem(path: str, row: int, cells: int, width: int) -> Problem:
    return Problem(path, row, None, None,
                   f"has {cells} cells but the header has {width} columns; "
                   "check for an unquoted comma or a missing quote")


def fast_records(text: str, data: np.ndarray | None, counts: list[int] | None
                 ) -> pd.DataFrame | None:
    """Every record of ``text`` (the header first) as a frame of strings with columns 0..n-1,
    a short record padded with "" — or None when pandas might read it otherwise than the
    ``csv`` module (see the module's docstring), so that the caller reads it record by record."""
    if data is None or not counts or max(counts) > counts[0] or text.startswith("\ufeff"):
        return None
    if bare_carriage_return(text):
        return None  # it ends a record for the csv module
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines != len(counts):
        return None  # a line break inside a quoted cell
    try:
        records = pd.read_csv(io.BytesIO(data.tobytes()), header=None, dtype=object, na_filter=False,
                              keep_default_na=False, skip_blank_lines=False, index_col=False,
                              engine="c", encoding="utf-8", quoting=csv.QUOTE_MINIMAL)
    except (ValueError, UnicodeError, pd.errors.ParserError):
        return None
    if records.shape != (len(counts), counts[0]):
        return None
    return records


# First bytes of a line that may hold only whitespace: ASCII whitespace (str.isspace), a comma,
# a quote, or any non-ASCII byte (U+0085, U+00A0, U+3000 ... are whitespace too).
_MAYBE_BLANK = np.zeros(256, dtype=bool)
_MAYBE_BLANK[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, ord(","), ord('"')]] = True
_MAYBE_BLANK[0x80:] = True


def _blank_records(data: np.ndarray, body: list[np.ndarray], n: int) -> np.ndarray:
    """Which of the ``n`` records after the header (one line each, ``data`` their UTF-8 bytes)
    hold only whitespace: those whose line begins with a byte of :data:`_MAYBE_BLANK`, checked
    cell by cell."""
    starts = (np.flatnonzero(data == ord("\n")) + 1)[:n]
    first = np.full(n, ord("\n"), dtype=np.uint8)  # an empty last line has no first byte
    inside = starts < len(data)
    first[:len(starts)][inside] = data[starts[inside]]
    blank = np.zeros(n, dtype=bool)
    for at in np.flatnonzero(_MAYBE_BLANK[first]):
        blank[at] = not any(values[at].strip() for values in body)
    return blank


def _filled(values: np.ndarray) -> np.ndarray:
    """Whether each cell holds more than whitespace."""
    return np.fromiter((bool(v.strip()) for v in values), dtype=bool, count=len(values))


def records_frame(data: np.ndarray, records: pd.DataFrame, counts: list[int], path: str, header: list[str],
                  required, keep_all: list[str], *, allow_no_rows: bool, only_kept: bool
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The checks and the frame of :func:`alliance_pipeline.intake.csv_parser.parse_csv` after
    the header, a column at a time: unnamed columns with values, records of whitespace only
    (skipped), records with too many or too few cells; the kept columns and ``spreadsheet_row``."""
    body = [records[i].to_numpy(dtype=object)[1:] for i in range(len(header))]
    cells = np.asarray(counts[1:], dtype=np.int64)
    problems = []
    for index, name in enumerate(header):
        if name or only_kept:
            continue
        filled = np.flatnonzero(_filled(body[index]))
        if len(filled):
            problems.append(unnamed_column_problem(path, index, int(filled[0]) + 2))
    if problems:
        return None, problems
    blank = _blank_records(data, body, len(cells))
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
    frame = pd.DataFrame({c: body[header.index(c)][take] for c in keep}, columns=keep, dtype=object)
    rows = np.flatnonzero(take) + 2
    frame["spreadsheet_row"] = rows if len(rows) else []
    return frame, problems
