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
them needs each participant's d, which ``models.csv`` does not hold. No file I/O here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

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
