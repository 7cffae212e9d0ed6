"""The difference of changes (``study.compare``, issue #22) pooled across cohorts.

Input: the cohorts' ``models.csv`` rows stacked (the contract's columns). Per question, code
and compare term ``A - B``, each cohort's all-available-data estimate (method
``gee_bias_reduced``: GEE, identity link, exchangeable working correlation, Mancl–DeRouen
bias-reduced covariance) enters with its standard error, recovered from its Wald interval:

    se_k = (ci_high_k − ci_low_k) / (2 z_k),   z_k = Φ⁻¹(1/2 + confidence_k / 2),

(the cohort's own confidence level; a cohort whose interval is not symmetric about its
estimate is not a Wald interval and is left out, named in the note).

**Pooled estimate: inverse-variance fixed effect** over the cohorts,

    D = Σ_k w_k D_k / Σ_k w_k,   w_k = 1 / se_k²,   se(D) = (Σ_k w_k)^(−1/2),

with the Wald interval D ± z se(D) and the two-sided p = 2 Φ(−|D| / se(D)). Why this and not
one GEE over the stacked cohorts with cohort as a fixed effect: each cohort's estimate keeps
its own bias-reduced covariance (the small-sample correction is per cohort, where the few
clusters are), the pooled number is reproducible from the per-cohort rows the report shows,
and cohorts never share a working correlation they need not share. The price: the weights
treat each se_k as known, which with few participants per cohort makes the pooled interval
somewhat too narrow (said in the report's limitations). **Heterogeneity**: Cochran's Q over
the same weights with I² (:func:`alliance_pipeline.study.pooling.cochran_q`).

The complete-case sign-flip rows are shown per cohort by the report but not pooled: pooling
them needs each participant's d, which ``models.csv`` does not hold.

**The report's section** (:func:`differences_md`): per compare pair, question and code, each
cohort's complete-case (sign-flip) and all-available-data (GEE) estimate of change A minus
change B, and the cohorts pooled, from the tables ``models`` (the cohorts' ``models.csv``
stacked) and ``differences`` (``differences.csv``). Every sentence is one whole format string
with named placeholders (the constants below, marked with ``N_`` and translated with ``_``
where used), so that the message catalogue translates it as a unit (docs/languages.md).
No file I/O here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_p_eq,
    fmt_pct,
    md_table,
    slug,
)
from alliance_pipeline.report.language import N_, _, join_sentences
from alliance_pipeline.report.notes import note_text
from alliance_pipeline.study.lookup import select_row, study_code_label
from alliance_pipeline.study.pooling import cochran_q, i_squared

NAN = float("nan")
GEE = "gee_bias_reduced"
POOLING_METHOD = "inverse_variance_fixed"
DIFFERENCE_COLUMNS = [
    "question", "code", "term", "n_cohorts", "cohorts", "n_participants", "estimate", "ci_low",
    "ci_high", "std_error", "p_value", "het_statistic", "het_df", "het_p", "het_i2", "method",
    "note"]
SYMMETRY_TOLERANCE = 1e-6  # |(high − estimate) − (estimate − low)| allowed, relative to the width


def compare_terms(compare: Sequence[Sequence[str]]) -> list[str]:
    """The compare pairs as models.csv names their terms: ``A - B``."""
    return [f"{a} - {b}" for a, b in compare]


def wald_std_error(estimate, low, high, confidence: float) -> float:
    """se from a Wald interval estimate ± z·se; NaN when undefined or not symmetric."""
    from scipy import stats

    if any(pd.isna(v) for v in (estimate, low, high)):
        return NAN
    estimate, low, high = float(estimate), float(low), float(high)
    width = high - low
    if width <= 0 or abs((high - estimate) - (estimate - low)) > SYMMETRY_TOLERANCE * max(width, 1e-12):
        return NAN
    return width / (2 * stats.norm.ppf(0.5 + confidence / 2))


def inverse_variance(estimates, std_errors, confidence: float = 0.95):
    """``(estimate, low, high, se, p)``: the fixed-effect inverse-variance pooled estimate."""
    from scipy import stats

    y, se = np.asarray(estimates, dtype=float), np.asarray(std_errors, dtype=float)
    w = 1 / se ** 2
    pooled = float((w * y).sum() / w.sum())
    pooled_se = float(1 / np.sqrt(w.sum()))
    half = stats.norm.ppf(0.5 + confidence / 2) * pooled_se
    p = float(2 * stats.norm.sf(abs(pooled) / pooled_se))
    return pooled, pooled - half, pooled + half, pooled_se, p


def cohort_std_errors(rows: pd.DataFrame, confidences: Mapping[str, float],
                      confidence: float = 0.95) -> np.ndarray:
    """Each row's se (:func:`wald_std_error` at its cohort's confidence); NaN where left out."""
    return np.array([wald_std_error(r.estimate, r.ci_low, r.ci_high,
                                    confidences.get(str(r.cohort), confidence))
                     for r in rows.itertuples()], dtype=float)


def inverse_variance_weights(std_errors) -> np.ndarray:
    """Each cohort's share of the weight, w_k / Σw (NaN for a cohort left out)."""
    se = np.asarray(std_errors, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(se > 0, 1 / se ** 2, np.nan)
    total = np.nansum(w)
    return w / total if total > 0 else np.full_like(w, np.nan)


def _pooled_row(key: tuple, group: pd.DataFrame, confidences: Mapping[str, float],
                confidence: float) -> dict:
    se = cohort_std_errors(group, confidences, confidence)
    use = ~np.isnan(se) & (se > 0)
    left_out = list(group["cohort"][~use])
    notes = [f"left out (no Wald interval of the difference): {', '.join(left_out)}"] if left_out else []
    row = dict(zip(["question", "code", "term"], key, strict=True),
               n_cohorts=int(use.sum()), cohorts="|".join(group["cohort"][use]),
               n_participants=int(pd.to_numeric(group["n_participants"][use], errors="coerce").sum()),
               method=POOLING_METHOD)
    if not use.any():
        notes.append("no cohort has an estimate of the difference to pool")
        return {**row, "estimate": NAN, "ci_low": NAN, "ci_high": NAN, "std_error": NAN,
                "p_value": NAN, "het_statistic": NAN, "het_df": NAN, "het_p": NAN, "het_i2": NAN,
                "note": "; ".join(notes)}
    y = group["estimate"].to_numpy(float)[use]
    estimate, low, high, pooled_se, p = inverse_variance(y, se[use], confidence)
    q, df, het_p, _, het_note = cochran_q(y, se[use] ** 2, list(group["cohort"][use]))
    notes.append(het_note.replace("risk-difference heterogeneity", "heterogeneity"))
    return {**row, "estimate": estimate, "ci_low": low, "ci_high": high, "std_error": pooled_se,
            "p_value": p, "het_statistic": q, "het_df": df, "het_p": het_p,
            "het_i2": i_squared(q, df), "note": "; ".join(n for n in notes if n)}


def pooled_differences(models: pd.DataFrame, *, compare: Sequence[Sequence[str]],
                       cohorts: Sequence[str], confidence: float = 0.95,
                       confidences: Mapping[str, float] | None = None) -> pd.DataFrame:
    """One row per question, code and compare term over the cohorts (``differences.csv``).

    ``confidences``: each cohort's own confidence level (its Wald intervals' z), default
    ``confidence``, which is also the pooled interval's level. Columns
    :data:`DIFFERENCE_COLUMNS`; cohorts in the order of ``cohorts``.
    """
    terms = compare_terms(compare)
    if models is None or models.empty or not terms:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    rows = models[(models["method"].astype(str) == GEE) & models["term"].astype(str).isin(terms)].copy()
    rank = {c: i for i, c in enumerate(cohorts)}
    rows = rows.assign(_rank=rows["cohort"].map(rank)).sort_values("_rank", kind="stable")
    for column in ("estimate", "ci_low", "ci_high"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    out = [_pooled_row(key, group.reset_index(drop=True), confidences or {}, confidence)
           for key, group in rows.groupby(["question", "code", "term"], sort=False)]
    return pd.DataFrame(out, columns=DIFFERENCE_COLUMNS)


# ---------------------------------------------------------------- the report's section

NO_COMPARE = N_("No difference of changes is configured (`study.compare` is empty), so the "
                "cohorts' changes are not compared with each other here.\n")
NO_MODELS = N_("The cohorts' difference-of-changes tables (`models.csv`) were not available to "
               "this report, so the difference of changes is not pooled.\n")
METHOD = N_("Each cohort tests the change across {contrast_a} minus the change over {contrast_b} "
            "twice: in its complete cases with the exact sign-flip test, and on all available "
            "data with a GEE (identity link, exchangeable working correlation, Mancl–DeRouen "
            "bias-reduced covariance). The cohorts' GEE estimates are pooled by inverse-variance "
            "weighting (fixed effect: D = Σ w~k~ D~k~ / Σ w~k~, w~k~ = 1 / se~k~², se~k~ from the "
            "cohort's Wald interval), with a Wald {conf} and p, and Cochran's Q and I² for "
            "heterogeneity.")
WHY_POOLING = N_("Each cohort keeps its own bias-reduced covariance, where its few participants "
                 "are, and the pooled value can be recomputed from the cohort rows shown; the "
                 "weights treat each cohort's standard error as known, which with few "
                 "participants makes the pooled interval somewhat too narrow. The complete-case "
                 "rows are shown per cohort but not pooled, because pooling them needs each "
                 "participant's difference, which the cohort tables do not hold.")
POOLED_RESULT = N_("*{code}* ({question}): pooled over {n_cohorts} cohorts, the change across "
                   "{contrast_a} minus the change over {contrast_b} was {estimate} ({conf} {low} to "
                   "{high}; p {p}); heterogeneity Q = {q} on {df} df, I² = {i2}.")
POOLED_ONE = N_("*{code}* ({question}): only {n_cohorts} cohort has an estimate of the difference, "
                "{estimate} ({conf} {low} to {high}; p {p}); there is nothing to pool.")
POOLED_NONE = N_("*{code}* ({question}): no cohort has an estimate of the difference to pool "
                 "({note}).")


def _estimate(row) -> str:
    if row is None:
        return DASH
    interval = fmt_ci(row["ci_low"], row["ci_high"])
    estimate = fmt_num(row["estimate"])
    return estimate if interval == DASH else f"{estimate} {interval}"


def _weights(models: pd.DataFrame, cohorts: Mapping, q: str, code: str, term: str,
             confidence: float) -> dict[str, float]:
    """Each cohort's share of the inverse-variance weight (NaN where it is left out)."""
    rows = models[(models["question"].astype(str) == q) & (models["code"].astype(str) == code)
                  & (models["term"].astype(str) == term) & (models["method"].astype(str) == GEE)
                  & models["cohort"].astype(str).isin(list(cohorts))]
    rows = rows.assign(**{c: pd.to_numeric(rows[c], errors="coerce")
                          for c in ("estimate", "ci_low", "ci_high")})
    confidences = {name: float((s.get("analysis") or {}).get("confidence", confidence))
                   for name, s in cohorts.items()}
    shares = inverse_variance_weights(cohort_std_errors(rows, confidences, confidence))
    return dict(zip(rows["cohort"].astype(str), shares, strict=True))


def _question_codes(models: pd.DataFrame, study: Mapping, q: str) -> list[str]:
    """A question's codes: the codebook's in its order, then any other the models hold."""
    codes = [c for c in study["questions"].get(q, {}).get("codes", [])]
    codes += [c for c in dict.fromkeys(models.loc[models["question"].astype(str) == q, "code"].astype(str))
              if c not in codes]
    return codes


def _cohort_rows(models: pd.DataFrame, cohorts: Mapping, label: str, weights: Mapping[str, float],
                 **where) -> list[list[str]]:
    """Per cohort with a row ``where`` (question, code, term): both estimates and its weight."""
    rows = []
    for name in cohorts:
        cc = select_row(models, cohort=name, **where, method="signflip")
        gee = select_row(models, cohort=name, **where, method=GEE)
        if cc is None and gee is None:
            continue
        rows.append([label, f"`{name}`", fmt_int(cc["n_participants"]) if cc is not None else DASH,
                     _estimate(cc), fmt_p(cc["p_value"]) if cc is not None else DASH,
                     fmt_int(gee["n_participants"]) if gee is not None else DASH,
                     _estimate(gee), fmt_p(gee["p_value"]) if gee is not None else DASH,
                     fmt_pct(weights.get(name, float("nan")), 0)])
    return rows


def _pooled_sentence(p, *, label: str, q: str, pair: Sequence[str], conf: str) -> str:
    """The pooled difference of a code in words (by how many cohorts have an estimate)."""
    a, b = pair
    values = dict(code=label, question=esc(q), contrast_a=esc(a), contrast_b=esc(b),
                  n_cohorts=fmt_int(p["n_cohorts"]), estimate=fmt_num(p["estimate"]),
                  conf=conf, low=fmt_num(p["ci_low"]), high=fmt_num(p["ci_high"]),
                  p=fmt_p_eq(p["p_value"]), q=fmt_num(p["het_statistic"]),
                  df=fmt_int(p["het_df"]), i2=fmt_pct(p["het_i2"], 0),
                  note=esc(note_text(p["note"])) if isinstance(p["note"], str) else "")
    n = int(p["n_cohorts"]) if p["n_cohorts"] == p["n_cohorts"] else 0
    return _(POOLED_RESULT if n >= 2 else POOLED_ONE if n == 1 else POOLED_NONE).format(**values)


def _question_md(models: pd.DataFrame, pooled: pd.DataFrame | None, q: str, *, study: Mapping,
                 cohorts: Mapping, pair: Sequence[str], term: str, confidence: float) -> list[str]:
    """One question's table (per code: the cohorts, then pooled) and the pooled results in
    words; nothing when no cohort has a row."""
    a, b = pair
    conf = _("{level} CI").format(level=f"{confidence:.0%}")
    rows, sentences = [], []
    for code in _question_codes(models, study, q):
        label = esc(study_code_label(study, q, code))
        weights = _weights(models, cohorts, q, code, term, confidence)
        rows += _cohort_rows(models, cohorts, label, weights, question=q, code=code, term=term)
        p = select_row(pooled, question=q, code=code, term=term)
        if p is None:
            continue
        rows.append([label, "**" + _("pooled") + "**", DASH, DASH, DASH, fmt_int(p["n_participants"]),
                     _estimate(p), fmt_p(p["p_value"]), DASH])
        sentences.append(_pooled_sentence(p, label=label, q=q, pair=pair, conf=conf))
    if not rows:
        return []
    return [md_table(
        [_("Code"), _("Cohort"), "n", _("Complete cases {conf}").format(conf=conf), "p", "n",
         _("All data {conf}").format(conf=conf), "p", _("Weight")], rows, align="llrrrrrrr",
        caption=_("{prompt}: {term} per cohort and pooled. Complete cases: sign-flip test; "
                  "all data: GEE; n: participants; Weight: share of the inverse-variance "
                  "weight.").format(prompt=esc(study['questions'].get(q, {}).get('prompt') or q),
                                    term=esc(term.replace(' - ', ' − '))),
        label=f"tbl-{slug('difference', q, a, b)}"),
        join_sentences(sentences) + "\n"]


def differences_md(tables: Mapping, *, study: Mapping, cohorts: Mapping, analysis: Mapping) -> str:
    """The section's Markdown (the template gives its heading)."""
    compare = [p for p in study.get("compare") or [] if all(c in study["contrasts"] for c in p)]
    if not compare:
        return _(NO_COMPARE)
    models, pooled = tables.get("models"), tables.get("differences")
    if models is None or models.empty:
        return _(NO_MODELS)
    confidence = float(analysis["confidence"])
    level = f"{confidence:.0%}"
    out = []
    for (a, b), term in zip(compare, compare_terms(compare), strict=True):
        out.append(join_sentences([
            _(METHOD).format(contrast_a=esc(a), contrast_b=esc(b),
                             conf=_("{level} interval").format(level=level)),
            _(WHY_POOLING)]) + "\n")
        for q in dict.fromkeys(models.loc[models["term"].astype(str) == term, "question"].astype(str)):
            out += _question_md(models, pooled, q, study=study, cohorts=cohorts, pair=(a, b),
                                term=term, confidence=confidence)
    return "\n".join(out)
