"""What intake's two CSV readers share: the first record, the header's width, an empty
frame, and the messages of the checks both make (an unnamed column with values, a record
with too many or too few cells).

The readers: :mod:`alliance_pipeline.intake.read.csv_fast` (pandas' C parser, checked a
column at a time) and :mod:`alliance_pipeline.intake.read.csv_strict` (the ``csv`` module,
record by record); :func:`alliance_pipeline.intake.read.csv_parser.parse_csv` chooses.
"""
from __future__ import annotations

import csv
import io

import pandas as pd

from alliance_pipeline.intake.problems import Problem


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


ASCII_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "  # what str.strip removes, in ASCII


def ascii_without_whitespace(values) -> bool:
    """Whether every cell is ASCII text holding none of :data:`ASCII_WHITESPACE` (so that
    ``str.strip`` leaves it as it is): ids and codes, most columns. Checked over the cells
    joined; False when a cell is not a string."""
    try:
        joined = "\x00".join(values)
    except TypeError:
        return False
    return joined.isascii() and not any(space in joined for space in ASCII_WHITESPACE)
