"""Agreement coefficients other than Krippendorff's alpha, for two or more coders.

All take coders x units data (:mod:`alliance_pipeline.coding.reliability_data`); the
``*_encoded`` / ``*_from_counts`` forms take it already encoded (as ``agreement_table``
does).
Agreement is over the units coded by at least two coders (the pairable units).

    percent_agreement  own code: share of the pairable units on which *all* coders who
                       coded the unit gave the same value (not mean pairwise agreement).
    cohen_kappa        Cohen (1960), statsmodels.stats.inter_rater.cohens_kappa, unweighted,
                       on the confusion table of the units both coders coded.
    fleiss_kappa       Fleiss (1971), statsmodels.stats.inter_rater.fleiss_kappa(
                       method="fleiss"), on a units x categories table of rater counts (every
                       unit rated by the same number of raters).
    gwet_ac1           own code, Gwet (2014, Handbook of Inter-Rater Reliability, 4th ed.,
                       ch. 4) for any number of raters with missing ratings: p_a over units
                       rated by >= 2 raters, pi_k over all units rated by >= 1 rater,
                       p_e = sum_k pi_k (1 - pi_k) / (q - 1), q = number of categories (2 for
                       a code row). Defined (1.0) when every coder always gave the same value.

Undefined values are NaN (0/0 when every value is the same, or no unit coded twice).
statsmodels is imported inside the functions using it (start-up).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alliance_pipeline.coding.reliability_data import NAN, encode, value_counts


def percent_agreement_encoded(values: np.ndarray) -> float:
    """:func:`percent_agreement` of encoded coders x units data (-1 missing)."""
    coded = values >= 0
    pairable = coded.sum(axis=0) >= 2
    if not pairable.any():
        return NAN
    v = values[:, pairable]
    high = v.max(axis=0)
    low = np.where(v >= 0, v, np.iinfo(np.int64).max).min(axis=0)
    return float(np.mean(high == low))


def percent_agreement(reliability_data) -> float:
    """Share of units (coded by >= 2 coders) on which all coders who coded it agree.

    ``reliability_data``: coders x units, NaN (or None) for a missing coding. NaN when no
    unit has two codings.
    """
    values, _ = encode(reliability_data)
    return percent_agreement_encoded(values)


def _cohen_from_table(table: np.ndarray) -> float:
    total = table.sum()
    if total == 0:
        return NAN
    p_e = float((table.sum(axis=1) / total) @ (table.sum(axis=0) / total))
    if p_e >= 1.0 - 1e-15:  # both coders used one and the same category: 0/0
        return NAN
    from statsmodels.stats import inter_rater  # imported where used: a slow import

    return float(inter_rater.cohens_kappa(table, return_results=False))


def cohen_kappa(a, b) -> float:
    """Cohen's (1960) unweighted kappa of two coders' ratings ``a`` and ``b`` (1-D, same
    units; NaN/None = missing, such units are dropped). statsmodels ``cohens_kappa`` on the
    confusion table. NaN when undefined (no unit rated by both, or chance agreement 1)."""
    values, cats = encode(np.vstack([np.asarray(a, dtype=object), np.asarray(b, dtype=object)]))
    return cohen_kappa_encoded(values, len(cats))


def cohen_kappa_encoded(values: np.ndarray, n_categories: int) -> float:
    """:func:`cohen_kappa` of the two rows of encoded data (-1 missing, ``n_categories``)."""
    both = (values[0] >= 0) & (values[1] >= 0)
    if not both.any() or n_categories < 1:
        return NAN
    table = np.bincount(values[0, both] * n_categories + values[1, both],
                        minlength=n_categories * n_categories).reshape(n_categories,
                                                                       n_categories)
    return _cohen_from_table(table.astype(float))


def fleiss_kappa(counts) -> float:
    """Fleiss' (1971) kappa from a units x categories table of rater counts (every unit rated
    by the same number of raters). statsmodels ``fleiss_kappa(method="fleiss")``. NaN when
    undefined (no units, fewer than 2 raters, or all ratings in one category)."""
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0:
        return NAN
    raters = table.sum(axis=1)
    if raters.max() < 2:
        return NAN
    if not np.all(raters == raters[0]):
        raise ValueError("fleiss_kappa needs the same number of raters for every unit")
    p_cat = table.sum(axis=0) / table.sum()
    if float(p_cat @ p_cat) >= 1.0 - 1e-15:
        return NAN
    from statsmodels.stats import inter_rater

    return float(inter_rater.fleiss_kappa(table, method="fleiss"))


def gwet_ac1_from_counts(counts: np.ndarray, q: int) -> float:
    """:func:`gwet_ac1` from units x categories rater counts (:func:`value_counts`), q given."""
    r = counts.sum(axis=1)
    rated = r >= 1
    pair = r >= 2
    if q < 2 or not pair.any():
        return NAN
    rp = r[pair].astype(float)
    cp = counts[pair].astype(float)
    p_a = float(np.mean((cp * (cp - 1)).sum(axis=1) / (rp * (rp - 1))))
    pi = (counts[rated] / r[rated, None]).mean(axis=0)
    p_e = float((pi * (1 - pi)).sum() / (q - 1))
    return (p_a - p_e) / (1 - p_e)


def gwet_ac1(reliability_data, categories: Sequence | None = None) -> float:
    """Gwet's AC1 for any number of raters with missing ratings (Gwet 2008; 2014, ch. 4).

    ``reliability_data``: coders x units, NaN/None missing. ``categories``: the rating
    categories (q = their number); default: the values observed (give them when some category
    could have been used but was not, e.g. ``[0, 1]`` for presence/absence).

    p_a = mean over units rated by >= 2 raters of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1));
    pi_k = mean over units rated by >= 1 rater of r_ik / r_i;
    p_e = sum_k pi_k (1 - pi_k) / (q - 1); AC1 = (p_a - p_e) / (1 - p_e).
    NaN when fewer than 2 categories or no unit rated twice.
    """
    values, cats = encode(reliability_data, categories)
    return gwet_ac1_from_counts(value_counts(values, len(cats)), len(cats))

