"""Multiplicity adjustment of a family of p-values: Holm, Bonferroni or none.

In ``tests.csv`` a family is the McNemar p-values of one cohort, question and code across
its contrasts (the clustered rows form their own family the same way); empty p-values are
left out of the family (:mod:`alliance_pipeline.change.paired_tests`).
"""
from __future__ import annotations

import numpy as np

P_ADJUST_METHODS = ("holm", "bonferroni", "none")


def adjust_pvalues(p_values, method: str = "holm") -> np.ndarray:
    """Holm or Bonferroni adjustment of one family of p-values.

    Parameters
    ----------
    p_values : array_like of float
        The family's p-values; NaN for an empty one.
    method : {"holm", "bonferroni", "none"}, default "holm"
        Adjustment (statsmodels ``multipletests``); ``none`` returns the input.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order; NaN stays NaN and is not counted in the family.

    Raises
    ------
    ValueError
        ``method`` is not one of :data:`P_ADJUST_METHODS`.

    Notes
    -----
    For m p-values sorted p_(1) ≤ … ≤ p_(m), Holm's step-down adjustment is
    p̃_(i) = min(1, max_{j ≤ i} (m − j + 1) p_(j)); Bonferroni's is min(1, m·p_i).

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.

    Examples
    --------
    Sorted 0.01, 0.03, 0.04 -> 3·0.01 = 0.03, 2·0.03 = 0.06, max(0.06, 1·0.04) = 0.06:

    >>> from alliance_pipeline.change.multiplicity import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03]).round(4).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bonferroni").round(4).tolist()
    [0.03, 0.12, 0.09]
    >>> adjust_pvalues([0.01, float("nan"), 0.04]).round(4).tolist()   # a family of 2
    [0.02, nan, 0.04]
    """
    from statsmodels.stats.multitest import multipletests

    if method not in P_ADJUST_METHODS:
        raise ValueError(f"p_adjust must be one of {', '.join(P_ADJUST_METHODS)}; got {method!r}")
    p = np.asarray(p_values, dtype=float)
    out = p.copy()
    ok = ~np.isnan(p)
    if method != "none" and ok.any():
        out[ok] = multipletests(p[ok], method=method)[1]
    return out
