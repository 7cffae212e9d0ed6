"""Pooling the paired contrasts of several cohorts (the study report's tables).

Input: the cohorts' ``tests.csv`` rows stacked (the contract's columns; one cohort per
``cohort`` value). Only participant-level McNemar rows enter (``test = "mcnemar"``,
``method != "clustered"``): per cohort k, question, code and contrast, n_k pairs, b_k
(code at the first time point only) and c_k (at the second only). No file I/O here.

**Pooled test: Mantel–Haenszel for matched pairs, stratified by cohort.** Each pair is a
stratum of the Cochran–Mantel–Haenszel (CMH) statistic (two observations: the participant at
the first and at the second time point). A concordant pair has no variance and drops out; a
discordant pair contributes (±1/2) to the numerator and 1/4 to the variance, so over all pairs
of all cohorts

    X²_MH = (Σ_k (b_k − c_k))² / Σ_k (b_k + c_k),   1 df,

the stratified generalisation of McNemar's test (with a single cohort it *is* McNemar's
test; Mantel & Haenszel 1959; Agresti 2013, *Categorical Data Analysis*, 3rd ed., ch. 11,
McNemar's statistic as the CMH statistic over pair-strata). Pair-strata nest within cohorts,
so the test respects the pairing within every cohort and never compares participants across
cohorts. Under H0 and given the discordant counts m_k = b_k + c_k, c_k ~ Bin(m_k, 1/2)
independently, so Σc_k ~ Bin(Σm_k, 1/2): the exact (and mid-p) version is the binomial test
on the pooled discordant counts. The method follows the study's ``analysis.mcnemar`` settings
as for one cohort (``auto``: exact when Σm_k < exact_below), computed by
:func:`alliance_pipeline.change.mcnemar.mcnemar_test`; ``statistic`` is always X²_MH (with
``asymptotic_cc`` the continuity-corrected max(0, |Σb − Σc| − 1)² / Σm, Edwards' correction
never past zero, by :func:`alliance_pipeline.change.mcnemar.mcnemar_chi2`), ``df`` 1.

**Pooled paired odds ratio**: the Mantel–Haenszel estimator over the pair-strata,
OR_MH = Σ_k c_k / Σ_k b_k (each discordant pair adds 1/2 to its numerator or denominator),
with the exact conditional interval of the pooled discordant counts (Clopper–Pearson for
π = Σc / Σm mapped by π / (1 − π); valid under a common odds ratio), as
:func:`alliance_pipeline.change.effect_sizes.paired_odds_ratio` gives it for one cohort.

**Pooled risk difference: Mantel–Haenszel weighted** (weights n_k, i.e. the MH risk-difference
estimator over pair-strata, each pair weighing 1/2):

    RD_MH = Σ_k (c_k − b_k) / Σ_k n_k = Σ_k w_k RD_k,   w_k = n_k / N,  RD_k = (c_k − b_k) / n_k,

with a Wald interval from the cohort-stratified variance of a paired difference,
Var(RD_k) = [(b_k + c_k)/n_k − RD_k²] / n_k (Agresti 2013, sec. 11.1), so

    Var(RD_MH) = Σ_k w_k² Var(RD_k) = Σ_k [(b_k + c_k) − (c_k − b_k)²/n_k] / N².

MH weights stay defined when a cohort has no discordant pairs (an inverse-variance weight
would be infinite) and match the MH test above.

**Heterogeneity between cohorts**, two checks, each with I² = max(0, (Q − df) / Q)
(Higgins & Thompson 2002):

- odds-ratio scale (``het_or_*``): given m_k, c_k ~ Bin(m_k, π_k) and OR_k = π_k / (1 − π_k),
  so a common paired odds ratio means a common π. The Pearson χ² test of homogeneity of the
  K × 2 table of discordant pairs (b_k, c_k), Q = Σ_k (c_k − m_k π̂)² / (m_k π̂ (1 − π̂)),
  π̂ = Σc / Σm, df = K' − 1 over the K' cohorts with m_k > 0 — the matched-pairs counterpart of
  the Breslow–Day test (which has nothing to test within a single pair);
- risk-difference scale (``het_rd_*``): Cochran's Q over the cohorts' RD_k with inverse-variance
  weights 1/Var(RD_k), Q = Σ_k (RD_k − RD_IV)² / Var(RD_k), df = K' − 1 over the K' cohorts with
  Var(RD_k) > 0 (a cohort without variance is left out and named in the note).

Undefined values are NaN and the ``note`` says why (no discordant pairs, fewer than two
cohorts with information, all discordant pairs in one direction).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.change.effect_sizes import paired_odds_ratio
from alliance_pipeline.change.mcnemar import mcnemar_chi2, mcnemar_test, resolve_mcnemar_method
from alliance_pipeline.change.multiplicity import adjust_pvalues

NAN = float("nan")
KEYS = ["question", "code", "contrast"]
POOLED_COLUMNS = [
    "question", "code", "contrast", "timepoints", "n_cohorts", "cohorts", "n", "b", "c",
    "statistic", "df", "p_value", "p_adjusted", "method",
    "risk_difference", "rd_ci_low", "rd_ci_high", "rd_method",
    "odds_ratio", "or_ci_low", "or_ci_high", "or_method",
    "het_or_statistic", "het_or_df", "het_or_p", "het_or_i2",
    "het_rd_statistic", "het_rd_df", "het_rd_p", "het_rd_i2", "note"]
COHORT_COLUMNS = [
    "cohort", "question", "code", "contrast", "timepoints", "n", "b", "c", "risk_difference",
    "rd_ci_low", "rd_ci_high", "rd_variance", "mh_weight", "odds_ratio", "or_ci_low",
    "or_ci_high", "p_value", "p_adjusted", "method", "note"]
RD_METHOD = "mantel_haenszel_wald"
OR_METHOD = "mantel_haenszel_exact_conditional"


def contrast_rows(tests: pd.DataFrame, cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """The participant-level McNemar rows of stacked ``tests`` tables, cohorts in the given order.

    Rows keep their table order within a cohort (codebook order, contrasts in config order).
    """
    rows = tests[(tests["test"] == "mcnemar") & (tests["method"] != "clustered")].copy()
    for column in ("n", "b", "c"):
        rows[column] = pd.to_numeric(rows[column]).astype("int64")
    if cohorts is not None:
        unknown = sorted(set(rows["cohort"]) - set(cohorts))
        if unknown:
            raise ValueError(f"tests rows of cohorts not configured: {', '.join(unknown)}")
        rank = {c: i for i, c in enumerate(cohorts)}
        rows = rows.assign(_rank=rows["cohort"].map(rank)).sort_values("_rank", kind="stable")
        rows = rows.drop(columns="_rank")
    return rows.reset_index(drop=True)


def paired_rd_variance(n, b, c) -> np.ndarray:
    """Wald variance of a paired risk difference: [(b + c)/n − ((c − b)/n)²] / n; NaN where n = 0."""
    n, b, c = (np.asarray(v, dtype=float) for v in (n, b, c))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, ((b + c) / n - ((c - b) / n) ** 2) / n, np.nan)


def mh_risk_difference(n, b, c, confidence: float = 0.95):
    """``(rd, low, high)``: MH-weighted pooled paired risk difference with its Wald interval.

    RD_MH = Σ(c_k − b_k) / Σn_k; Var = Σ[(b_k + c_k) − (c_k − b_k)²/n_k] / N² over cohorts
    with n_k > 0. NaN throughout without pairs; NaN bounds when the variance is 0.
    """
    from scipy import stats

    n, b, c = (np.asarray(v, dtype=float) for v in (n, b, c))
    use = n > 0
    total = n[use].sum()
    if total == 0:
        return NAN, NAN, NAN
    rd = float((c[use] - b[use]).sum() / total)
    variance = float(((b[use] + c[use]) - (c[use] - b[use]) ** 2 / n[use]).sum() / total ** 2)
    if variance <= 0:
        return rd, NAN, NAN
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(variance)
    return rd, float(max(-1.0, rd - half)), float(min(1.0, rd + half))


def i_squared(q: float, df: float) -> float:
    """Higgins & Thompson (2002): max(0, (Q − df) / Q); 0 when Q = 0, NaN when Q is NaN."""
    if np.isnan(q):
        return NAN
    return 0.0 if q <= 0 else float(max(0.0, (q - df) / q))


def discordant_homogeneity(b, c):
    """``(Q, df, p, note)``: Pearson χ² homogeneity of c_k / (b_k + c_k) across cohorts.

    Cohorts without discordant pairs carry no information on the odds ratio and are left out.
    """
    from scipy import stats

    b, c = np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    m = b + c
    use = m > 0
    k = int(use.sum())
    if k < 2:
        return NAN, NAN, NAN, f"odds-ratio heterogeneity needs two cohorts with discordant pairs ({k})"
    pi = c[use].sum() / m[use].sum()
    if pi in (0.0, 1.0):
        return NAN, float(k - 1), NAN, ("odds-ratio heterogeneity undefined: every discordant pair "
                                        "changed in the same direction")
    q = float(((c[use] - m[use] * pi) ** 2 / (m[use] * pi * (1 - pi))).sum())
    return q, float(k - 1), float(stats.chi2.sf(q, k - 1)), ""


def cochran_q(estimates, variances, labels: Sequence[str] | None = None):
    """``(Q, df, p, pooled, note)``: Cochran's Q with inverse-variance weights.

    Estimates with a variance that is 0 or NaN are left out (named in the note). ``pooled`` is
    the inverse-variance (fixed-effect) estimate Σ w_k y_k / Σ w_k, w_k = 1 / v_k.
    """
    from scipy import stats

    y, v = np.asarray(estimates, dtype=float), np.asarray(variances, dtype=float)
    labels = list(labels) if labels is not None else [str(i) for i in range(len(y))]
    use = (v > 0) & ~np.isnan(v) & ~np.isnan(y)
    dropped = [lab for lab, u, yy in zip(labels, use, y, strict=True) if not u and not np.isnan(yy)]
    note = f"risk-difference Q leaves out {', '.join(dropped)} (no variance)" if dropped else ""
    k = int(use.sum())
    if k < 2:
        reason = f"risk-difference heterogeneity needs two cohorts with variance ({k})"
        return NAN, NAN, NAN, NAN, "; ".join(filter(None, [note, reason]))
    w = 1 / v[use]
    pooled = float((w * y[use]).sum() / w.sum())
    q = float((w * (y[use] - pooled) ** 2).sum())
    return q, float(k - 1), float(stats.chi2.sf(q, k - 1)), pooled, note


def cohort_table(tests: pd.DataFrame, cohorts: Sequence[str] | None = None) -> pd.DataFrame:
    """Per cohort, question, code and contrast: what enters the pooling (``cohorts.csv``).

    The cohort's own n, b, c, risk difference (Newcombe interval) and odds ratio from its
    ``tests.csv``, with the Wald variance of the paired difference and the MH weight n_k / N
    the pooled risk difference gives it.
    """
    rows = contrast_rows(tests, cohorts)
    totals = rows.groupby(KEYS, sort=False)["n"].transform("sum")
    out = rows.assign(rd_variance=paired_rd_variance(rows["n"], rows["b"], rows["c"]),
                      mh_weight=np.where(totals > 0, rows["n"] / totals.where(totals > 0, 1), np.nan))
    for column in COHORT_COLUMNS:
        if column not in out.columns:
            out[column] = NAN
    out["note"] = out["note"].fillna("").astype(str)
    return out[COHORT_COLUMNS].reset_index(drop=True)


def _pooled_row(key: tuple, group: pd.DataFrame, *, confidence: float, method: str,
                continuity: bool, exact_below: int) -> dict:
    n, b, c = group["n"].to_numpy(), group["b"].to_numpy(), group["c"].to_numpy()
    sum_b, sum_c = int(b.sum()), int(c.sum())
    m = sum_b + sum_c
    used = resolve_mcnemar_method(sum_b, sum_c, method, continuity, exact_below)
    notes = []
    statistic = p = NAN
    if int(n.sum()) < 2:
        notes.append(f"too few pairs ({int(n.sum())})")
    elif m == 0:
        notes.append("no discordant pairs in any cohort: no change to test")
    else:
        result = mcnemar_test(sum_b, sum_c, method=method, continuity=continuity,
                              exact_below=exact_below)
        p = result.p_value
        # X²_MH = (Σb − Σc)² / Σ(b + c); continuity-corrected only for asymptotic_cc
        statistic = mcnemar_chi2(sum_b, sum_c, continuity=(used == "asymptotic_cc"))
        if method == "auto":
            notes.append(f"auto: Σ(b + c) = {m} {'<' if m < exact_below else '>='} {exact_below}")
    rd, rd_low, rd_high = mh_risk_difference(n, b, c, confidence)
    if not np.isnan(rd) and np.isnan(rd_low):
        notes.append("risk-difference interval undefined (variance 0)")
    odds = or_low = or_high = NAN
    if m > 0:
        odds, or_low, or_high, or_note = paired_odds_ratio(sum_b, sum_c, confidence)
        notes.append(or_note.replace("b = 0", "Σb = 0").replace("c = 0", "Σc = 0"))
    het_or, het_or_df, het_or_p, or_het_note = discordant_homogeneity(b, c)
    rd_k = np.where(n > 0, (c - b) / np.where(n > 0, n, 1), np.nan)
    het_rd, het_rd_df, het_rd_p, _, rd_het_note = cochran_q(
        rd_k, paired_rd_variance(n, b, c), list(group["cohort"]))
    notes += [or_het_note, rd_het_note]
    return {
        **dict(zip(KEYS, key, strict=True)), "timepoints": group["timepoints"].iloc[0],
        "n_cohorts": int(len(group)), "cohorts": "|".join(group["cohort"]),
        "n": int(n.sum()), "b": sum_b, "c": sum_c, "statistic": statistic,
        "df": 1 if not np.isnan(statistic) else pd.NA, "p_value": p, "p_adjusted": NAN,
        "method": used, "risk_difference": rd, "rd_ci_low": rd_low, "rd_ci_high": rd_high,
        "rd_method": RD_METHOD, "odds_ratio": odds, "or_ci_low": or_low, "or_ci_high": or_high,
        "or_method": OR_METHOD if m > 0 else "",
        "het_or_statistic": het_or, "het_or_df": het_or_df, "het_or_p": het_or_p,
        "het_or_i2": i_squared(het_or, het_or_df),
        "het_rd_statistic": het_rd, "het_rd_df": het_rd_df, "het_rd_p": het_rd_p,
        "het_rd_i2": i_squared(het_rd, het_rd_df),
        "note": "; ".join(x for x in notes if x)}


def pooled_table(tests: pd.DataFrame, *, cohorts: Sequence[str] | None = None,
                 confidence: float = 0.95, p_adjust: str = "holm", mcnemar_method: str = "auto",
                 continuity: bool = False, exact_below: int = 25) -> pd.DataFrame:
    """One row per question, code and contrast over all cohorts (``pooled.csv``).

    Columns :data:`POOLED_COLUMNS`; see the module docstring for each statistic.
    ``p_adjusted``: the pooled p-values adjusted (Holm / Bonferroni / none) across the
    contrasts of the same question and code, as within one cohort.
    """
    rows = contrast_rows(tests, cohorts)
    out = [_pooled_row(key, group, confidence=confidence, method=mcnemar_method,
                       continuity=continuity, exact_below=exact_below)
           for key, group in rows.groupby(KEYS, sort=False)]
    frame = pd.DataFrame(out, columns=POOLED_COLUMNS)
    if frame.empty:
        return frame
    frame["p_adjusted"] = np.nan
    for _, index in frame.groupby(["question", "code"], sort=False).groups.items():
        frame.loc[index, "p_adjusted"] = adjust_pvalues(frame.loc[index, "p_value"].to_numpy(float),
                                                        p_adjust)
    frame["df"] = pd.array(frame["df"].tolist(), dtype="Int64")
    return frame.reset_index(drop=True)
