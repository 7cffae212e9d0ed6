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
    """The McNemar variant :func:`mcnemar_test` uses for the discordant counts b and c.

    Parameters
    ----------
    b, c : int
        Pairs with the code at the first time point only (b) and at the second only (c).
    method : {"auto", "exact", "midp", "asymptotic"}
        The configured method (``analysis.mcnemar.method``).
    continuity : bool
        Use Edwards' continuity correction with the asymptotic test.
    exact_below : int
        ``auto`` takes the exact test when b + c < ``exact_below``.

    Returns
    -------
    str
        ``"exact"``, ``"midp"``, ``"asymptotic"`` or ``"asymptotic_cc"``.

    Raises
    ------
    ValueError
        ``method`` is not one of :data:`MCNEMAR_METHODS`.

    Notes
    -----
    ``auto`` -> ``exact`` when b + c < ``exact_below``, else ``asymptotic``; ``asymptotic``
    becomes ``asymptotic_cc`` when ``continuity`` is true.

    Examples
    --------
    >>> from alliance_pipeline.change.mcnemar import resolve_mcnemar_method
    >>> resolve_mcnemar_method(1, 7)
    'exact'
    >>> resolve_mcnemar_method(20, 10)
    'asymptotic'
    >>> resolve_mcnemar_method(20, 10, continuity=True)
    'asymptotic_cc'
    """
    if method not in MCNEMAR_METHODS:
        raise ValueError(f"mcnemar method must be one of {', '.join(MCNEMAR_METHODS)}; got {method!r}")
    if method == "auto":
        method = "exact" if b + c < exact_below else "asymptotic"
    if method == "asymptotic" and continuity:
        method = "asymptotic_cc"
    return method


def mcnemar_test(b: int, c: int, *, method: str = "auto", continuity: bool = False,
                 exact_below: int = 25) -> TestResult:
    """McNemar's test of a paired binary code from its discordant counts.

    Parameters
    ----------
    b : int
        Pairs with the code at the first time point only.
    c : int
        Pairs with the code at the second time point only.
    method : {"auto", "exact", "midp", "asymptotic"}, default "auto"
        See :func:`resolve_mcnemar_method`.
    continuity : bool, default False
        Edwards' continuity correction for the asymptotic test.
    exact_below : int, default 25
        ``auto`` uses the exact test when b + c < ``exact_below``.

    Returns
    -------
    TestResult
        ``statistic``: X² (asymptotic variants) or min(b, c) (exact, midp); ``df``: 1 for the
        asymptotic variants, NaN otherwise; ``p_value``; ``method``: the variant used. Statistic
        and p are NaN when b + c = 0 (nothing to test).

    Notes
    -----
    Only the discordant pairs enter (McNemar 1947). With X ~ Bin(b + c, 1/2):

    - exact: p = min(1, 2·P(X ≤ min(b, c)));
    - midp: p = exact p − P(X = min(b, c)) (Fagerland, Lydersen & Laake 2013);
    - asymptotic: X² = (b − c)² / (b + c), p from chi-square with 1 df;
    - asymptotic_cc: X² = max(0, |b − c| − 1)² / (b + c) (Edwards 1948; see
      :func:`mcnemar_chi2`).

    The exact p comes from statsmodels' ``mcnemar(exact=True)``, the chi-square p from scipy.

    References
    ----------
    .. [1] McNemar, Q. (1947). Note on the sampling error of the difference between
       correlated proportions or percentages. Psychometrika, 12(2), 153-157.
       doi:10.1007/BF02295996
    .. [2] Edwards, A. L. (1948). Note on the "correction for continuity" in testing the
       significance of the difference between correlated proportions. Psychometrika, 13,
       185-187.
    .. [3] Fagerland, M. W., Lydersen, S. & Laake, P. (2013). The McNemar test for binary
       matched-pairs data: mid-p and asymptotic are better than exact conditional. BMC
       Medical Research Methodology, 13, 91. doi:10.1186/1471-2288-13-91

    Examples
    --------
    b = 1, c = 7: the exact p is 2·P(X ≤ 1 | n = 8, p = 1/2) = 2·9/256 = 0.0703125 and the
    mid-p subtracts P(X = 1) = 8/256:

    >>> from alliance_pipeline.change.mcnemar import mcnemar_test
    >>> result = mcnemar_test(1, 7)
    >>> result.method, result.statistic, result.p_value
    ('exact', 1.0, 0.0703125)
    >>> round(mcnemar_test(1, 7, method="midp").p_value, 7)
    0.0390625

    Asymptotic: X² = (1 − 7)² / 8 = 4.5; with the correction (6 − 1)² / 8 = 3.125:

    >>> result = mcnemar_test(1, 7, method="asymptotic")
    >>> result.statistic, result.df, round(result.p_value, 4)
    (4.5, 1.0, 0.0339)
    >>> result = mcnemar_test(1, 7, method="asymptotic", continuity=True)
    >>> result.method, result.statistic, round(result.p_value, 4)
    ('asymptotic_cc', 3.125, 0.0771)
    >>> mcnemar_test(0, 0)
    TestResult(statistic=nan, df=nan, p_value=nan, method='exact')
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
    """McNemar's chi-square statistic from the discordant counts.

    Parameters
    ----------
    b, c : int
        Discordant counts: code at the first time point only (b), at the second only (c);
        may be sums over strata (the pooled Mantel–Haenszel statistic).
    continuity : bool, default False
        Apply Edwards' (1948) continuity correction.

    Returns
    -------
    float
        X²; NaN when b + c = 0.

    Notes
    -----
        X² = max(0, |b − c| − s)² / (b + c)

    with s = 1 (corrected) or s = 0. The correction moves |b − c| one step toward zero but
    never past it, so b = c gives X² = 0 (p = 1) as R's ``mcnemar.test`` does (statsmodels'
    ``mcnemar(correction=True)`` gives 1 / (b + c) there). The one place a continuity
    correction is applied in the package.

    References
    ----------
    .. [1] McNemar, Q. (1947). Psychometrika, 12(2), 153-157. doi:10.1007/BF02295996
    .. [2] Edwards, A. L. (1948). Psychometrika, 13, 185-187.

    Examples
    --------
    >>> from alliance_pipeline.change.mcnemar import mcnemar_chi2
    >>> mcnemar_chi2(1, 7)                       # (1 - 7)² / 8
    4.5
    >>> mcnemar_chi2(1, 7, continuity=True)      # (6 - 1)² / 8
    3.125
    >>> mcnemar_chi2(3, 3, continuity=True)      # clipped at 0, not (0 - 1)² / 6
    0.0
    """
    b, c = int(b), int(c)
    if b + c == 0:
        return NAN
    shift = 1 if continuity else 0
    return float(max(0, abs(b - c) - shift) ** 2 / (b + c))


def clustered_mcnemar_test(b_k, c_k) -> TestResult:
    """Clustered McNemar test of Durkalski, Palesch, Lipsitz & Rust (2003).

    Parameters
    ----------
    b_k, c_k : array_like of int
        Per cluster (participant): pairs with the code at the first time point only (b_k)
        and at the second only (c_k).

    Returns
    -------
    TestResult
        ``statistic`` X², ``df`` 1, ``p_value`` from chi-square with 1 df, ``method``
        ``"clustered"``. Statistic and p are NaN when every b_k = c_k (0/0).

    Notes
    -----
    With d_k = b_k − c_k,

        X² = (Σ_k d_k)² / Σ_k d_k²

    With one pair per cluster, d_k² = |d_k| and the statistic is McNemar's (b − c)² / (b + c).

    References
    ----------
    .. [1] Durkalski, V. L., Palesch, Y. Y., Lipsitz, S. R. & Rust, P. F. (2003). Analysis of
       clustered matched-pair data. Statistics in Medicine, 22(15), 2417-2428.

    Examples
    --------
    d = (1, −1, 2): X² = 2² / (1 + 1 + 4) = 2/3:

    >>> from alliance_pipeline.change.mcnemar import clustered_mcnemar_test
    >>> result = clustered_mcnemar_test([1, 0, 2], [0, 1, 0])
    >>> round(result.statistic, 4), result.df, round(result.p_value, 4)
    (0.6667, 1.0, 0.4142)

    One pair per participant gives McNemar's X², here (1 − 7)² / 8 = 4.5:

    >>> clustered_mcnemar_test([1] + [0] * 7, [0] + [1] * 7).statistic
    4.5
    """
    from scipy import stats

    d = np.asarray(b_k, dtype=float) - np.asarray(c_k, dtype=float)
    denominator = float((d ** 2).sum())
    if denominator == 0:
        return TestResult(NAN, 1.0, NAN, "clustered")
    statistic = float(d.sum() ** 2 / denominator)
    return TestResult(statistic, 1.0, float(stats.chi2.sf(statistic, 1)), "clustered")
