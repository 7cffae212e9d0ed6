"""CSV records read by the ``csv`` module, record by record, and checked one by one.

The reader :func:`alliance_pipeline.intake.read.csv_parser.parse_csv` falls back on when the
fast reader (:mod:`alliance_pipeline.intake.read.csv_fast`) cannot vouch for pandas' reading
(a quote out of place, a lone carriage return, a quoted cell over two lines), and the
reference the tests compare the fast reader with (``parse_csv(strict=True)``). A quote left
open or a truncated file is refused first (:func:`malformed_quote`).
"""
from __future__ import annotations

import csv
import io

import pandas as pd

from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.read.csv_cells import (
    cell_count_problem,
    data_width,
    empty_frame,
    unnamed_column_problem,
)


def malformed_quote(text: str, path: str, header: list[str]) -> Problem | None:
    """A quote that is never closed, or text after a closing quote (a strict parse fails).

    Python's lenient reader would silently swallow the rest of the file into one cell, or
    drop the quote characters; both change data without a trace, so they are refused.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = 0
    try:
        for _ in reader:
            records += 1
    except csv.Error as err:
        row = records + 1
        if "unexpected end of data" not in str(err):
            return Problem(path, row, None, None,
                           "has a quote (\") that does not end its cell: a quote left open (then "
                           "a later quote closes it) or text after a closing quote; put the whole "
                           "cell in quotes and double every quote inside it (\"\")")
        lenient = list(csv.reader(io.StringIO(text, newline="")))
        cells = lenient[row - 1] if row - 1 < len(lenient) else []
        cell = max(len(cells) - 1, 0)
        column = header[cell] if row > 1 and cell < len(header) else None
        value = cells[cell] if cells else None
        what = ("a quote (\") opens a cell here but is never closed, so the rest of the "
                "file would be read as one cell; close the quote")
        if not text.endswith(("\n", "\r")):
            what = ("the file looks truncated: it ends inside this quoted cell (no closing "
                    "quote, no line break at the end); copy or export the whole file again, "
                    "or close the quote")
        return Problem(path, row, column, value, what)
    return None


def strict_frame(text: str, path: str, header: list[str], required, keep_all: list[str],
                  problems: list[Problem], *, allow_no_rows: bool, only_kept: bool
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The records read by the ``csv`` module and checked one by one."""
    body = list(csv.reader(io.StringIO(text, newline="")))[1:]
    for index, name in enumerate(header):
        if name or only_kept:
            continue
        filled = next((number for number, row in enumerate(body, start=2)
                       if index < len(row) and row[index].strip()), None)
        if filled is not None:
            problems.append(unnamed_column_problem(path, index, filled))
    if problems:
        return None, problems
    records = [r for r in body if any(cell.strip() for cell in r)]
    if not records:
        if allow_no_rows:
            return empty_frame(required), []
        return None, [Problem(path, None, None, None, "has a header but no data rows")]
    keep = [c for c in header if c in keep_all]
    positions = [header.index(c) for c in keep]
    width = data_width(header)
    out_rows, row_numbers = [], []
    for number, row in enumerate(body, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if not width <= len(row) <= len(header):
            problems.append(cell_count_problem(path, number, len(row), width))
            continue
        out_rows.append([row[i] if i < len(row) else "" for i in positions])
        row_numbers.append(number)
    frame = pd.DataFrame(out_rows, columns=keep, dtype=object)
    frame["spreadsheet_row"] = row_numbers
    return frame, problems
