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
    """Risk difference p(second) − p(first) = (c − b) / n with Newcombe's method 10 interval.

    Cells: a = present at both, b = first only, c = second only, d = neither. Newcombe
    (1998, Stat Med 17:2635), method 10 ("hybrid score", no continuity correction): Wilson
    intervals (l1, u1) for p1 = (a + b)/n and (l2, u2) for p2 = (a + c)/n are combined with
    the estimated correlation φ; for θ = p2 − p1 the interval is
    θ − sqrt((p2−l2)² − 2φ(p2−l2)(u1−p1) + (u1−p1)²),
    θ + sqrt((u2−p2)² − 2φ(u2−p2)(p1−l1) + (p1−l1)²).
    φ = C / sqrt((a+b)(c+d)(a+c)(b+d)), with C = ad − bc − n/2 when ad − bc > n/2, 0 when
    0 ≤ ad − bc ≤ n/2 and ad − bc when negative (Newcombe 1998; Newcombe & Altman in
    *Statistics with Confidence*, 2000); φ = 0 when the denominator is 0. Bounds are
    clipped to [−1, 1]. Returns (NaN, NaN, NaN) when n = 0.
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
    """Risk difference over clustered pairs with a cluster-robust Wald interval.

    RD = Σ(c_k − b_k) / Σm_k (m_k pairs in cluster k); variance of the ratio estimator
    K/(K−1) · Σ(d_k − RD·m_k)² / (Σm_k)² with d_k = c_k − b_k and K clusters (Obuchowski
    1998). Interval RD ± z·sqrt(var), clipped to [−1, 1]; NaN bounds when K < 2 and NaN
    throughout when there are no pairs.
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
    """Paired odds ratio c / b with its exact conditional interval, and a note.

    Conditional on the b + c discordant pairs, c ~ Bin(b + c, π) with OR = π / (1 − π);
    the Clopper–Pearson interval for π (``proportion_confint(method="beta")``) mapped by
    π / (1 − π) gives the interval (Breslow & Day 1980; Agresti 2013, sec. 11.1). Returns
    ``(odds_ratio, low, high, note)``; infinite values are NaN (see module docstring).
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
