"""The blinded coding workbooks and the adjudication workbook written (.xlsx), and a generated
workbook filled in as a coder would (:func:`fill_workbook`, for the synthetic pilot and tests).

The layout (sheets, the hidden ``_pipeline`` sheet, columns) is
:mod:`alliance_pipeline.common.workbook_layout`'s; the filled workbooks are read back by
:mod:`alliance_pipeline.intake.sources.workbooks`. Sheets are protected without a password (Review >
Unprotect Sheet): ``unit_id``, ``text`` and the coders' columns are locked, the fill-in cells
are not; data validation refuses values outside the choices. Bytes are deterministic: fixed
creation and modification times in the document properties and in the zip entries
(:data:`.xlsx_cells.FIXED_TIME`), so a rerun writes the same file. Written with openpyxl's write-only mode.
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from alliance_pipeline.coding.xlsx_cells import (
    BOLD,
    UNLOCKED,
    WRAP,
    deterministic_xlsx,
    excel_text,
    protect_sheet,
    write_cell,
)
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

SHEET_NAME_MAX = 31      # Excel's limit


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
        ws.append([write_cell(ws, line, text=True)])
    ws.append([])
    ws.append([write_cell(ws, "Codebook", text=True)])
    for qid, spec in questions.items():
        kind_text = ("multi-label: tick every code that applies" if spec["multi_label"]
                     else "single-label: one code")
        ws.append([])
        ws.append([write_cell(ws, f"Question {qid} ({kind_text})", text=True)])
        if spec.get("prompt"):
            ws.append([write_cell(ws, "Prompt", text=True), write_cell(ws, spec["prompt"], text=True)])
        ws.append([write_cell(ws, h, text=True) for h in ("code", "label", "definition")])
        for code in code_ids(spec):
            ws.append([write_cell(ws, code, text=True),
                       write_cell(ws, spec["labels"].get(code, code), text=True),
                       write_cell(ws, spec["definitions"].get(code, ""), style=WRAP, text=True)])
    protect_sheet(ws)


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
        cell = write_cell(ws, name, text=True)
        cell.font = BOLD
        if spec["multi_label"] and name in spec["codes"]:
            label = spec["labels"].get(name, name)
            cell.comment = Comment(f"{label}: {spec['definitions'].get(name, '')}".strip(": "),
                                   "alliance_pipeline")
        head.append(cell)
    ws.append(head)
    first_fill = 3 + len(coder_cols)
    for unit, text, coded in rows:
        ws.append([write_cell(ws, unit, text=True),
                   write_cell(ws, excel_text(text), style=WRAP, text=True),
                   *[write_cell(ws, c, text=True) for c in coded],
                   *[write_cell(ws, None, protection=UNLOCKED) for _ in fills],
                   *([write_cell(ws, None, style=WRAP, protection=UNLOCKED)] if with_rationale else [])])
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
    protect_sheet(ws)


def _meta_sheet(wb, meta: list[tuple[str, str]], units: list[tuple[str, str, str]]) -> None:
    ws = wb.create_sheet(META_SHEET)
    for key, value in meta:
        ws.append([write_cell(ws, key, text=True), write_cell(ws, value, text=True)])
    ws.append([])
    ws.append([write_cell(ws, h, text=True) for h in META_UNIT_COLUMNS])
    for unit in units:
        ws.append([write_cell(ws, v, text=True) for v in unit])
    ws.sheet_state = "hidden"
    protect_sheet(ws)


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
        ws.append([write_cell(ws, col[r] if r < len(col) else None, text=True) for col in lists])
    ws.sheet_state = "hidden"
    protect_sheet(ws)
    buffer = io.BytesIO()
    wb.save(buffer)
    return deterministic_xlsx(buffer.getvalue(), wb.properties)


def coding_workbook(responses: pd.DataFrame, *, cohort: str, coder: str, questions: Mapping,
                    coding_key: str) -> bytes:
    """The blinded coding workbook of one coder, as .xlsx bytes.

    Parameters
    ----------
    responses : pandas.DataFrame
        ``response_id, question, text``; other columns (participant, time point) are never
        written.
    cohort, coder : str
        Whom the workbook is for (the hidden ``_pipeline`` sheet records them).
    questions : mapping
        The codebook: question id -> ``multi_label``, ``codes``, ``labels``, ``definitions``.
    coding_key : str
        Key of the opaque unit ids and of the row order (:mod:`alliance_pipeline.common.blinding`).

    Returns
    -------
    bytes
        Deterministic .xlsx: instructions, one sheet per question (rows in this coder's
        pseudo-random order), the hidden ``_pipeline`` and ``_choices`` sheets.

    Examples
    --------
    >>> import io
    >>> import pandas as pd
    >>> from openpyxl import load_workbook
    >>> from alliance_pipeline.coding.sheets import coding_workbook
    >>> questions = {"q1": {"multi_label": True, "codes": ["a", "b"], "labels": {}, "definitions": {}}}
    >>> responses = pd.DataFrame({"response_id": ["r1", "r2"], "question": "q1", "text": ["t1", "t2"]})
    >>> data = coding_workbook(responses, cohort="demo", coder="c1", questions=questions, coding_key="k")
    >>> wb = load_workbook(io.BytesIO(data))
    >>> wb.sheetnames, [cell.value for cell in wb["q1"][1]]
    (['instructions', 'q1', '_pipeline', '_choices'], ['unit_id', 'text', 'a', 'b'])
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
    """The blinded adjudication workbook, one row per row of ``worksheet``, as .xlsx bytes.

    Parameters
    ----------
    responses : pandas.DataFrame
        responses.csv (with ``identifying``): each response's question and text.
    worksheet : pandas.DataFrame
        disagreements.csv, with its ``coder_<id>`` columns.
    cohort : str
        The cohort (recorded in the ``_pipeline`` sheet).
    questions : mapping
        The codebook, as for :func:`coding_workbook`.
    coding_key : str
        Key of the unit ids and the row order.
    allow_identifying_text : bool, default False
        Write texts with an e-mail address or phone number instead of withholding them.

    Returns
    -------
    bytes
        Deterministic .xlsx; participant, time point and item are not written.

    Examples
    --------
    >>> import io
    >>> import pandas as pd
    >>> from openpyxl import load_workbook
    >>> from alliance_pipeline.coding.sheets import adjudication_workbook
    >>> questions = {"q1": {"multi_label": True, "codes": ["a", "b"], "labels": {}, "definitions": {}}}
    >>> responses = pd.DataFrame({"response_id": ["r1", "r2"], "question": "q1", "text": ["t1", "t2"]})
    >>> sheet = pd.DataFrame({"response_id": ["r2"], "coder_c1": ["a"], "coder_c2": ["a;b"]})
    >>> data = adjudication_workbook(responses, sheet, cohort="demo", questions=questions, coding_key="k")
    >>> [[cell.value for cell in row][1:] for row in load_workbook(io.BytesIO(data))["q1"].iter_rows()]
    [['text', 'coder_c1', 'coder_c2', 'a', 'b', 'rationale'], ['t2', 'a', 'a;b', None, None, None]]
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
    """A generated workbook filled in as a coder (or the meeting) would: for the synthetic pilot.

    Parameters
    ----------
    path_in : str, pathlib.Path or binary file
        A workbook of :func:`coding_workbook` or :func:`adjudication_workbook`.
    codes : pandas.DataFrame
        ``response_id, codes`` (``;``-joined; ``""``: no code applies). A multi-label row gets
        1 under each code (0 in the first code column when none applies), a single-label row
        its drop-down entry; responses not listed stay empty (not coded).
    questions : mapping
        The codebook.
    coding_key : str
        The key the workbook was made with.
    rationale : mapping of str to str, optional
        Response id -> text of the adjudication workbook's ``rationale``.

    Returns
    -------
    bytes
        Deterministic .xlsx.

    Examples
    --------
    >>> import io
    >>> import pandas as pd
    >>> from openpyxl import load_workbook
    >>> from alliance_pipeline.coding.sheets import coding_workbook, fill_workbook
    >>> questions = {"q1": {"multi_label": True, "codes": ["a", "b"], "labels": {}, "definitions": {}}}
    >>> responses = pd.DataFrame({"response_id": ["r1"], "question": "q1", "text": ["t1"]})
    >>> data = coding_workbook(responses, cohort="demo", coder="c1", questions=questions, coding_key="k")
    >>> filled = fill_workbook(io.BytesIO(data), pd.DataFrame({"response_id": ["r1"], "codes": ["b"]}),
    ...                        questions=questions, coding_key="k")
    >>> [cell.value for cell in load_workbook(io.BytesIO(filled))["q1"][2]][1:]
    ['t1', None, 1]
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
