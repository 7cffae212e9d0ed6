"""Settings and derived-table look-ups the cohort report's sections share.

The study's questions (:func:`questions_of`, :func:`code_label`), the cohort's analysis
settings (confidence, alpha, p adjustment), rows of a derived table (``_table``, ``_rows``,
``_first``) and of the tests table (McNemar rows, the p a sentence reports).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from alliance_pipeline.outputs import is_repeated
from alliance_pipeline.report.format import _missing, _val


CONTRAST_GLOSS = {  # how a contrast of a known name reads in a sentence
    "baseline": "over the baseline period without training",
    "training": "across the training",
    "overall": "overall",
}

CONTRAST_READING = {  # the design table's reading of a contrast
    "baseline": "change without training",
    "training": "change across the training",
    "overall": "change from first to last measurement",
}

ADJUST_NAMES = {"holm": "Holm-adjusted", "bonferroni": "Bonferroni-adjusted", "none": "unadjusted"}


def questions_of(study: Mapping) -> dict[str, dict]:
    """Per question: prompt, timepoints, codes (list), labels, definitions.

    Accepts :func:`alliance_pipeline.config.questions_settings` output or a raw codebook's
    ``questions`` block (codes as ``{id: {label, definition}}``).
    """
    out = {}
    for qid, q in (study.get("questions") or {}).items():
        codes = q.get("codes", [])
        if isinstance(codes, Mapping):
            labels = {c: (spec or {}).get("label", c) for c, spec in codes.items()}
            definitions = {c: (spec or {}).get("definition", "") for c, spec in codes.items()}
            codes = list(codes)
        else:
            labels = dict(q.get("labels", {}))
            definitions = dict(q.get("definitions", {}))
        out[qid] = {"prompt": q.get("prompt", ""), "timepoints": list(q.get("timepoints", [])),
                    "codes": list(codes), "labels": labels, "definitions": definitions,
                    "multi_label": bool(q.get("multi_label", True))}
    return out


def code_label(questions: Mapping, question: str, code: str) -> str:
    if code == "*":
        return "All codes (question as a whole)"
    return str(questions.get(question, {}).get("labels", {}).get(code, code))


def _analysis(cohort: Mapping) -> dict:
    return dict(cohort.get("analysis") or {})


def _confidence(cohort: Mapping) -> float:
    return float(_analysis(cohort).get("confidence", 0.95))


def _alpha(cohort: Mapping) -> float:
    return round(1.0 - _confidence(cohort), 10)


def _conf_label(cohort: Mapping) -> str:
    return f"{_confidence(cohort) * 100:g}% CI"


def _adjust_name(cohort: Mapping) -> str:
    return ADJUST_NAMES.get(str(_analysis(cohort).get("p_adjust", "holm")), "adjusted")


def _tp_order(study: Mapping) -> dict[str, int]:
    return {t: i for i, t in enumerate(study.get("timepoints", []))}


def _table(tables: Mapping, name: str) -> pd.DataFrame | None:
    frame = tables.get(name) if tables else None
    if frame is None or not isinstance(frame, pd.DataFrame):
        return None
    return frame


def _rows(frame: pd.DataFrame | None, **where) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        if key not in frame.columns:
            return frame.iloc[0:0]
        mask &= frame[key].astype(str) == str(value)
    return frame[mask]


def _first(frame: pd.DataFrame | None, **where):
    rows = _rows(frame, **where)
    return None if rows.empty else rows.iloc[0]


def _cochran_how(analysis: Mapping) -> str:
    """How Cochran's Q p-values are got, for the methods paragraph."""
    draws = int((analysis.get("cochran", {}) or {}).get("permutations", 0) or 0)
    if draws <= 0:
        return " (chi-square p)"
    return (f" (chi-square p, and a permutation p from {draws:,} seeded permutations of the "
            f"time points within each participant)")


def _permutation_caption(tests: pd.DataFrame | None, question: str) -> str:
    """The Cochran table's caption key for its permutation p column; '' when no row has one."""
    if tests is None or "p_permutation" not in tests.columns:
        return ""
    rows = tests[(tests["question"].astype(str) == question) & (tests["test"] == "cochran_q")]
    rows = rows[pd.to_numeric(rows["p_permutation"], errors="coerce").notna()]
    if rows.empty:
        return ""
    draws = pd.to_numeric(rows["permutations"], errors="coerce")
    mcse = pd.to_numeric(rows["p_permutation_mcse"], errors="coerce").max()
    count = f"{int(draws.iloc[0]):,}" if draws.nunique() == 1 else "seeded"
    return (f". p: chi-square approximation; p perm.: permutation p from {count} seeded "
            f"permutations of the time points within each participant (Monte Carlo standard "
            f"error at most {mcse:.4f})")


def _mcnemar_rows(tests: pd.DataFrame | None, question: str, code: str, contrast: str) -> pd.DataFrame:
    """McNemar rows of one code and contrast, the participant-level one first.

    A cohort with several responses per participant and time point (items) has a second,
    item-level row with method ``clustered``.
    """
    rows = _rows(tests, question=question, code=code, test="mcnemar", contrast=contrast)
    if rows.empty or "method" not in rows.columns:
        return rows
    return rows.assign(_clustered=rows["method"].astype(str) == "clustered").sort_values(
        "_clustered", kind="stable").drop(columns="_clustered")


def _primary(tests: pd.DataFrame | None, question: str, code: str, contrast: str):
    rows = _mcnemar_rows(tests, question, code, contrast)
    return None if rows.empty else rows.iloc[0]


def _single(questions: Mapping) -> list[str]:
    return [q for q, s in questions.items() if not is_repeated(s)]


def _codes_in(frame: pd.DataFrame | None, questions: Mapping, question: str,
              include_star: bool = False) -> list[str]:
    """Codes of ``question`` in codebook order, then any others the table holds."""
    listed = list(questions.get(question, {}).get("codes", []))
    present = []
    if frame is not None and not frame.empty and "code" in frame.columns:
        present = list(dict.fromkeys(frame.loc[frame["question"].astype(str) == question, "code"].astype(str)))
    codes = [c for c in listed if c in present] + [c for c in present if c not in listed]
    if not include_star:
        codes = [c for c in codes if c != "*"]
    elif "*" in codes:
        codes = [c for c in codes if c != "*"] + ["*"]
    return codes


def _p_of(row) -> tuple[float, bool]:
    """(p, adjusted?) of a test row: the adjusted p when defined, else the raw one."""
    p_adj = _val(row, "p_adjusted")
    if not _missing(p_adj):
        return float(p_adj), True
    p = _val(row, "p_value")
    return (float("nan"), False) if _missing(p) else (float(p), False)


def significance_word(p: float, alpha: float) -> str:
    """``significant`` / ``not significant`` at ``alpha``; ``not testable`` when p is undefined."""
    if _missing(p):
        return "not testable"
    return "significant" if p < alpha else "not significant"
