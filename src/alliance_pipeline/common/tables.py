"""Reading and writing the pipeline's CSV tables.

Two kinds of output: tables for machines (exact values, plain UTF-8, what the data
contract specifies) and sheets for people (the disagreement worksheet): UTF-8 with BOM so
Excel detects the encoding, and every cell a spreadsheet would run as a formula prefixed
with an apostrophe (OWASP "CSV injection" advice). Every write is atomic: the table is
written to a temporary file in the same folder and renamed, so a killed job never leaves
a half-written file that a rerun would take as complete.
"""
from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd

FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")


def _umask_mode() -> int:
    """The mode a plainly created file gets (0666 less the umask): mkstemp would give 0600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def neutralise_formula(value):
    """Prefix ``'`` to a string a spreadsheet would evaluate (=, +, -, @, tab, CR first)."""
    if isinstance(value, str) and value.startswith(FORMULA_LEADERS):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with formula-leading text cells neutralised (numbers untouched)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(neutralise_formula)
    return out


def _remove_stale_temporaries(path: Path) -> None:
    """Temporary files of ``path`` left by a writer that was killed (SIGKILL, power loss).

    Safe: a derived file has exactly one writer (the Snakemake job that owns it).
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        stale.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` whole or not at all (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding))


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a temporary file, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: str | os.PathLike, *, for_people: bool = False) -> None:
    """Write a derived table atomically.

    Machine tables: UTF-8, ``\\n`` line ends, floats with full precision (``repr``), an
    undefined value as an empty cell. ``for_people=True``: UTF-8 with BOM and formula cells
    neutralised, for sheets opened in Excel or LibreOffice.
    """
    if for_people:
        frame = spreadsheet_safe(frame)
    # The csv module quotes a cell only for the characters of its line terminator, so with
    # "\n" a bare carriage return inside a text would be written unquoted and read back as
    # a line break. Tables holding one quote every text cell instead (read_table is the same).
    text = _csv_text(frame)
    if "\r" in text:
        text = frame.to_csv(index=False, lineterminator="\n", na_rep="", quoting=csv.QUOTE_NONNUMERIC)
    atomic_write_text(path, text, encoding="utf-8-sig" if for_people else "utf-8")


def _csv_text(frame: pd.DataFrame) -> str:
    """``frame.to_csv(index=False, lineterminator="\\n", na_rep="")``.

    A frame of two or more columns of text only (every name and cell a string) is joined
    directly, quoted as pandas' writer (the csv module, QUOTE_MINIMAL, line terminator
    ``\\n``) quotes: a cell holding a comma, a quote or ``\\n`` in quotes, its quotes doubled.
    That is the same text without pandas' per-chunk formatting (tests/test_intake_fast.py
    compares the two on generated frames).
    """
    columns = [frame.iloc[:, i].to_numpy(dtype=object) for i in range(frame.shape[1])]
    names: list[str] = list(frame.columns)
    if not (len(frame) and len(columns) >= 2 and all(isinstance(name, str) for name in names)):
        return frame.to_csv(index=False, lineterminator="\n", na_rep="")
    try:
        if not _needs_quotes(names) and not any(_needs_quotes(column[:100]) for column in columns):
            text = ",".join(names) + "\n" + _lines(columns)
            rows, width = len(frame) + 1, len(columns)
            if '"' not in text and text.count("\n") == rows and text.count(",") == (width - 1) * rows:
                return text  # no cell holds a comma, a quote or a line break: none is quoted
        return ",".join(_quoted(names)) + "\n" + _lines([_quoted(column) for column in columns])
    except TypeError:  # a cell that is not a string: pandas' writer formats it
        return frame.to_csv(index=False, lineterminator="\n", na_rep="")


def _lines(columns, block: int = 65536) -> str:
    """The rows of ``columns`` (sequences of strings of one length) as text: cells joined by
    commas, each row ended by a line break; one join over the cells and separators of each
    ``block`` of rows (a list that stays small, reused), then one of the blocks."""
    width, rows = len(columns), len(columns[0])
    blocks = []
    for start in range(0, rows, block):
        stop = min(start + block, rows)
        if start == 0 or stop - start < block:
            cells = [","] * (2 * width * (stop - start))
            cells[2 * width - 1::2 * width] = ["\n"] * (stop - start)
        for i, column in enumerate(columns):
            part = column[start:stop]
            cells[2 * i::2 * width] = part.tolist() if isinstance(part, np.ndarray) else part
        blocks.append("".join(cells))
    return "".join(blocks)


def _needs_quotes(cells) -> bool:
    return _has_separator("\x1f".join(cells))


def _has_separator(joined: str) -> bool:
    return "," in joined or '"' in joined or "\n" in joined


def _quoted(cells: Collection[str]) -> Collection[str]:
    """The cells as the csv module writes them (QUOTE_MINIMAL, ``\\n`` ends a line): the
    cells themselves when none needs quotes."""
    joined = "\x1f".join(cells)
    if not _has_separator(joined):
        return cells
    if '"' not in joined and joined.count("\x1f") == len(cells) - 1:  # no quote, no \x1f in a cell
        wrapped = ('"' + '"\x1f"'.join(cells) + '"').split("\x1f")  # every cell in quotes
        return [w if ("," in c or "\n" in c) else c for c, w in zip(cells, wrapped, strict=True)]
    return [f'"{c.replace(chr(34), chr(34) * 2)}"' if ("," in c or '"' in c or "\n" in c) else c
            for c in cells]


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a derived table written by :func:`write_table` (ids and codes stay text)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig").pipe(_numeric)


_TEXT_COLUMNS = {"response_id", "participant_id", "timepoint", "question", "item", "code",
                 "codes", "coder", "text", "cohort", "contrast", "timepoints", "test", "method",
                 "source", "verdict", "note", "rationale", "identifying", "missing", "resolved",
                 "adjudicated_codes"}


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn numeric-looking columns (not ids or labels) into numbers; '' becomes NaN."""
    for column in frame.columns:
        if column in _TEXT_COLUMNS:
            continue
        filled = (frame[column] != "").sum()
        if filled == 0 or column.startswith("coder_"):
            continue
        converted = pd.to_numeric(frame[column].replace("", None), errors="coerce")
        if converted.notna().sum() == filled:
            frame[column] = converted
    return frame
