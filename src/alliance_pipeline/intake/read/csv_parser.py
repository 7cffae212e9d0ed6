"""Parsing CSV text into a frame of strings, with located problems.

:func:`read_csv_text` parses decoded text; :func:`read_raw_csv` opens a raw file read-only,
decodes it (:mod:`alliance_pipeline.intake.read.decoding`) and parses it. :func:`parse_csv`
checks the header and hands the records to one of two readers, side by side: the fast one
(:mod:`~alliance_pipeline.intake.read.csv_fast`, pandas' C parser) when it reads them as the
``csv`` module does, else the strict one (:mod:`~alliance_pipeline.intake.read.csv_strict`,
the ``csv`` module record by record, also the tests' reference). Refused with the row and column:
an empty file, a header only, a semicolon- or tab-separated file, missing or repeated
columns, a quote left open or a truncated file, a NUL byte, a row with too many or too few
cells. A file that does not end with a line break is only a warning
(:func:`unfinished_last_line`).
"""
from __future__ import annotations

import codecs
import difflib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.csv_cells import empty_frame, first_record
from alliance_pipeline.intake.read.csv_fast import fast_records, records_frame
from alliance_pipeline.intake.read.csv_strict import malformed_quote, strict_frame
from alliance_pipeline.intake.read.decoding import decode, where_in_text


def _normalised_name(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _near_column(column: str, header: list[str]) -> str | None:
    """The header name that was probably meant as ``column`` (case, spaces, typos)."""
    for name in header:
        if name and _normalised_name(name) == column:
            return name
    near = difflib.get_close_matches(column, [_normalised_name(h) for h in header], n=1, cutoff=0.6)
    if near:
        return next(h for h in header if _normalised_name(h) == near[0])
    return None


def _nul_problem(text: str, path: str, header: list[str]) -> Problem | None:
    """A NUL character: text files never hold one, and it would be copied into the tables."""
    at = text.find("\x00")
    if at < 0:
        return None
    row, cell = where_in_text(text[:at])
    column = header[cell] if row > 1 and cell < len(header) else None
    return Problem(path, row, column, None,
                   f"contains a NUL byte (0x00; {text.count(chr(0))} in the file): the file is "
                   "damaged or not plain text; export it again from the spreadsheet as "
                   "'CSV UTF-8 (Comma delimited)'")


def read_csv_text(text: str, path: str, required: list[str], optional: Sequence[str] = ()
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Parse CSV text into a frame of strings (nothing converted, whitespace kept in text).

    Row numbers are spreadsheet rows: the header is row 1, the first record row 2 (a quoted
    newline inside a cell does not start a new row). Checks: empty file, header only,
    a semicolon/tab-delimited file, missing columns (with the nearest existing name), an
    unclosed quote, records with too many or too few cells. Columns without a name whose
    cells are all empty (Excel's trailing commas) are ignored.

    The frame is returned with the rows that could be read even when some rows have
    problems, so the caller can report every problem of the file at once.
    """
    return parse_csv(text, path, required, optional, allow_no_rows=False)


def parse_csv(text: str, path: str, required: list[str], optional=(), *, allow_no_rows: bool,
              only_kept: bool = False, strict: bool = False, utf8: bytes | None = None
              ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """See :func:`read_csv_text`. ``only_kept``: columns other than ``required`` and
    ``optional`` are not checked (duplicate or missing names) and their values never appear
    in a problem (survey exports: e-mail and timestamp columns are not ours to read).
    ``utf8``: the text's UTF-8 bytes, when the file was read as UTF-8 (not encoded again).

    The records are read by pandas' C parser (:func:`alliance_pipeline.intake.read.csv_fast.fast_records`)
    when a cheap check shows it reads them as the ``csv`` module does; otherwise, or with
    ``strict``, by the ``csv`` module, record by record (the reference the tests compare with).
    """
    keep_all = list(required) + [c for c in optional if c not in required]
    if not text or text.isspace():
        if allow_no_rows:
            return empty_frame(required), []
        return None, [Problem(path, None, None, None,
                              f"is empty; it needs a header row ({', '.join(required)}) and data rows")]
    first = first_record(text)
    if not any(cell.strip() for cell in first):
        return None, [Problem(path, 1, None, None,
                              "row 1 must be the header row "
                              f"({', '.join(required)}); delete the empty rows above it")]
    header = [h.strip() for h in first]
    if len(header) == 1 and any(d in first[0] for d in (";", "\t")):
        delim = "semicolon" if ";" in first[0] else "tab"
        return None, [Problem(path, 1, None, first[0],
                              f"is {delim}-separated; save it as comma-separated CSV "
                              "(in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')")]
    nul = _nul_problem(text, path, header)
    if nul:
        return None, [nul]
    problems = _header_problems(path, header, required, keep_all, only_kept)
    fast = None if strict or problems else fast_records(text, utf8)
    if fast is not None:  # then the strict reader would read the same, refusing no quote
        return records_frame(fast, path, header, required, keep_all,
                             allow_no_rows=allow_no_rows, only_kept=only_kept)
    malformed = malformed_quote(text, path, header)
    if malformed:  # refused before any other problem of the file
        if only_kept and malformed.column not in keep_all:
            malformed = replace(malformed, value=None)
        return None, [malformed]
    return strict_frame(text, path, header, required, keep_all, problems,
                         allow_no_rows=allow_no_rows, only_kept=only_kept)


def _header_problems(path: str, header: list[str], required, keep_all: list[str],
                     only_kept: bool) -> list[Problem]:
    """Required columns missing from the header (with the nearest name), or repeated."""
    problems = []
    missing = [c for c in required if c not in header]
    for column in missing:
        near = _near_column(column, [h for h in header if h not in keep_all])
        hint = f" (is {near!r} meant to be {column!r}? rename it)" if near else ""
        names = ", ".join(h for h in header if h) or "no names"
        if len(names) > 200:
            names = names[:197] + "..."
        problems.append(Problem(path, 1, column, None,
                                f"required column is missing; the header has {names}{hint}"))
    duplicates = sorted({h for h in header if h and header.count(h) > 1
                         and (h in keep_all or not only_kept)})
    for column in duplicates:
        problems.append(Problem(path, 1, column, None,
                                "column appears more than once in the header; keep one"))
    return problems


def read_raw_csv(path: Path, encoding: str, required: list[str], optional=(), *, allow_no_rows: bool,
                 findings: Findings | None = None, only_kept: bool = False
                 ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A raw CSV file read-only, decoded and parsed (see :func:`read_csv_text`), with intake's
    options: ``allow_no_rows`` (a header alone is an empty frame), ``findings`` (gets the
    warning of :func:`unfinished_last_line`), ``only_kept`` (see :func:`parse_csv`)."""
    with open(path, "rb") as handle:  # read-only: raw files are never written
        data = handle.read()
    text, problems = decode(data, str(path), encoding,
                            None if findings is None else findings.warnings)
    if text is None:
        return None, problems
    as_read = data if _utf8_without_mark(data, encoding) else None  # the text's UTF-8 bytes
    frame, problems = parse_csv(text, str(path), required, optional, allow_no_rows=allow_no_rows,
                                only_kept=only_kept, utf8=as_read)
    if findings is not None and frame is not None and len(frame):
        findings.warnings += unfinished_last_line(text, str(path), frame)
    return frame, problems


def _utf8_without_mark(data: bytes, encoding: str) -> bool:
    """Whether ``data``, decoded without error as ``encoding``, is its text's UTF-8 form as it
    is (read as UTF-8, no byte-order mark to drop)."""
    return codecs.lookup(encoding).name == "utf-8" and not data.startswith(codecs.BOM_UTF8)


def unfinished_last_line(text: str, path: str, frame: pd.DataFrame) -> list[Problem]:
    """A file that does not end with a line break may have been cut short in its last cell.

    Only a warning: some programs (Google Sheets) write no final line break.
    """
    if text.endswith(("\n", "\r")):
        return []
    row = int(frame["spreadsheet_row"].iloc[-1])
    return [Problem(path, row, None, None,
                    "the file does not end with a line break: if it was cut short (an "
                    f"interrupted copy or download), row {row} is incomplete; check that its "
                    "last cell is whole")]
