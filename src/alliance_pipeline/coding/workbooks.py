"""Blinded coding workbooks (.xlsx) out, filled workbooks back in.

Layout (docs/data-contract.md, "Coding workbooks"; outside checks rely on the names):

* sheet ``instructions``: how to code, and the codebook (code id, label, definition);
* one sheet per question, named by the question id. Row 1 is the header: ``unit_id``,
  ``text``, then for a multi-label question one column per code headed by the code id
  (the label is the header cell's comment; a tick is ``1`` or ``x``, ``0`` says the code does
  not apply), for a single-label question one column ``code`` with a drop-down of the code
  labels (a label or a code id is read; ``0`` says no code applies). One row per response,
  in a pseudo-random order (:mod:`alliance_pipeline.blinding`). A row whose code cells are
  all empty is *not coded*; a multi-label row with some cells filled is coded, and its empty
  cells mean "does not apply". The adjudication workbook has the same fill-in columns,
  after one read-only ``coder_<id>`` column per coder, and a ``rationale`` column.
* hidden sheet ``_pipeline``: what the workbook was made for (kind, cohort, coder,
  questions, fingerprint of the responses) and per unit its question and a digest of its
  text, so that a changed response is found when the workbook comes back;
* hidden sheet ``_choices``: the drop-down lists of the single-label questions.

Sheets are protected without a password (Review > Unprotect Sheet): ``unit_id``, ``text`` and
the coders' columns are locked, the fill-in cells are not; data validation refuses values
outside the choices. Bytes are deterministic: fixed creation and modification times in the
document properties and in the zip entries (:data:`FIXED_TIME`), so a rerun writes the same
file. Written with openpyxl's write-only mode, read back with its read-only mode.
"""
from __future__ import annotations

import datetime
import io
import weakref
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.functions import tostring

from alliance_pipeline import blinding
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.privacy import WITHHELD, withhold_identifying

# What a damaged .xlsx raises while a read-only sheet is unzipped and parsed row by row.
DAMAGED = (zipfile.BadZipFile, zlib.error, ElementTree.ParseError, EOFError)


def damage(err: Exception) -> str:
    """``ParseError: not well-formed ...`` (``zlib.error: ...`` for zlib's bare ``error``)."""
    name = type(err).__name__
    if name == "error":
        name = f"{type(err).__module__}.error"
    return f"{name}: {str(err)[:100]}"

FIXED_TIME = datetime.datetime(2000, 1, 1)  # creation/modification time written (determinism)
META_SHEET = "_pipeline"
CHOICES_SHEET = "_choices"
INSTRUCTIONS_SHEET = "instructions"
FORMAT = "alliance_pipeline coding workbook"
FORMAT_VERSION = "1"
TICKS = ("1", "x")       # a code applies (X also read)
NOT_APPLY = "0"          # a code does not apply / no code applies
RATIONALE = "rationale"
SHEET_NAME_MAX = 31      # Excel's limit

_LOCKED = Protection(locked=True)
_UNLOCKED = Protection(locked=False)
_WRAP = Alignment(wrap_text=True, vertical="top")
_BOLD = Font(bold=True)


def _codes(spec: Mapping) -> list[str]:
    return list(spec["codes"])


def fill_columns(spec: Mapping) -> list[str]:
    """Headers of a question's fill-in columns: the code ids (multi-label) or ``code``."""
    return _codes(spec) if spec["multi_label"] else ["code"]


def choices(spec: Mapping) -> list[str]:
    """The drop-down of a single-label question: its labels (code ids if two labels are the
    same), then ``0`` (no code applies)."""
    labels = [spec["labels"].get(c, c) for c in _codes(spec)]
    shown = labels if len(set(labels)) == len(labels) else _codes(spec)
    return [*shown, NOT_APPLY]


# ---------------------------------------------------------------------------------- writing

_STYLES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # workbook -> {key: style}


def _cell(ws, value, *, style=None, protection=_LOCKED, text=False):
    """A write-only cell; text stays text (never a formula). Styles are looked up once and
    their array shared (setting them cell by cell dominates the time of a large sheet)."""
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


def _protect(ws) -> None:
    """Sheet protection without a password; columns and rows may still be resized."""
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False


def _instructions(wb, *, kind: str, cohort: str, coder: str, questions: Mapping) -> None:
    ws = wb.create_sheet(INSTRUCTIONS_SHEET)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 30
    ws.column_dimensions["C"].width = 90
    who = f"coder {coder}" if kind == "coding" else "the consensus meeting"
    title = "Coding workbook" if kind == "coding" else "Adjudication workbook"
    lines = [
        f"{title}: cohort {cohort}, {who}",
        "",
        "Each question has its own sheet. Rows are in a random order; a unit id is an opaque "
        "code that reveals neither the participant nor the time point.",
        "Multi-label question: put 1 or x in the column of every code that applies. If no code "
        "applies, put 0 in one of the code cells. A row left empty counts as not coded.",
        "Single-label question: choose the code in column `code` from the drop-down (or type "
        "its label or code id); choose 0 if no code applies. An empty cell counts as not coded.",
        "The unit_id and text columns are locked (the sheet is protected without a password). "
        "Do not edit, insert or delete rows; sort only whole rows, never one column alone.",
        "Save the workbook as .xlsx (Excel Workbook) under the same name and send it back.",
    ]
    if kind == "adjudication":
        lines[3:5] = [
            "The coder_<id> columns show each coder's codes (read-only). Fill in the agreed "
            "codes as in the coding workbooks (1 or x per code that applies, 0 if none; for a "
            "single-label question the drop-down in `code`), and the reason in `rationale`. "
            "A row left empty stays unresolved."]
        lines[-1] = ("Save it as data/raw/<cohort>/adjudication.xlsx (Excel Workbook) and run "
                     "the workflow again.")
    for line in lines:
        ws.append([_cell(ws, line, text=True)])
    ws.append([])
    ws.append([_cell(ws, "Codebook", text=True)])
    for qid, spec in questions.items():
        kind_text = ("multi-label: tick every code that applies" if spec["multi_label"]
                     else "single-label: one code")
        ws.append([])
        ws.append([_cell(ws, f"Question {qid} ({kind_text})", text=True)])
        if spec.get("prompt"):
            ws.append([_cell(ws, "Prompt", text=True), _cell(ws, spec["prompt"], text=True)])
        ws.append([_cell(ws, h, text=True) for h in ("code", "label", "definition")])
        for code in _codes(spec):
            ws.append([_cell(ws, code, text=True),
                       _cell(ws, spec["labels"].get(code, code), text=True),
                       _cell(ws, spec["definitions"].get(code, ""), style=_WRAP, text=True)])
    _protect(ws)


def _question_sheet(wb, qid: str, spec: Mapping, rows: list[tuple[str, str, list[str]]],
                    coders: Sequence[str], with_rationale: bool, choice_ref: str | None) -> None:
    """One question's sheet: header, one row per (unit id, text, coders' codes)."""
    ws = wb.create_sheet(qid)
    fills = fill_columns(spec)
    coder_cols = [f"coder_{c}" for c in coders]
    header = ["unit_id", "text", *coder_cols, *fills, *([RATIONALE] if with_rationale else [])]
    widths = [14, 80, *[22] * len(coder_cols), *[14] * len(fills), *([50] if with_rationale else [])]
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "C2"
    head = []
    for name in header:
        cell = _cell(ws, name, text=True)
        cell.font = _BOLD
        if spec["multi_label"] and name in spec["codes"]:
            label = spec["labels"].get(name, name)
            cell.comment = Comment(f"{label}: {spec['definitions'].get(name, '')}".strip(": "),
                                   "alliance_pipeline")
        head.append(cell)
    ws.append(head)
    first_fill = 3 + len(coder_cols)
    for unit, text, coded in rows:
        ws.append([_cell(ws, unit, text=True), _cell(ws, text, style=_WRAP, text=True),
                   *[_cell(ws, c, text=True) for c in coded],
                   *[_cell(ws, None, protection=_UNLOCKED) for _ in fills],
                   *([_cell(ws, None, style=_WRAP, protection=_UNLOCKED)] if with_rationale else [])])
    if rows:
        last = len(rows) + 1
        start, end = get_column_letter(first_fill), get_column_letter(first_fill + len(fills) - 1)
        if spec["multi_label"]:
            dv = DataValidation(type="list", formula1=f'"{",".join((*TICKS, NOT_APPLY))}"',
                                allow_blank=True)
            what = "1 or x where the code applies, 0 if no code applies, or leave it empty"
        else:
            dv = DataValidation(type="list", formula1=choice_ref, allow_blank=True)
            what = "a code from the drop-down (0 if no code applies), or leave it empty"
        dv.showErrorMessage = True
        dv.errorTitle = "Not a choice"
        dv.error = f"Enter {what}."
        dv.add(f"{start}2:{end}{last}")
        ws.data_validations.append(dv)
    _protect(ws)


def _meta_sheet(wb, meta: list[tuple[str, str]], units: list[tuple[str, str, str]]) -> None:
    ws = wb.create_sheet(META_SHEET)
    for key, value in meta:
        ws.append([_cell(ws, key, text=True), _cell(ws, value, text=True)])
    ws.append([])
    ws.append([_cell(ws, h, text=True) for h in ("unit_id", "question", "text_digest")])
    for unit in units:
        ws.append([_cell(ws, v, text=True) for v in unit])
    ws.sheet_state = "hidden"
    _protect(ws)


def deterministic_xlsx(data: bytes, properties: DocumentProperties) -> bytes:
    """Re-pack the zip with fixed entry times and fixed document times (same bytes on rerun)."""
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


def _workbook_bytes(*, kind: str, cohort: str, coder: str, questions: Mapping,
                    by_question: dict[str, list[tuple[str, str, list[str]]]],
                    coders: Sequence[str], fingerprint_units: list[tuple[str, str, str]]) -> bytes:
    for qid in questions:
        if len(qid) > SHEET_NAME_MAX or qid.lower() in (INSTRUCTIONS_SHEET, META_SHEET, CHOICES_SHEET):
            raise ValueError(f"question id {qid!r} cannot name a workbook sheet (at most "
                             f"{SHEET_NAME_MAX} characters, not {INSTRUCTIONS_SHEET}, {META_SHEET} "
                             f"or {CHOICES_SHEET}); rename the question in the codebook")
    wb = Workbook(write_only=True)
    wb.properties.creator = "alliance_pipeline"
    _instructions(wb, kind=kind, cohort=cohort, coder=coder, questions=questions)
    single = [q for q in questions if not questions[q]["multi_label"]]
    refs = {}
    for index, qid in enumerate(single, start=1):
        column = get_column_letter(index)
        refs[qid] = (f"{quote_sheetname(CHOICES_SHEET)}!${column}$1:"
                     f"${column}${len(choices(questions[qid]))}")
    for qid, spec in questions.items():
        _question_sheet(wb, qid, spec, by_question.get(qid, []), coders,
                        kind == "adjudication", refs.get(qid))
    meta = [("format", FORMAT), ("version", FORMAT_VERSION), ("kind", kind), ("cohort", cohort),
            ("coder", coder), ("questions", ";".join(questions)),
            ("responses_fingerprint", blinding.fingerprint(fingerprint_units)),
            ("unit_id_rule", "U + 10 Crockford base-32 characters (0-9, A-Z without I, L, O, U) of "
                        "HMAC-SHA256(coding_key, response_id)"),
            ("blind", "unit ids opaque; no participant or time point; rows in pseudo-random order")]
    _meta_sheet(wb, meta, fingerprint_units)
    ws = wb.create_sheet(CHOICES_SHEET)
    lists = [choices(questions[q]) for q in single]
    for r in range(max(map(len, lists), default=0)):
        ws.append([_cell(ws, col[r] if r < len(col) else None, text=True) for col in lists])
    ws.sheet_state = "hidden"
    _protect(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return deterministic_xlsx(buffer.getvalue(), wb.properties)


def _units(responses: pd.DataFrame, coding_key: str) -> pd.DataFrame:
    frame = responses[["response_id", "question", "text"]].astype(str).copy()
    ids = blinding.unit_ids(frame["response_id"], coding_key)
    frame["unit_id"] = frame["response_id"].map(ids)
    frame["text_digest"] = frame["text"].map(blinding.text_digest)
    return frame


def coding_workbook(responses: pd.DataFrame, *, cohort: str, coder: str, questions: Mapping,
                    coding_key: str) -> bytes:
    """The blinded coding workbook of one coder, as .xlsx bytes.

    ``responses``: the normalised responses (``response_id``, ``question``, ``text``; other
    columns such as participant and time point are not used and never written). Rows are
    ordered by :func:`blinding.order_key` for this coder.
    """
    units = _units(responses, coding_key)
    units = units[units["question"].isin(list(questions))]
    units = units.assign(_order=[blinding.order_key(r, coder, coding_key) for r in units["response_id"]])
    units = units.sort_values("_order", kind="stable")
    by_question = {q: [(u, t, []) for u, t in zip(g["unit_id"], g["text"])]
                   for q, g in units.groupby("question", sort=False)}
    return _workbook_bytes(kind="coding", cohort=cohort, coder=coder, questions=questions,
                           by_question=by_question, coders=[],
                           fingerprint_units=list(zip(units["unit_id"], units["question"],
                                                      units["text_digest"])))


def adjudication_workbook(responses: pd.DataFrame, worksheet: pd.DataFrame, *, cohort: str,
                          questions: Mapping, coding_key: str,
                          allow_identifying_text: bool = False) -> bytes:
    """The blinded adjudication workbook: one row per row of ``worksheet`` (disagreements.csv,
    with its ``coder_<id>`` columns), in pseudo-random order, as .xlsx bytes.

    ``responses`` (responses.csv, with ``identifying``) gives each response's text; a text
    with an e-mail address or phone number is withheld as in disagreements.csv unless
    ``allow_identifying_text``. The worksheet's participant, time point and item are not
    written.
    """
    coders = [c[len("coder_"):] for c in worksheet.columns if c.startswith("coder_")]
    units = _units(responses, coding_key)
    units["text"] = withhold_identifying(responses, allow_identifying_text)["text"].astype(str).values
    units = units.set_index("response_id")
    rows = worksheet.assign(_order=[blinding.order_key(str(r), "", coding_key)
                                    for r in worksheet["response_id"]]).sort_values("_order", kind="stable")
    by_question: dict[str, list] = {}
    fingerprint_units = []
    for rec in rows.to_dict("records"):
        unit = units.loc[str(rec["response_id"])]
        by_question.setdefault(unit["question"], []).append(
            (unit["unit_id"], unit["text"], ["" if pd.isna(rec[f"coder_{c}"]) else str(rec[f"coder_{c}"])
                                             for c in coders]))
        fingerprint_units.append((unit["unit_id"], unit["question"], unit["text_digest"]))
    return _workbook_bytes(kind="adjudication", cohort=cohort, coder="", questions=questions,
                           by_question=by_question, coders=coders, fingerprint_units=fingerprint_units)


# ------------------------------------------------------------------------------ filling in

def fill_workbook(path_in: str | Path, codes: pd.DataFrame, *, questions: Mapping,
                  coding_key: str, rationale: Mapping[str, str] | None = None) -> bytes:
    """A generated workbook filled as a coder (or the meeting) would, for the seeded generator.

    ``codes`` holds ``response_id`` and ``codes`` (``;``-joined code ids, ``""`` = no code
    applies): a multi-label row gets ``1`` under each of its codes (``0`` in the first code
    column when none applies), a single-label row its drop-down entry (``0`` when none
    applies). Responses not in ``codes`` stay empty (not coded); ``rationale`` (response id ->
    text) fills the adjudication workbook's ``rationale``. Returns deterministic .xlsx bytes.
    """
    wb = load_workbook(path_in)
    meta = _meta(wb[META_SHEET].iter_rows(values_only=True))
    wanted = {blinding.unit_id(str(r), coding_key): (str(r), "" if pd.isna(c) else str(c))
              for r, c in zip(codes["response_id"], codes["codes"])}
    for qid in meta["questions"].split(";"):
        ws, spec = wb[qid], questions[qid]
        header = [c.value for c in ws[1]]
        fills = fill_columns(spec)
        drop_down = dict(zip(_codes(spec), choices(spec)))
        for row in ws.iter_rows(min_row=2):
            if row[0].value not in wanted:
                continue
            response_id, given = wanted[row[0].value]
            chosen = [c for c in given.split(";") if c]
            if spec["multi_label"]:
                for code in fills:
                    row[header.index(code)].value = 1 if code in chosen else None
                if not chosen:
                    row[header.index(fills[0])].value = 0
            else:
                row[header.index("code")].value = drop_down[chosen[0]] if chosen else NOT_APPLY
            if rationale and RATIONALE in header and response_id in rationale:
                row[header.index(RATIONALE)].value = rationale[response_id]
    buffer = io.BytesIO()
    wb.save(buffer)
    return deterministic_xlsx(buffer.getvalue(), wb.properties)


# ---------------------------------------------------------------------------------- reading

def _meta(rows) -> dict[str, str]:
    meta = {}
    for row in rows:
        if not row or row[0] in (None, "unit_id"):
            break
        meta[str(row[0])] = "" if len(row) < 2 or row[1] is None else str(row[1])
    return meta


def _recorded_units(rows) -> list[tuple[str, str, str]]:
    out, started = [], False
    for row in rows:
        if not started:
            started = bool(row) and row[0] == "unit_id"
            continue
        if row and row[0]:
            out.append((str(row[0]), str(row[1]), str(row[2])))
    return out


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


class _Sheet:
    """A sheet's cell values (by spreadsheet row) and its formula cells, from read-only mode."""

    def __init__(self, ws):
        self.rows: list[tuple[int, list]] = []
        self.formulas: dict[str, str] = {}
        for cells in ws.iter_rows():
            values, number = [], None
            for cell in cells:
                if getattr(cell, "row", None) is not None:
                    number = cell.row
                value = cell.value
                if getattr(cell, "data_type", None) == "f" and value is not None:
                    self.formulas[cell.coordinate] = str(value)
                values.append(value)
            if number is not None:
                self.rows.append((number, values))
        self.unsaved: dict[str, str] = {}  # formula cells without a saved value

    def use_saved_values(self, saved: "_Sheet") -> None:
        """Replace each formula by the value the file saved for it (none: kept in ``unsaved``)."""
        values = {(number, index): value for number, row in saved.rows
                  for index, value in enumerate(row)}
        for number, row in self.rows:
            for index in range(len(row)):
                coordinate = f"{get_column_letter(index + 1)}{number}"
                if coordinate in self.formulas:
                    row[index] = values.get((number, index))
                    if row[index] is None:
                        self.unsaved[coordinate] = self.formulas[coordinate]


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


def read_workbook(path: str | Path, *, kind: str, cohort: str, coder: str,
                  responses: pd.DataFrame, questions: Mapping, coding_key: str
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a filled coding workbook (``kind="coding"``) or adjudication workbook.

    Returns ``(frame, problems)``: ``frame`` has one row per coded unit with
    ``response_id``, ``codes`` (``;``-joined in codebook order) and, for adjudication,
    ``rationale``; ``sheet`` and ``cell`` locate the row. Problems name file, sheet, A1 cell,
    value and the fix: a workbook for another cohort or coder, responses changed since it
    was made, an unknown unit id, a text that does not match its unit (a sheet sorted by one
    column), a value outside the choices, a formula without a saved value.
    """
    path = Path(path)
    problem = file_problem(path)
    if problem:
        return None, [problem]
    file = str(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as err:  # openpyxl raises many kinds for a damaged file
        return None, [Problem(file, None, None, None, f"cannot be opened as an .xlsx workbook "
                              f"({damage(err)}); {SAVE_AS}")]
    try:
        return _read(wb, path, kind=kind, cohort=cohort, coder=coder, responses=responses,
                     questions=questions, coding_key=coding_key)
    except DAMAGED as err:  # read-only sheets are unzipped and parsed only while read
        return None, [Problem(file, None, None, None, f"is damaged ({damage(err)}); {SAVE_AS}")]
    finally:
        wb.close()


def _where(file, sheet, cell, value, message) -> Problem:
    return Problem(file, None, None, None if value is None else cell_text(value), message,
                   sheet=sheet, cell=cell)


def _read(wb, path: Path, *, kind, cohort, coder, responses, questions, coding_key):
    file = str(path)
    made = ("data/derived/<cohort>/coding_sheets/<coder>.xlsx" if kind == "coding"
            else "data/derived/<cohort>/adjudication_sheet.xlsx")
    if META_SHEET not in wb.sheetnames:
        return None, [Problem(file, None, None, None,
                              f"is not a workbook made by the pipeline (it has no hidden sheet "
                              f"{META_SHEET}); fill in the workbook {made} and save it here, or "
                              "give the codes as CSV")]
    meta_rows = list(wb[META_SHEET].iter_rows(values_only=True))
    meta = _meta(meta_rows)
    if meta.get("format") != FORMAT or meta.get("kind") != kind:
        other = meta.get("kind") or "another"
        return None, [Problem(file, None, None, meta.get("kind"),
                              f"is a {other} workbook, not a {kind} workbook; use {made}")]
    problems = []
    if meta.get("cohort") != cohort:
        problems.append(_where(file, META_SHEET, "B4", meta.get("cohort"),
                               f"this workbook was made for cohort {meta.get('cohort')!r}, not "
                               f"{cohort!r}; put it in that cohort's raw folder, or use "
                               f"data/derived/{cohort}/..."))
    if kind == "coding" and meta.get("coder") != coder:
        problems.append(_where(file, META_SHEET, "B5", meta.get("coder"),
                               f"this workbook was made for coder {meta.get('coder')!r}, not "
                               f"{coder!r} (the file name); if it holds {meta.get('coder')}'s "
                               f"codes save it as codes/{meta.get('coder')}.xlsx, otherwise put "
                               f"{coder}'s own workbook here"))
    if problems:
        return None, problems
    units = _units(responses, coding_key)
    by_unit = {u: {"response_id": r, "text": t, "text_digest": d} for u, r, t, d in
               zip(units["unit_id"], units["response_id"], units["text"], units["text_digest"])}
    recorded = _recorded_units(meta_rows)
    changed, removed = [], []
    for unit, _, digest in recorded:
        if unit not in by_unit:
            removed.append(unit)
        elif by_unit[unit]["text_digest"] != digest:
            changed.append(by_unit[unit]["response_id"])
    if changed or removed:
        parts = []
        if changed:
            parts.append(f"text changed: {', '.join(changed)}")
        if removed:
            parts.append(f"no longer among the responses: unit(s) {', '.join(removed)}")
        again = ("make new coding sheets (snakemake coding_sheets) and have the coder code "
                 "these responses again" if kind == "coding" else
                 "run the workflow again for a new adjudication_sheet.xlsx")
        return None, [_where(file, META_SHEET, None, None,
                             f"was made from responses that have since changed ({'; '.join(parts)}); "
                             f"{again}")]
    in_workbook = {u: q for u, q, _ in recorded}
    frames, saved = [], None
    for qid in meta.get("questions", "").split(";"):
        if not qid:
            continue
        if qid not in questions:
            problems.append(_where(file, qid, None, None, f"question {qid} is no longer in the "
                                   "codebook; make the workbook again"))
            continue
        if qid not in wb.sheetnames:
            problems.append(_where(file, qid, None, None, "sheet is missing (renamed or deleted?); "
                                   f"restore the sheet named {qid} from {made}"))
            continue
        sheet = _Sheet(wb[qid])
        if sheet.formulas:  # a formula's saved value stands for it (a second pass, rarely needed)
            saved = saved or load_workbook(path, read_only=True, data_only=True)
            sheet.use_saved_values(_Sheet(saved[qid]))
        frame, found = _read_question(sheet, file, qid, questions[qid], kind, by_unit, in_workbook)
        problems += found
        frames.append(frame)
    if saved is not None:
        saved.close()
    if problems:
        return None, problems
    columns = ["response_id", "codes", *([RATIONALE] if kind == "adjudication" else []), "sheet", "cell"]
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return pd.DataFrame(columns=columns, dtype=object), []
    return pd.concat(frames, ignore_index=True)[columns], []


def _value_at(rows, number: int, index: int):
    """The value in spreadsheet row ``number``, 0-based column ``index`` of a sheet's rows."""
    return next(values[index] for n, values in rows if n == number)


def _read_question(sheet: _Sheet, file, qid, spec, kind, by_unit, in_workbook):
    problems = []
    rows = sheet.rows
    header = [cell_text(v).strip() for v in rows[0][1]] if rows and rows[0][0] == 1 else []
    fills = fill_columns(spec)
    needed = ["unit_id", "text", *fills, *([RATIONALE] if kind == "adjudication" else [])]
    missing = [n for n in needed if n not in header]
    if missing:
        extra = [h for h in header if h and h not in needed and not h.startswith("coder_")]
        fix = "restore the header of the generated workbook"
        if extra and set(missing) <= set(fills):
            fix = (f"the workbook has code column(s) {', '.join(extra)} that question {qid} "
                   "of the codebook does not have: if the codebook changed, correct it or make "
                   f"new coding sheets; otherwise {fix}")
        return None, [_where(file, qid, "A1", None,
                             f"header row 1 lacks {', '.join(missing)} (it has "
                             f"{', '.join(h for h in header if h) or 'nothing'}); {fix}")]
    at = {name: header.index(name) for name in needed}
    for index, name in enumerate(header):  # a tick under a code the codebook no longer has
        if not name or name in needed or name.startswith("coder_"):
            continue
        ticked = next((number for number, values in rows[1:]
                       if index < len(values) and cell_text(values[index]).strip()), None)
        if ticked is not None:
            problems.append(_where(file, qid, f"{get_column_letter(index + 1)}{ticked}",
                                   _value_at(rows, ticked, index),
                                   f"is under column {name!r}, which is not a code of question "
                                   f"{qid} in the codebook ({', '.join(fills)}); the workbook "
                                   "was made with another codebook: restore the code in the "
                                   "codebook, or make new coding sheets"))
    if problems:
        return None, problems
    own_texts = {}
    for unit, q in in_workbook.items():
        if q == qid and unit in by_unit:
            own_texts.setdefault(by_unit[unit]["text"], unit)
    out, seen = [], {}
    for number, values in rows[1:]:
        cell_of = lambda name: f"{get_column_letter(at[name] + 1)}{number}"  # noqa: E731
        get = lambda name: values[at[name]] if at[name] < len(values) else None  # noqa: E731
        filled = {name: get(name) for name in fills}
        unsaved = [name for name in needed if cell_of(name) in sheet.unsaved]
        for name in unsaved:
            problems.append(_where(file, qid, cell_of(name), sheet.unsaved[cell_of(name)],
                                   "is a formula without a saved value; open the workbook in "
                                   "Excel or LibreOffice and save it again (that stores the "
                                   "values), or type the value"))
        if unsaved:
            continue
        unit = cell_text(get("unit_id")).strip()
        text = cell_text(get("text"))
        note = cell_text(get(RATIONALE)) if kind == "adjudication" else ""
        if all(cell_text(v).strip() == "" for v in filled.values()) and not note.strip():
            continue  # not coded (or no disagreement settled): coverage reports it
        if unit not in in_workbook:
            problems.append(_where(file, qid, cell_of("unit_id"), unit,
                                   "is not a unit id of this workbook; restore the unit id of "
                                   "the generated workbook, or delete the row"))
            continue
        if in_workbook[unit] != qid:
            problems.append(_where(file, qid, cell_of("unit_id"), unit,
                                   f"is a unit of question {in_workbook[unit]}, not {qid}; "
                                   f"move the row back to sheet {in_workbook[unit]}"))
            continue
        if unit in seen:
            problems.append(_where(file, qid, cell_of("unit_id"), unit,
                                   f"appears twice (first in row {seen[unit]}); keep one row"))
            continue
        seen[unit] = number
        expected = by_unit[unit]["text"]
        withheld = kind == "adjudication" and text.startswith(WITHHELD.split("{")[0])
        if not withheld and not _same_text(text, expected):
            belongs = own_texts.get(text) or next((u for t, u in own_texts.items()
                                                   if _same_text(text, t)), None)
            if belongs is not None and belongs != unit:
                why = (f"is the text of unit {belongs}, not of unit {unit} in the same row: the "
                       "sheet was sorted by one column only, which moved texts away from their "
                       "unit ids and codes; undo the sort (or start again from the generated "
                       "workbook) and sort only whole rows")
            else:
                why = (f"is not the text of unit {unit} (was the text edited?); restore the text "
                       "of the generated workbook")
            problems.append(_where(file, qid, cell_of("text"), text, why))
            continue
        codes, found = _codes_of(filled, spec, file, qid, cell_of)
        problems += found
        if found:
            continue
        record = {"response_id": by_unit[unit]["response_id"], "codes": codes,
                  "sheet": qid, "cell": cell_of("unit_id")}
        if kind == "adjudication":
            record[RATIONALE] = note
            if all(cell_text(v).strip() == "" for v in filled.values()):
                problems.append(_where(file, qid, cell_of(fills[0]), None,
                                       "the row has a rationale but no agreed codes; fill in the "
                                       "codes (0 if no code applies)"))
                continue
        out.append(record)
    return pd.DataFrame(out, dtype=object), problems


def _same_text(read: str, written: str) -> bool:
    """A spreadsheet program may turn CRLF into LF: compared with line ends unified."""
    return read.replace("\r\n", "\n") == written.replace("\r\n", "\n")


def _codes_of(filled: dict, spec: Mapping, file, qid, cell_of) -> tuple[str, list[Problem]]:
    codes = _codes(spec)
    if spec["multi_label"]:
        chosen, problems = [], []
        for code, value in filled.items():
            shown = cell_text(value).strip()
            if shown.lower() in TICKS or value is True:
                chosen.append(code)
            elif shown in ("", NOT_APPLY) or value is False:
                continue
            else:
                problems.append(_where(file, qid, cell_of(code), value,
                                       f"is not a tick for code {code}: write 1 or x where the "
                                       "code applies, 0 or nothing where it does not"))
        return ";".join(c for c in codes if c in chosen), problems
    value = cell_text(filled["code"]).strip()
    if value == NOT_APPLY:
        return "", []
    by_label = {spec["labels"].get(c, c): c for c in codes}
    if value in codes:
        return value, []
    if value in by_label:
        return by_label[value], []
    shown = [*by_label, NOT_APPLY]
    return "", [_where(file, qid, cell_of("code"), filled["code"],
                       f"is not a code of question {qid}: choose one from the drop-down "
                       f"({', '.join(shown)}) or write a code id ({', '.join(codes)})")]
