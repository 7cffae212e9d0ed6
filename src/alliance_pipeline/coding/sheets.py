"""The blinded coding workbooks and the adjudication workbook written (.xlsx), and a generated
workbook filled in as a coder would (:func:`fill_workbook`, for the synthetic pilot and tests).

The layout (sheets, the hidden ``_pipeline`` sheet, columns) is
:mod:`alliance_pipeline.common.workbook_layout`'s; the filled workbooks are read back by
:mod:`alliance_pipeline.intake.sources.workbooks`. Sheets are protected without a password (Review >
Unprotect Sheet): ``unit_id``, ``text`` and the coders' columns are locked, the fill-in cells
are not; data validation refuses values outside the choices. Bytes are deterministic: fixed
creation and modification times in the document properties and in the zip entries
(:data:`FIXED_TIME`), so a rerun writes the same file. Written with openpyxl's write-only mode.
"""
from __future__ import annotations

import datetime
import io
import weakref
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.functions import tostring

from alliance_pipeline.common import blinding
from alliance_pipeline.common.privacy import withhold_identifying
from alliance_pipeline.common.workbook_layout import (
    CHOICES_SHEET,
    INSTRUCTIONS_SHEET,
    META_SHEET,
    META_UNIT_COLUMNS,
    NOT_APPLY,
    RATIONALE,
    TICKS,
    blinded_units,
    choices,
    code_ids,
    fill_columns,
    meta_entries,
    meta_values,
)

FIXED_TIME = datetime.datetime(2000, 1, 1)  # creation/modification time written (determinism)
SHEET_NAME_MAX = 31      # Excel's limit

_LOCKED = Protection(locked=True)
_UNLOCKED = Protection(locked=False)
_WRAP = Alignment(wrap_text=True, vertical="top")
_BOLD = Font(bold=True)

_STYLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # workbook -> {key: style}


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
        for code in code_ids(spec):
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
    ws.append([_cell(ws, h, text=True) for h in META_UNIT_COLUMNS])
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
    meta = meta_entries(kind=kind, cohort=cohort, coder=coder, questions=questions,
                        fingerprint_units=fingerprint_units)
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


def coding_workbook(responses: pd.DataFrame, *, cohort: str, coder: str, questions: Mapping,
                    coding_key: str) -> bytes:
    """The blinded coding workbook of one coder, as .xlsx bytes.

    ``responses``: the normalised responses (``response_id``, ``question``, ``text``; other
    columns such as participant and time point are not used and never written). Rows are
    ordered by :func:`blinding.order_key` for this coder.
    """
    units = blinded_units(responses, coding_key)
    units = units[units["question"].isin(list(questions))]
    units = units.assign(_order=[blinding.order_key(r, coder, coding_key) for r in units["response_id"]])
    units = units.sort_values("_order", kind="stable")
    by_question: dict[str, list[tuple[str, str, list[str]]]] = {
        str(q): [(u, t, []) for u, t in zip(g["unit_id"], g["text"], strict=True)]
        for q, g in units.groupby("question", sort=False)}
    return _workbook_bytes(kind="coding", cohort=cohort, coder=coder, questions=questions,
                           by_question=by_question, coders=[],
                           fingerprint_units=list(zip(units["unit_id"], units["question"],
                                                      units["text_digest"], strict=True)))


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
    units = blinded_units(responses, coding_key)
    units["text"] = withhold_identifying(responses, allow_identifying_text)["text"].astype(str).values
    units = units.set_index("response_id")
    rows = worksheet.assign(_order=[blinding.order_key(str(r), "", coding_key)
                                    for r in worksheet["response_id"]]).sort_values("_order", kind="stable")
    by_question: dict[str, list[tuple[str, str, list[str]]]] = {}
    fingerprint_units: list[tuple[str, str, str]] = []
    for rec in rows.to_dict("records"):
        unit = units.loc[str(rec["response_id"])]
        by_question.setdefault(str(unit["question"]), []).append(
            (str(unit["unit_id"]), str(unit["text"]), ["" if pd.isna(rec[f"coder_{c}"]) else str(rec[f"coder_{c}"])
                                             for c in coders]))
        fingerprint_units.append((str(unit["unit_id"]), str(unit["question"]), str(unit["text_digest"])))
    return _workbook_bytes(kind="adjudication", cohort=cohort, coder="", questions=questions,
                           by_question=by_question, coders=coders, fingerprint_units=fingerprint_units)


# ------------------------------------------------------------------------------ filling in

def fill_workbook(path_in: str | Path | BinaryIO, codes: pd.DataFrame, *, questions: Mapping,
                  coding_key: str, rationale: Mapping[str, str] | None = None) -> bytes:
    """A generated workbook filled as a coder (or the meeting) would, for the seeded generator.

    ``codes`` holds ``response_id`` and ``codes`` (``;``-joined code ids, ``""`` = no code
    applies): a multi-label row gets ``1`` under each of its codes (``0`` in the first code
    column when none applies), a single-label row its drop-down entry (``0`` when none
    applies). Responses not in ``codes`` stay empty (not coded); ``rationale`` (response id ->
    text) fills the adjudication workbook's ``rationale``. Returns deterministic .xlsx bytes.
    """
    wb = load_workbook(path_in)
    meta = meta_values(wb[META_SHEET].iter_rows(values_only=True))
    wanted = {blinding.unit_id(str(r), coding_key): (str(r), "" if pd.isna(c) else str(c))
              for r, c in zip(codes["response_id"], codes["codes"], strict=True)}
    for qid in meta["questions"].split(";"):
        ws, spec = wb[qid], questions[qid]
        header = [c.value for c in ws[1]]
        fills = fill_columns(spec)
        drop_down = dict(zip(code_ids(spec), choices(spec)[:-1], strict=True))  # the last choice is 0, no code
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
