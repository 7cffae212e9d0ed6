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
    """:func:`percent_agreement` of encoded coders x units data.

    Parameters
    ----------
    values : numpy.ndarray of int, shape (coders, units)
        Encoded data (:func:`.reliability_data.encode`), -1 missing.

    Returns
    -------
    float
        Share of the pairable units on which every coder agrees; NaN when none is pairable.

    Examples
    --------
    >>> import numpy as np
    >>> from alliance_pipeline.coding.coefficients import percent_agreement_encoded
    >>> round(percent_agreement_encoded(np.array([[1, 1, 0, -1], [1, 0, 0, 1]])), 4)
    0.6667
    """
    coded = values >= 0
    pairable = coded.sum(axis=0) >= 2
    if not pairable.any():
        return NAN
    v = values[:, pairable]
    high = v.max(axis=0)
    low = np.where(v >= 0, v, np.iinfo(np.int64).max).min(axis=0)
    return float(np.mean(high == low))


def percent_agreement(reliability_data) -> float:
    """Share of the units (coded by ≥ 2 coders) on which all coders who coded it agree.

    Parameters
    ----------
    reliability_data : array_like, shape (coders, units)
        NaN (or None) for a missing coding.

    Returns
    -------
    float
        NaN when no unit has two codings.

    Notes
    -----
    Not the mean pairwise agreement: a unit counts only when every coder who coded it gave
    the same value.

    Examples
    --------
    The last unit has one coding and is left out; the coders agree on 2 of the other 3:

    >>> import numpy as np
    >>> from alliance_pipeline.coding.coefficients import percent_agreement
    >>> round(percent_agreement([[1, 1, 0, np.nan], [1, 0, 0, 1]]), 4)
    0.6667
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
    """Cohen's unweighted kappa of two coders.

    Parameters
    ----------
    a, b : array_like, shape (units,)
        The two coders' ratings of the same units; NaN/None missing (such units are dropped).

    Returns
    -------
    float
        Kappa; NaN when undefined (no unit rated by both, or chance agreement 1).

    Notes
    -----
    From the confusion table of the units both rated, with p_o the observed agreement and
    p_e = Σ_k p_k. p_.k (products of the two coders' marginal shares),

        κ = (p_o − p_e) / (1 − p_e),

    computed by statsmodels' ``cohens_kappa``.

    References
    ----------
    .. [1] Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and
       Psychological Measurement, 20(1), 37-46. doi:10.1177/001316446002000104

    Examples
    --------
    Table: both 1 in 6 units, a only 2, b only 1, both 0 in 1. p_o = 0.7; a says 1 in 0.8, b
    in 0.7, so p_e = 0.8·0.7 + 0.2·0.3 = 0.62 and κ = 0.08 / 0.38:

    >>> from alliance_pipeline.coding.coefficients import cohen_kappa
    >>> a = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    >>> b = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0]
    >>> round(cohen_kappa(a, b), 4)
    0.2105
    """
    values, cats = encode(np.vstack([np.asarray(a, dtype=object), np.asarray(b, dtype=object)]))
    return cohen_kappa_encoded(values, len(cats))


def cohen_kappa_encoded(values: np.ndarray, n_categories: int) -> float:
    """:func:`cohen_kappa` of the two rows of encoded data.

    Parameters
    ----------
    values : numpy.ndarray of int, shape (2, units)
        Encoded data (:func:`.reliability_data.encode`), -1 missing.
    n_categories : int
        Number of categories (the confusion table is n_categories x n_categories).

    Returns
    -------
    float
        Kappa; NaN when undefined.

    References
    ----------
    .. [1] Cohen, J. (1960). Educational and Psychological Measurement, 20(1), 37-46.
       doi:10.1177/001316446002000104

    Examples
    --------
    The table of :func:`cohen_kappa`'s example:

    >>> import numpy as np
    >>> from alliance_pipeline.coding.coefficients import cohen_kappa_encoded
    >>> values = np.array([[1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0, 1, 0]])
    >>> round(cohen_kappa_encoded(values, 2), 4)
    0.2105
    """
    both = (values[0] >= 0) & (values[1] >= 0)
    if not both.any() or n_categories < 1:
        return NAN
    table = np.bincount(values[0, both] * n_categories + values[1, both],
                        minlength=n_categories * n_categories).reshape(n_categories,
                                                                       n_categories)
    return _cohen_from_table(table.astype(float))


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa from a units x categories table of rater counts.

    Parameters
    ----------
    counts : array_like, shape (units, categories)
        r_ik, raters who put unit i in category k; every unit rated by the same number r.

    Returns
    -------
    float
        Kappa; NaN when undefined (no units, fewer than 2 raters, or all ratings in one
        category).

    Raises
    ------
    ValueError
        The units were rated by different numbers of raters.

    Notes
    -----
    With N units, P_i = Σ_k r_ik (r_ik − 1) / (r (r − 1)), P̄ = mean P_i,
    p_k = Σ_i r_ik / (N r) and P_e = Σ_k p_k²,

        κ = (P̄ − P_e) / (1 − P_e),

    computed by statsmodels' ``fleiss_kappa(method="fleiss")``.

    References
    ----------
    .. [1] Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
       Psychological Bulletin, 76(5), 378-382. doi:10.1037/h0031619

    Examples
    --------
    Three raters, three units: P = (1, 1, 1/3), P̄ = 7/9; p = (5/9, 4/9), P_e = 41/81;
    κ = (63/81 − 41/81) / (40/81) = 22/40:

    >>> from alliance_pipeline.coding.coefficients import fleiss_kappa
    >>> round(fleiss_kappa([[3, 0], [0, 3], [2, 1]]), 4)
    0.55
    """
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


def coder_kappas(values: np.ndarray, n_categories: int) -> tuple[float, float, str]:
    """The kappa of a row of ``agreement.csv``: Cohen's (two coders) or Fleiss' (more), with a note.

    Parameters
    ----------
    values : numpy.ndarray of int, shape (coders, units)
        Encoded data (:func:`.reliability_data.encode`), -1 missing; two or more coders.
    n_categories : int
        Number of categories.

    Returns
    -------
    cohen : float
        :func:`cohen_kappa_encoded` with exactly two coders, else NaN.
    fleiss : float
        With three or more coders :func:`fleiss_kappa` on the units coded by all of them,
        else NaN.
    note : str
        Why Fleiss' kappa is undefined, or on how many of the pairable units it stands;
        ``""`` otherwise.

    Notes
    -----
    Cohen's κ = (p_o − p_e) / (1 − p_e); Fleiss' κ = (P̄ − P_e) / (1 − P_e) (see
    :func:`cohen_kappa` and :func:`fleiss_kappa`).

    References
    ----------
    .. [1] Cohen, J. (1960). Educational and Psychological Measurement, 20(1), 37-46.
       doi:10.1177/001316446002000104
    .. [2] Fleiss, J. L. (1971). Psychological Bulletin, 76(5), 378-382. doi:10.1037/h0031619

    Examples
    --------
    Three coders put three units in categories with counts (3, 0), (0, 3), (2, 1) (Fleiss'
    κ = 22/40, see :func:`fleiss_kappa`); a fourth unit coded by two of them is left out:

    >>> import numpy as np
    >>> from alliance_pipeline.coding.coefficients import coder_kappas
    >>> values = np.array([[0, 1, 0, 1], [0, 1, 0, 1], [0, 1, 1, -1]])
    >>> cohen, fleiss, note = coder_kappas(values, 2)
    >>> cohen, round(fleiss, 4), note
    (nan, 0.55, 'fleiss_kappa on the 3 of 4 responses coded by all coders')
    >>> round(coder_kappas(values[:2, :3], 2)[0], 4)   # two coders who agree: Cohen's kappa 1
    1.0
    """
    n_coders = values.shape[0]
    if n_coders == 2:
        return cohen_kappa_encoded(values, n_categories), NAN, ""
    complete = (values >= 0).all(axis=0)
    n_complete = int(complete.sum())
    if n_complete == 0:
        return NAN, NAN, f"fleiss_kappa undefined: no response coded by all {n_coders} coders"
    kappa = fleiss_kappa(value_counts(values[:, complete], n_categories))
    n_units = int(((values >= 0).sum(axis=0) >= 2).sum())
    if np.isnan(kappa):
        return NAN, kappa, ("fleiss_kappa undefined: no variation among the responses "
                            "coded by all coders")
    if n_complete < n_units:
        return NAN, kappa, (f"fleiss_kappa on the {n_complete} of {n_units} responses "
                            "coded by all coders")
    return NAN, kappa, ""


def gwet_ac1_from_counts(counts: np.ndarray, q: int) -> float:
    """:func:`gwet_ac1` from units x categories rater counts, q given.

    Parameters
    ----------
    counts : numpy.ndarray of int, shape (units, categories)
        r_ik (:func:`.reliability_data.value_counts`).
    q : int
        Number of categories.

    Returns
    -------
    float
        AC1; NaN when q < 2 or no unit is rated twice.

    References
    ----------
    .. [1] Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the
       presence of high agreement. British Journal of Mathematical and Statistical
       Psychology, 61(1), 29-48. doi:10.1348/000711006X126600

    Examples
    --------
    The data of :func:`gwet_ac1`'s example as counts:

    >>> import numpy as np
    >>> from alliance_pipeline.coding.coefficients import gwet_ac1_from_counts
    >>> counts = np.array([[0, 2]] * 6 + [[1, 1]] * 3 + [[2, 0]])
    >>> round(gwet_ac1_from_counts(counts, 2), 4)
    0.52
    """
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
    """Gwet's AC1 for any number of raters with missing ratings.

    Parameters
    ----------
    reliability_data : array_like, shape (coders, units)
        NaN/None missing.
    categories : sequence, optional
        The rating categories (q = their number); default the values observed. Give them
        when a category could have been used but was not, e.g. ``[0, 1]`` for presence.

    Returns
    -------
    float
        AC1; NaN when fewer than 2 categories or no unit rated twice. Defined (1.0) when
        every coder always gave the same value.

    Notes
    -----
    With r_ik the raters who put unit i in category k and r_i = Σ_k r_ik,

        p_a = mean over units with r_i ≥ 2 of Σ_k r_ik (r_ik − 1) / (r_i (r_i − 1)),
        π_k = mean over units with r_i ≥ 1 of r_ik / r_i,
        p_e = Σ_k π_k (1 − π_k) / (q − 1),   AC1 = (p_a − p_e) / (1 − p_e).

    References
    ----------
    .. [1] Gwet, K. L. (2008). British Journal of Mathematical and Statistical Psychology,
       61(1), 29-48. doi:10.1348/000711006X126600
    .. [2] Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed., ch. 4. Advanced
       Analytics.

    Examples
    --------
    The table of :func:`cohen_kappa`'s example: p_a = 0.7, π_1 = (8 + 7)/20 = 0.75,
    p_e = 2·0.75·0.25 = 0.375, AC1 = 0.325 / 0.625 (where kappa is 0.21):

    >>> from alliance_pipeline.coding.coefficients import gwet_ac1
    >>> a = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]
    >>> b = [1, 1, 1, 1, 1, 1, 0, 0, 1, 0]
    >>> round(gwet_ac1([a, b]), 4)
    0.52
    """
    values, cats = encode(reliability_data, categories)
    return gwet_ac1_from_counts(value_counts(values, len(cats)), len(cats))

