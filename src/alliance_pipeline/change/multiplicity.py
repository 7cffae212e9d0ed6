"""Multiplicity adjustment of a family of p-values: Holm, Bonferroni or none.

In ``tests.csv`` a family is the McNemar p-values of one cohort, question and code across
its contrasts (the clustered rows form their own family the same way); empty p-values are
left out of the family (:mod:`alliance_pipeline.change.paired_tests`).
"""
from __future__ import annotations

import numpy as np

P_ADJUST_METHODS = ("holm", "bonferroni", "none")


def adjust_pvalues(p_values, method: str = "holm") -> np.ndarray:
    """Holm / Bonferroni adjustment of one family (statsmodels ``multipletests``).

    NaN p-values stay NaN and are not counted in the family; ``none`` returns the input.
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
