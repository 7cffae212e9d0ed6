"""Effect sizes of a paired change in a binary code: risk difference and paired odds ratio.

- :func:`newcombe_paired_rd`: p(second) − p(first) = (c − b) / n with Newcombe's (1998)
  method 10 hybrid score interval for paired data (``rd_ci_method = "newcombe10"``).
- :func:`cluster_rd`: the same over response pairs clustered in participants, (c − b) / n with
  a cluster-robust Wald interval from the ratio estimator (Obuchowski 1998, Stat Med
  17:1495; ``rd_ci_method = "wald_cluster"``).
- :func:`paired_odds_ratio`: c / b (paired, conditional odds ratio) with the exact
  conditional interval: the Clopper–Pearson interval (π_L, π_U) for π = c / (b + c) mapped by
  π / (1 − π) (``or_ci_method = "exact_conditional"``). b = 0: the ratio is infinite, so
  the ratio and its upper bound are NaN and only the lower bound is given; c = 0: the ratio
  and its lower bound are 0 and the upper bound is finite; b = c = 0: all NaN.

Cells: a = present at both time points, b = first only, c = second only, d = neither.
"""
from __future__ import annotations

import numpy as np

from alliance_pipeline.change.proportions import wilson_interval

NAN = float("nan")


def newcombe_paired_rd(a: int, b: int, c: int, d: int, confidence: float = 0.95):
    """Paired risk difference p(second) − p(first) with Newcombe's method 10 interval.

    Parameters
    ----------
    a, b, c, d : int
        Pairs with the code at both time points (a), the first only (b), the second only
        (c), neither (d).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        (risk difference, low, high); (NaN, NaN, NaN) when n = 0.

    Notes
    -----
    θ = p2 − p1 = (c − b) / n with p1 = (a + b)/n, p2 = (a + c)/n. Method 10 ("hybrid
    score", no continuity correction) combines the Wilson intervals (l1, u1) of p1 and
    (l2, u2) of p2 (:func:`~alliance_pipeline.change.proportions.wilson_interval`) with the
    estimated correlation φ:

        low  = θ − sqrt((p2 − l2)² − 2φ (p2 − l2)(u1 − p1) + (u1 − p1)²),
        high = θ + sqrt((u2 − p2)² − 2φ (u2 − p2)(p1 − l1) + (p1 − l1)²),

    φ = C / sqrt((a + b)(c + d)(a + c)(b + d)) with C = ad − bc − n/2 when ad − bc > n/2,
    0 when 0 ≤ ad − bc ≤ n/2, ad − bc when negative; φ = 0 when the denominator is 0.
    Bounds are clipped to [−1, 1].

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Improved confidence intervals for the difference between
       binomial proportions based on paired data. Statistics in Medicine, 17(22), 2635-2650.
    .. [2] Newcombe, R. G. (1998). Interval estimation for the difference between independent
       proportions: comparison of eleven methods. Statistics in Medicine, 17(8), 873-890.
       doi:10.1002/(SICI)1097-0258(19980430)17:8<873::AID-SIM779>3.0.CO;2-I

    Examples
    --------
    a = 5, b = 1, c = 7, d = 7 (n = 20): θ = 6/20 = 0.3; ad − bc = 28 > n/2 = 10, so
    φ = 18 / sqrt(6·14·12·8) = 0.2004; the Wilson intervals of 6/20 and 12/20 give:

    >>> from alliance_pipeline.change.effect_sizes import newcombe_paired_rd
    >>> rd, low, high = newcombe_paired_rd(5, 1, 7, 7)
    >>> round(rd, 4), round(low, 4), round(high, 4)
    (0.3, 0.0266, 0.5133)
    """
    a, b, c, d = (int(v) for v in (a, b, c, d))
    n = a + b + c + d
    if n == 0:
        return NAN, NAN, NAN
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, confidence)
    l2, u2 = wilson_interval(a + c, n, confidence)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    cross = a * d - b * c
    if denominator == 0:
        phi = 0.0
    else:
        shrunk = cross - n / 2 if cross > n / 2 else (0.0 if cross >= 0 else cross)
        phi = shrunk / np.sqrt(float(denominator))
    theta = p2 - p1
    lower = theta - np.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    upper = theta + np.sqrt(max(0.0, (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2))
    return float(theta), float(max(-1.0, lower)), float(min(1.0, upper))


def cluster_rd(b_k, c_k, m_k, confidence: float = 0.95):
    """Risk difference over pairs clustered in participants, with a cluster-robust Wald interval.

    Parameters
    ----------
    b_k, c_k : array_like of int
        Per cluster: pairs with the code at the first time point only (b_k), the second
        only (c_k).
    m_k : array_like of int
        Pairs per cluster.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        (risk difference, low, high): NaN bounds with fewer than two clusters or zero
        variance, NaN throughout when there are no pairs.

    Notes
    -----
    With d_k = c_k − b_k and K clusters, the ratio estimator and its variance are

        RD = Σ d_k / Σ m_k,   var = K/(K − 1) · Σ (d_k − RD·m_k)² / (Σ m_k)²,

    and the interval RD ± z_{(1 + confidence)/2} sqrt(var), clipped to [−1, 1].

    References
    ----------
    .. [1] Obuchowski, N. A. (1998). On the comparison of correlated proportions for clustered
       data. Statistics in Medicine, 17(13), 1495-1507.

    Examples
    --------
    d = (0, 2, 1), m = (2, 2, 1): RD = 3/5; residuals (−1.2, 0.8, 0.4) give
    var = 1.5 · 2.24 / 25 = 0.1344, so RD ± 1.96 · 0.3666, the upper bound clipped to 1:

    >>> from alliance_pipeline.change.effect_sizes import cluster_rd
    >>> rd, low, high = cluster_rd([1, 0, 0], [1, 2, 1], [2, 2, 1])
    >>> round(rd, 4), round(low, 4), high
    (0.6, -0.1185, 1.0)
    """
    from scipy import stats

    b_k, c_k, m_k = (np.asarray(v, dtype=float) for v in (b_k, c_k, m_k))
    total = m_k.sum()
    if total == 0:
        return NAN, NAN, NAN
    d_k = c_k - b_k
    rd = float(d_k.sum() / total)
    k = len(m_k)
    if k < 2:
        return rd, NAN, NAN
    variance = k / (k - 1) * float(((d_k - rd * m_k) ** 2).sum()) / total ** 2
    if variance == 0:
        return rd, NAN, NAN
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt(variance)
    return rd, float(max(-1.0, rd - half)), float(min(1.0, rd + half))


def paired_odds_ratio(b: int, c: int, confidence: float = 0.95):
    """Paired (conditional) odds ratio c / b with its exact conditional interval.

    Parameters
    ----------
    b, c : int
        Pairs with the code at the first time point only (b) and the second only (c).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple
        ``(odds_ratio, low, high, note)``. b = 0: ratio and upper bound NaN (infinite),
        lower bound given; c = 0: ratio and lower bound 0; b = c = 0: all NaN; ``note``
        says which.

    Notes
    -----
    Conditional on the b + c discordant pairs, c ~ Bin(b + c, π) with OR = π / (1 − π). The
    Clopper–Pearson interval (π_L, π_U) of π (``proportion_confint(method="beta")``),
    π_L = Beta_{α/2}(c, b + 1) and π_U = Beta_{1−α/2}(c + 1, b), mapped by π / (1 − π) is
    the interval of OR.

    References
    ----------
    .. [1] Breslow, N. E. & Day, N. E. (1980). Statistical Methods in Cancer Research, Vol. 1:
       The Analysis of Case-Control Studies. IARC.
    .. [2] Agresti, A. (2013). Categorical Data Analysis, 3rd ed., section 11.1. Wiley.

    Examples
    --------
    b = 2, c = 8: OR = 4; π_L = Beta_{0.025}(8, 3) = 0.4439 and π_U = Beta_{0.975}(9, 2) =
    0.9748 give 0.4439/0.5561 and 0.9748/0.0252:

    >>> from alliance_pipeline.change.effect_sizes import paired_odds_ratio
    >>> odds, low, high, note = paired_odds_ratio(2, 8)
    >>> odds, round(low, 4), round(high, 2), note
    (4.0, 0.7983, 38.67, '')
    >>> paired_odds_ratio(0, 3)[3]
    'b = 0: odds ratio infinite, only its lower bound is given'
    """
    from statsmodels.stats.proportion import proportion_confint

    b, c = int(b), int(c)
    if b + c == 0:
        return NAN, NAN, NAN, "odds ratio undefined (b = c = 0)"
    low_p, high_p = proportion_confint(c, b + c, alpha=1 - confidence, method="beta")
    low_p = 0.0 if c == 0 else float(low_p)
    high_p = 1.0 if b == 0 else float(high_p)
    low = low_p / (1 - low_p)
    high = NAN if b == 0 else high_p / (1 - high_p)
    if b == 0:
        return NAN, float(low), NAN, "b = 0: odds ratio infinite, only its lower bound is given"
    if c == 0:
        return 0.0, 0.0, float(high), "c = 0: odds ratio 0"
    return c / b, float(low), float(high), ""
