"""Any .xlsx file a team hands in (form exports, filled coding and adjudication workbooks),
as intake first meets it: whether the file is an .xlsx workbook at all (:func:`file_problem`:
another spreadsheet format, an encrypted file, not a zip), how a damaged one is named
(:data:`DAMAGED`, :func:`damage`) and a cell's value as text (:func:`cell_text`).

Standard library only (no openpyxl): the callers open the workbook themselves
(:mod:`alliance_pipeline.intake.sources.workbooks`, :mod:`alliance_pipeline.intake.sources.survey`).
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

from alliance_pipeline.intake.problems import Problem

# What a damaged .xlsx raises while a read-only sheet is unzipped and parsed row by row.
DAMAGED = (zipfile.BadZipFile, zlib.error, ElementTree.ParseError, EOFError)


def damage(err: Exception) -> str:
    """``ParseError: not well-formed ...`` (``zlib.error: ...`` for zlib's bare ``error``)."""
    name = type(err).__name__
    if name == "error":
        name = f"{type(err).__module__}.error"
    return f"{name}: {str(err)[:100]}"


OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
NOT_XLSX = {".xls": "an Excel 97-2003 workbook (.xls)", ".ods": "an OpenDocument spreadsheet (.ods)",
            ".xlsm": "a macro-enabled workbook (.xlsm)", ".numbers": "a Numbers file"}
SAVE_AS = "save it as .xlsx (File > Save As > Excel Workbook)"


def file_problem(path: Path) -> Problem | None:
    """Why ``path`` cannot be read as an .xlsx workbook (wrong format, encrypted), or None."""
    suffix = path.suffix.lower()
    if suffix in NOT_XLSX:
        return Problem(str(path), None, None, None, f"is {NOT_XLSX[suffix]}, which is not read; "
                       f"{SAVE_AS} named {path.stem}.xlsx")
    with open(path, "rb") as handle:  # read-only: raw files are never written
        head = handle.read(8)
    if head == OLE_MAGIC:
        return Problem(str(path), None, None, None,
                       "is password-protected (encrypted) or an old-format .xls file renamed to "
                       f".xlsx; remove the password (File > Info > Protect Workbook) and {SAVE_AS}")
    if not zipfile.is_zipfile(path):
        return Problem(str(path), None, None, None, f"is not an .xlsx workbook; {SAVE_AS}")
    return None


def cell_text(value) -> str:
    """A spreadsheet cell as text: empty for None, whole numbers without ``.0``, dates and
    times in ISO 8601 (the one reader of cells for coding workbooks and survey exports)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

