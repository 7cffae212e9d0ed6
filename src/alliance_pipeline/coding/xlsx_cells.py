"""The building blocks of the workbooks :mod:`.sheets` writes: write-only cells that keep text
as text, sheet protection without a password, and byte-stable .xlsx files.

Cell styles are looked up once per workbook and their array shared (setting them cell by
cell dominates the time of a large sheet). :func:`deterministic_xlsx` fixes the creation and
modification times in the document properties and in the zip entries (:data:`FIXED_TIME`), so
a rerun writes the same bytes.
"""
from __future__ import annotations

import datetime
import io
import re
import weakref
import zipfile

from openpyxl.cell import WriteOnlyCell
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.xml.functions import tostring

FIXED_TIME = datetime.datetime(2000, 1, 1)  # creation/modification time written (determinism)

LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)
WRAP = Alignment(wrap_text=True, vertical="top")
BOLD = Font(bold=True)

_STYLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # workbook -> {key: style}


# An underscore that would begin one of OOXML's ``_xHHHH_`` escapes (Excel's ``_x000D_`` for
# a CR): Excel writes it as ``_x005F_`` so the text reads back as it is; openpyxl does not.
_BEGINS_ESCAPE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")


def excel_text(text):
    """``text`` as Excel stores it in a cell: an underscore that would begin an ``_xHHHH_``
    escape written as ``_x005F_``, so Excel (and intake, which undoes the escapes as Excel
    does) reads the text itself.

    >>> excel_text("see _x000D_ here")
    'see _x005F_x000D_ here'
    """
    return _BEGINS_ESCAPE.sub("_x005F_", text) if isinstance(text, str) and "_x" in text else text


def write_cell(ws, value, *, style=None, protection=LOCKED, text=False):
    """A write-only cell; text stays text (never a formula).

    Parameters
    ----------
    ws : openpyxl write-only worksheet
        The sheet the cell is for.
    value : object
        The cell's value.
    style : openpyxl.styles.Alignment, optional
        Alignment (e.g. :data:`WRAP`).
    protection : openpyxl.styles.Protection, default LOCKED
        :data:`LOCKED` or :data:`UNLOCKED` (a fill-in cell).
    text : bool, default False
        Store a string as text even when it starts with ``=``.

    Returns
    -------
    openpyxl.cell.WriteOnlyCell

    Notes
    -----
    Styles are looked up once per workbook and their array shared: setting them cell by cell
    dominates the time of a large sheet.

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> from alliance_pipeline.coding.xlsx_cells import UNLOCKED, write_cell
    >>> ws = Workbook(write_only=True).create_sheet("s")
    >>> write_cell(ws, "=1+1", text=True).data_type, write_cell(ws, "=1+1").data_type
    ('s', 'f')
    >>> write_cell(ws, None, protection=UNLOCKED).protection.locked
    False
    """
    cell = WriteOnlyCell(ws, value=value)
    if text and isinstance(value, str):
        cell.data_type = "s"  # a text starting with "=" stays text, never a formula
    key = (protection.locked, style is not None)
    if key == (True, False):
        return cell  # the default style: locked
    styles = _STYLES.setdefault(ws.parent, {})  # style arrays index this workbook's tables
    if key not in styles:
        model = WriteOnlyCell(ws)
        model.protection = protection
        if style is not None:
            model.alignment = style
        styles[key] = model._style
    cell._style = styles[key]
    return cell


def protect_sheet(ws) -> None:
    """Protect a sheet without a password; columns and rows may still be resized.

    Parameters
    ----------
    ws : openpyxl worksheet
        The sheet.

    Returns
    -------
    None

    Examples
    --------
    >>> from openpyxl import Workbook
    >>> from alliance_pipeline.coding.xlsx_cells import protect_sheet
    >>> ws = Workbook().active
    >>> protect_sheet(ws)
    >>> ws.protection.sheet, ws.protection.formatColumns, ws.protection.password
    (True, False, None)
    """
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def deterministic_xlsx(data: bytes, properties: DocumentProperties) -> bytes:
    """Re-pack an .xlsx with fixed entry and document times, so a rerun gives the same bytes.

    Parameters
    ----------
    data : bytes
        The workbook as openpyxl saved it.
    properties : openpyxl.packaging.core.DocumentProperties
        The workbook's properties; created and modified are set to :data:`FIXED_TIME`.

    Returns
    -------
    bytes

    Examples
    --------
    >>> import io, zipfile
    >>> from openpyxl import Workbook
    >>> from alliance_pipeline.coding.xlsx_cells import deterministic_xlsx
    >>> wb, buffer = Workbook(), io.BytesIO()
    >>> wb.save(buffer)
    >>> data = deterministic_xlsx(buffer.getvalue(), wb.properties)
    >>> {entry.date_time for entry in zipfile.ZipFile(io.BytesIO(data)).infolist()}
    {(1980, 1, 1, 0, 0, 0)}
    """
    properties.created = properties.modified = FIXED_TIME
    core = tostring(properties.to_tree())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = core if info.filename == "docProps/core.xml" else src.read(info.filename)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()
