"""McNemar's test of paired binary codes: asymptotic (with or without continuity
correction), exact, mid-p, and the clustered test of Durkalski et al. (2003).

From the discordant counts b (code at the first time point only) and c (at the second only):

- ``asymptotic``: X² = (b − c)² / (b + c), chi-square with 1 df;
- ``asymptotic_cc``: X² = max(0, |b − c| − 1)² / (b + c) (Edwards 1948: the correction never
  moves |b − c| past zero, so b = c gives 0 and p = 1, as R's ``mcnemar.test``; statsmodels'
  ``correction=True`` does not clip and is not used), chi-square with 1 df;
- ``exact``: statistic min(b, c), no df; p = min(1, 2·P(X ≤ min(b, c))) with
  X ~ Bin(b + c, 1/2);
- ``midp``: statistic min(b, c), no df; p = exact − P(X = min(b, c)) (Fagerland, Lydersen &
  Laake 2013, BMC Med Res Methodol 13:91);
- ``auto`` picks exact when b + c < ``exact_below``, else asymptotic (asymptotic_cc with
  ``continuity``);
- ``clustered``: several response pairs per participant (items), participants as clusters:
  Durkalski's X² = (Σ(b_k − c_k))² / Σ(b_k − c_k)², chi-square with 1 df.

Undefined values are NaN, never 0 or 1: no discordant pairs (b + c = 0) leaves statistic
and p empty. :class:`TestResult` is the result type of every test of the change step
(Cochran's Q too, :mod:`alliance_pipeline.change.cochran_q`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MCNEMAR_METHODS = ("auto", "exact", "midp", "asymptotic")
NAN = float("nan")


@dataclass(frozen=True)
class TestResult:
    """One test's statistic, degrees of freedom (NaN when none), p-value and method used."""

    __test__ = False  # not a pytest test class

    statistic: float
    df: float
    p_value: float
    method: str


def resolve_mcnemar_method(b: int, c: int, method: str = "auto", continuity: bool = False,
                           exact_below: int = 25) -> str:
    """The McNemar variant used: ``auto`` -> exact when b + c < exact_below, else asymptotic;
    asymptotic becomes ``asymptotic_cc`` when ``continuity`` is true."""
    if method not in MCNEMAR_METHODS:
        raise ValueError(f"mcnemar method must be one of {', '.join(MCNEMAR_METHODS)}; got {method!r}")
    if method == "auto":
        method = "exact" if b + c < exact_below else "asymptotic"
    if method == "asymptotic" and continuity:
        method = "asymptotic_cc"
    return method


def mcnemar_test(b: int, c: int, *, method: str = "auto", continuity: bool = False,
                 exact_below: int = 25) -> TestResult:
    """McNemar's test from the discordant counts b (first only) and c (second only).

    Returns NaN statistic and p when b + c = 0 (nothing to test). See the module docstring
    for what ``statistic`` holds per method.
    """
    from scipy import stats  # scipy and statsmodels are imported where used (start-up)
    from statsmodels.stats.contingency_tables import mcnemar

    b, c = int(b), int(c)
    used = resolve_mcnemar_method(b, c, method, continuity, exact_below)
    if b + c == 0:
        return TestResult(NAN, NAN, NAN, used)
    table = [[0, b], [c, 0]]  # only the discordant cells enter any McNemar statistic
    if used in ("exact", "midp"):
        result = mcnemar(table, exact=True)
        p = float(result.pvalue)
        if used == "midp":
            p = float(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)
                          - stats.binom.pmf(min(b, c), b + c, 0.5)))
        return TestResult(float(result.statistic), NAN, p, used)
    statistic = mcnemar_chi2(b, c, continuity=(used == "asymptotic_cc"))
    return TestResult(statistic, 1.0, float(stats.chi2.sf(statistic, 1)), used)


def mcnemar_chi2(b, c, continuity: bool = False) -> float:
    """McNemar's chi-square from the discordant counts, optionally continuity-corrected.

    X² = (|b − c| − s)² / (b + c) with Edwards' (1948) correction s = 1, moving |b − c| one
    step toward zero but never past it: X² = max(0, |b − c| − 1)² / (b + c), so b = c gives
    X² = 0 (p = 1) as R's ``mcnemar.test`` does (statsmodels' ``mcnemar(correction=True)``
    gives 1 / (b + c) there). Without correction (s = 0) it is (b − c)² / (b + c); b and c
    may be summed over strata (the pooled Mantel–Haenszel statistic). NaN when b + c = 0.
    The one place a continuity correction is applied in the package.
    """
    b, c = int(b), int(c)
    if b + c == 0:
        return NAN
    shift = 1 if continuity else 0
    return float(max(0, abs(b - c) - shift) ** 2 / (b + c))


def clustered_mcnemar_test(b_k, c_k) -> TestResult:
    """Durkalski, Palesch, Lipsitz & Rust (2003, Stat Med 22:2417) clustered McNemar test.

    ``b_k``, ``c_k``: per cluster (participant) the number of pairs with the code at the
    first time point only / the second only. X² = (Σ(b_k − c_k))² / Σ(b_k − c_k)²,
    chi-square with 1 df. With one pair per cluster it is McNemar's (b − c)² / (b + c).
    NaN when every b_k = c_k (0/0).
    """
    from scipy import stats

    d = np.asarray(b_k, dtype=float) - np.asarray(c_k, dtype=float)
    denominator = float((d ** 2).sum())
    if denominator == 0:
        return TestResult(NAN, 1.0, NAN, "clustered")
    statistic = float(d.sum() ** 2 / denominator)
    return TestResult(statistic, 1.0, float(stats.chi2.sf(statistic, 1)), "clustered")
