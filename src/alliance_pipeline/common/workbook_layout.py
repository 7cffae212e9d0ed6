"""The layout of the coding and adjudication workbooks, shared by the writer
(:mod:`alliance_pipeline.coding.sheets`) and the reader (:mod:`alliance_pipeline.intake.sources.workbooks`):
the sheet names, the hidden ``_pipeline`` sheet's keys and unit rows, the fill-in columns
and the values they take, and the blinded units (opaque unit id and text digest per response).

Layout (docs/data-contract.md, "Coding workbooks"; outside checks rely on the names):

* sheet ``instructions``: how to code, and the codebook (code id, label, definition);
* one sheet per question, named by the question id. Row 1 is the header: ``unit_id``,
  ``text``, then for a multi-label question one column per code headed by the code id
  (the label is the header cell's comment; a tick is ``1`` or ``x``, ``0`` says the code does
  not apply), for a single-label question one column ``code`` with a drop-down of the code
  labels (a label or a code id is read; ``0`` says no code applies). One row per response,
  in a pseudo-random order (:mod:`alliance_pipeline.common.blinding`). A row whose code cells are
  all empty is *not coded*; a multi-label row with some cells filled is coded, and its empty
  cells mean "does not apply". The adjudication workbook has the same fill-in columns,
  after one read-only ``coder_<id>`` column per coder, and a ``rationale`` column.
* hidden sheet ``_pipeline``: what the workbook was made for (kind, cohort, coder,
  questions, fingerprint of the responses) and per unit its question and a digest of its
  text, so that a changed response is found when the workbook comes back;
* hidden sheet ``_choices``: the drop-down lists of the single-label questions.

Plain values and pandas only (no openpyxl).
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.common import blinding

META_SHEET = "_pipeline"
CHOICES_SHEET = "_choices"
INSTRUCTIONS_SHEET = "instructions"
FORMAT = "alliance_pipeline coding workbook"
FORMAT_VERSION = "1"
TICKS = ("1", "x")       # a code applies (X also read)
NOT_APPLY = "0"          # a code does not apply / no code applies
RATIONALE = "rationale"
# the hidden _pipeline sheet: one row per key (its value in column B), an empty row, then
# META_UNIT_COLUMNS and one row per unit
META_KEYS = ("format", "version", "kind", "cohort", "coder", "questions", "responses_fingerprint",
             "unit_id_rule", "blind")
META_UNIT_COLUMNS = ("unit_id", "question", "text_digest")


def code_ids(spec: Mapping) -> list[str]:
    """A question's code ids, in codebook order."""
    return list(spec["codes"])


def fill_columns(spec: Mapping) -> list[str]:
    """Headers of a question's fill-in columns: the code ids (multi-label) or ``code``."""
    return code_ids(spec) if spec["multi_label"] else ["code"]


def choices(spec: Mapping) -> list[str]:
    """The drop-down of a single-label question: its labels (code ids if two labels are the
    same), then ``0`` (no code applies)."""
    labels = [spec["labels"].get(c, c) for c in code_ids(spec)]
    shown = labels if len(set(labels)) == len(labels) else code_ids(spec)
    return [*shown, NOT_APPLY]


def meta_entries(*, kind: str, cohort: str, coder: str, questions: Mapping,
                 fingerprint_units: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The ``_pipeline`` sheet's (key, value) rows: what the workbook was made for."""
    return list(zip(META_KEYS, (
        FORMAT, FORMAT_VERSION, kind, cohort, coder, ";".join(questions),
        blinding.fingerprint(fingerprint_units),
        "U + 10 Crockford base-32 characters (0-9, A-Z without I, L, O, U) of "
        "HMAC-SHA256(coding_key, response_id)",
        "unit ids opaque; no participant or time point; rows in pseudo-random order"), strict=True))


def meta_cell(key: str) -> str:
    """The A1 cell of a key's value in the ``_pipeline`` sheet (``B4`` for ``cohort``)."""
    return f"B{META_KEYS.index(key) + 1}"


def meta_values(rows) -> dict[str, str]:
    """Key -> value of the ``_pipeline`` sheet's rows (up to the units' header)."""
    meta = {}
    for row in rows:
        if not row or row[0] in (None, META_UNIT_COLUMNS[0]):
            break
        meta[str(row[0])] = "" if len(row) < 2 or row[1] is None else str(row[1])
    return meta


def blinded_units(responses: pd.DataFrame, coding_key: str) -> pd.DataFrame:
    """``response_id``, ``question``, ``text`` (as text) with each response's opaque
    ``unit_id`` and ``text_digest`` (:mod:`alliance_pipeline.common.blinding`)."""
    frame = responses[["response_id", "question", "text"]].astype(str).copy()
    ids = blinding.unit_ids(frame["response_id"], coding_key)
    frame["unit_id"] = frame["response_id"].map(ids)
    frame["text_digest"] = frame["text"].map(blinding.text_digest)
    return frame
