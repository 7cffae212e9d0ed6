"""Any .xlsx file a team hands in (form exports, filled coding and adjudication workbooks),
as intake first meets it: whether the file is an .xlsx workbook at all (:func:`file_problem`:
another spreadsheet format, an encrypted file, not a zip), how a damaged one is named
(:data:`DAMAGED`, :func:`damage`), how it is opened (:func:`open_workbook`: read-only, its
shared strings as the file holds them) and a cell's value as text (:func:`cell_text`: Excel's
``_xHHHH_`` escapes undone, line ends unified, as :func:`unescape` and :func:`unified_lines`).

Every .xlsx intake reads goes through here: survey exports
(:mod:`alliance_pipeline.intake.read.export_file`), filled coding and adjudication workbooks
(:mod:`alliance_pipeline.intake.sources.workbooks`); openpyxl is imported only to open one.
"""
from __future__ import annotations

import re
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


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_SHARED_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def shared_strings(path: Path) -> list[str] | None:
    """The shared strings of an .xlsx as written, Excel's escapes kept (a string's plain
    text and its runs' texts, not its phonetic guide); None when it has none."""
    with zipfile.ZipFile(path) as archive:
        types = ElementTree.fromstring(archive.read("[Content_Types].xml"))
        names = [o.get("PartName", "").lstrip("/") for o in types.iter(f"{_TYPES}Override")
                 if o.get("ContentType") == _SHARED_TYPE]
        if not names or names[0] not in archive.namelist():
            return None
        strings = []
        with archive.open(names[0]) as part:
            for _, node in ElementTree.iterparse(part):
                if node.tag == f"{_MAIN}si":
                    texts = [*node.findall(f"{_MAIN}t"), *node.findall(f"{_MAIN}r/{_MAIN}t")]
                    strings.append("".join(t.text or "" for t in texts))
                    node.clear()
        return strings


def open_workbook(path: Path, *, data_only: bool):
    """The workbook opened read-only by openpyxl, its shared strings as written.

    openpyxl drops every ``x005F_`` from a shared string (so ``_x005F_x000D_``, the text
    ``_x000D_``, would read as a CR) and undoes no other escape: its strings are put back
    as the file holds them, and :func:`cell_text` undoes each escape once, as Excel does.
    Raises what openpyxl and :data:`DAMAGED` name for a file that cannot be read.
    """
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=data_only)
    strings = shared_strings(path)
    for sheet in book.worksheets:
        held = getattr(sheet, "_shared_strings", None)  # openpyxl's list, shared by the sheets
        if strings is not None and isinstance(held, list) and len(held) == len(strings):
            held[:] = strings
            break
    return book


# OOXML's ST_Xstring escape: a character XML cannot hold (Excel writes a cell's CR as
# ``_x000D_``) is ``_x`` + four hex digits + ``_``; ``_x005F_`` is a literal underscore, so
# ``_x005F_x000D_`` is the text ``_x000D_``. openpyxl leaves them as written.
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape(text: str) -> str:
    """``text`` with Excel's ``_xHHHH_`` escapes undone, left to right as Excel reads them
    (a surrogate pair of escapes is one character; a lone surrogate becomes U+FFFD)."""
    if "_x" not in text:
        return text
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def unified_lines(text: str) -> str:
    """CR LF and a lone CR as LF: a text's line breaks as intake keeps them, whether it came
    from an .xlsx cell (Excel's ``_x000D_`` + LF) or a CSV cell (a Windows program's CR LF)."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def cell_text(value) -> str:
    """A spreadsheet cell as text: empty for None, whole numbers without ``.0``, dates and
    times in ISO 8601, a string with Excel's ``_xHHHH_`` escapes undone and its line ends
    as LF (the one reader of cells for coding workbooks and survey exports)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return unified_lines(unescape(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

