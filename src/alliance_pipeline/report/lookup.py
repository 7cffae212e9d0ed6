"""Settings and derived-table look-ups the cohort report's sections share.

The study's questions (:func:`questions_of`, :func:`code_label`), the cohort's analysis
settings (confidence, alpha, p adjustment), rows of a derived table (``table_of``, ``rows_where``,
``first_row``), of the tests table (McNemar rows, the p a sentence reports) and of the shares
tables of the Results and feedback sections (:func:`share_table_rows`).
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.common.outputs import is_repeated
from alliance_pipeline.report.format import esc, fmt_ci, fmt_int, fmt_pct, is_missing, row_value
from alliance_pipeline.report.language import (
    N_,
    _,
    format_count,
    localise_number,
    localised_questions,
)

CONTRAST_GLOSS = {  # how a contrast of a known name reads in a sentence
    "baseline": N_("over the baseline period without training"),
    "training": N_("across the training"),
    "overall": N_("overall"),
}

CONTRAST_READING = {  # the design table's reading of a contrast
    "baseline": N_("change without training"),
    "training": N_("change across the training"),
    "overall": N_("change from first to last measurement"),
}

ADJUST_NAMES = {"holm": N_("Holm-adjusted"), "bonferroni": N_("Bonferroni-adjusted"),
                "none": N_("unadjusted")}

ADJUST_IDS = {"holm": N_("holm"), "bonferroni": N_("bonferroni"), "none": N_("none")}  # as a word


def adjust_word(method: str) -> str:
    """A ``p_adjust`` setting as the study report writes it (``holm``-adjusted)."""
    return _(ADJUST_IDS[method]) if method in ADJUST_IDS else method


VERDICT_WORDS = {"good": N_("good"), "tentative": N_("tentative"), "insufficient": N_("insufficient")}


def contrast_gloss(contrast: str) -> str:
    """How a contrast reads in a sentence (``across the training``)."""
    if contrast in CONTRAST_GLOSS:
        return _(CONTRAST_GLOSS[contrast])
    return _("in the {contrast} contrast").format(contrast=esc(contrast))


def contrast_reading(contrast: str) -> str:
    """The design table's reading of a contrast; empty for a name it does not know."""
    return _(CONTRAST_READING[contrast]) if contrast in CONTRAST_READING else ""


def verdict_word(verdict) -> str:
    """An agreement verdict (good, tentative, insufficient) in words."""
    text = str(verdict)
    return _(VERDICT_WORDS[text]) if text in VERDICT_WORDS else text


def questions_of(study: Mapping) -> dict[str, dict]:
    """Per question: prompt, timepoints, codes (list), labels, definitions.

    Accepts :func:`alliance_pipeline.config.settings.questions_settings` output or a raw codebook's
    ``questions`` block (codes as ``{id: {label, definition}}``).
    """
    out = {}
    for qid, q in localised_questions(study.get("questions") or {}).items():
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
        return _("All codes (question as a whole)")
    return str(questions.get(question, {}).get("labels", {}).get(code, code))


def analysis_settings(cohort: Mapping) -> dict:
    return dict(cohort.get("analysis") or {})


def confidence_level(cohort: Mapping) -> float:
    return float(analysis_settings(cohort).get("confidence", 0.95))


def significance_level(cohort: Mapping) -> float:
    return round(1.0 - confidence_level(cohort), 10)


def conf_label(cohort: Mapping) -> str:
    return _("{level}% CI").format(level=localise_number(f"{confidence_level(cohort) * 100:g}"))


def wilson_label(cohort: Mapping) -> str:
    """``95% Wilson intervals``: the shares' intervals in running text."""
    return _("{level}% Wilson intervals").format(level=localise_number(f"{confidence_level(cohort) * 100:g}"))


def adjust_name(cohort: Mapping) -> str:
    return _(ADJUST_NAMES.get(str(analysis_settings(cohort).get("p_adjust", "holm")), N_("adjusted")))


def p_name(cohort: Mapping, adjusted: bool) -> str:
    """``Holm-adjusted p`` for an adjusted p, else ``p``."""
    return _("{adjust} p").format(adjust=adjust_name(cohort)) if adjusted else "p"


def timepoint_order(study: Mapping) -> dict[str, int]:
    return {t: i for i, t in enumerate(study.get("timepoints", []))}


def table_of(tables: Mapping, name: str) -> pd.DataFrame | None:
    frame = tables.get(name) if tables else None
    if frame is None or not isinstance(frame, pd.DataFrame):
        return None
    return frame


def rows_where(frame: pd.DataFrame | None, **where) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        if key not in frame.columns:
            return frame.iloc[0:0]
        mask &= frame[key].astype(str) == str(value)
    return frame[mask]


def first_row(frame: pd.DataFrame | None, **where):
    rows = rows_where(frame, **where)
    return None if rows.empty else rows.iloc[0]


def cochran_how(analysis: Mapping) -> str:
    """How Cochran's Q p-values are got, for the methods paragraph."""
    draws = int((analysis.get("cochran", {}) or {}).get("permutations", 0) or 0)
    if draws <= 0:
        return _(" (chi-square p)")
    return _(" (chi-square p, and a permutation p from {draws} seeded permutations of the "
             "time points within each participant)").format(draws=format_count(draws))


def permutation_caption(tests: pd.DataFrame | None, question: str) -> str:
    """The Cochran table's caption key for its permutation p column; '' when no row has one."""
    if tests is None or "p_permutation" not in tests.columns:
        return ""
    rows = tests[(tests["question"].astype(str) == question) & (tests["test"] == "cochran_q")]
    rows = rows[pd.to_numeric(rows["p_permutation"], errors="coerce").notna()]
    if rows.empty:
        return ""
    draws = pd.to_numeric(rows["permutations"], errors="coerce")
    mcse = pd.to_numeric(rows["p_permutation_mcse"], errors="coerce").max()
    template = (_(". p: chi-square approximation; p perm.: permutation p from {count} seeded "
                  "permutations of the time points within each participant (Monte Carlo standard "
                  "error at most {mcse})") if draws.nunique() == 1 else
                _(". p: chi-square approximation; p perm.: permutation p from seeded seeded "
                  "permutations of the time points within each participant (Monte Carlo standard "
                  "error at most {mcse})"))
    return template.format(count=format_count(int(draws.iloc[0])), mcse=localise_number(f"{mcse:.4f}"))


def mcnemar_rows(tests: pd.DataFrame | None, question: str, code: str, contrast: str) -> pd.DataFrame:
    """McNemar rows of one code and contrast, the participant-level one first.

    A cohort with several responses per participant and time point (items) has a second,
    item-level row with method ``clustered``.
    """
    rows = rows_where(tests, question=question, code=code, test="mcnemar", contrast=contrast)
    if rows.empty or "method" not in rows.columns:
        return rows
    return rows.assign(_clustered=rows["method"].astype(str) == "clustered").sort_values(
        "_clustered", kind="stable").drop(columns="_clustered")


def primary_mcnemar(tests: pd.DataFrame | None, question: str, code: str, contrast: str):
    rows = mcnemar_rows(tests, question, code, contrast)
    return None if rows.empty else rows.iloc[0]


def single_questions(questions: Mapping) -> list[str]:
    return [q for q, s in questions.items() if not is_repeated(s)]


def codes_in(frame: pd.DataFrame | None, questions: Mapping, question: str,
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


def share_table_rows(props: pd.DataFrame | None, questions: Mapping, q: str, order: Mapping,
                     sort_by_share: bool = False, of_codes: bool = False) -> list[list[str]]:
    """Code, time point, k/n, share of participants, interval (and, with ``of_codes``, the
    code's share of all codes given: ``share_of_codes`` of proportions.csv)."""
    rows = rows_where(props, question=q)
    if rows.empty:
        return []
    rows = rows.copy()
    code_order = {c: i for i, c in enumerate(codes_in(props, questions, q))}
    rows["_c"] = rows["code"].astype(str).map(code_order)
    rows["_t"] = rows["timepoint"].astype(str).map(order).fillna(len(order))
    if sort_by_share:
        rows = rows.sort_values(["proportion", "_c"], ascending=[False, True])
    else:
        rows = rows.sort_values(["_c", "_t"])
    out = []
    for _i, r in rows.iterrows():
        cells = [esc(code_label(questions, q, r["code"])), esc(r["timepoint"]),
                 f"{fmt_int(r['k'])}/{fmt_int(r['n'])}", fmt_pct(r["proportion"]),
                 fmt_ci(r["ci_low"], r["ci_high"], digits=1, pct=True)]
        if of_codes:
            cells.append(fmt_pct(r.get("share_of_codes", float("nan"))))
        out.append(cells)
    return out


def p_of(row) -> tuple[float, bool]:
    """(p, adjusted?) of a test row: the adjusted p when defined, else the raw one."""
    p_adj = row_value(row, "p_adjusted")
    if not is_missing(p_adj):
        return float(p_adj), True
    p = row_value(row, "p_value")
    return (float("nan"), False) if is_missing(p) else (float(p), False)


def significance_word(p: float, alpha: float) -> str:
    """``significant`` / ``not significant`` at ``alpha``; ``not testable`` when p is undefined."""
    if is_missing(p):
        return _("not testable")
    return _("significant") if p < alpha else _("not significant")
