"""Krippendorff's alpha: nominal, and with any distance (MASI for code sets), as sums of parts.

    alpha = 1 - D_o / D_e from the coincidence matrix and a distance matrix (Krippendorff
    2011, Computing Krippendorff's Alpha-Reliability). Two paths:
    - :func:`krippendorff_alpha_nominal`: nominal alpha of coders x units data via
      ``krippendorff.alpha(level_of_measurement="nominal")`` (the krippendorff package); the
      code rows of ``agreement.csv``.
    - :func:`alpha_with_distance`: own implementation of the general alpha, for a V x V
      distance matrix (:func:`nominal_distance`, or :func:`masi_distance_matrix` for code
      sets, Passonneau 2006); the ``*`` rows. Own code because the package materialises a
      units x values x values array. Tests check both paths against the package and
      Krippendorff's published examples.
    The own implementation decomposes alpha over units (:class:`AlphaParts`): units with the
    same multiset of values contribute identically, so alpha of any resample of the units is
    a ratio of sums over patterns (:func:`alpha_from_weights`), which makes the bootstrap of
    :mod:`alliance_pipeline.coding.agreement` fast.

Undefined alpha (no pairable unit, or no variation: 0/0) is NaN. scipy.sparse and
krippendorff are imported inside the functions using them (start-up).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scipy and krippendorff are imported where used (start-up)
    import scipy.sparse

from alliance_pipeline.coding.reliability_data import NAN, encode, index_data

# ------------------------------------------------------------------------ distances

def nominal_distance(n_categories: int) -> np.ndarray:
    """Nominal distance matrix: 0 on the diagonal, 1 elsewhere.

    Parameters
    ----------
    n_categories : int
        Number of categories V.

    Returns
    -------
    numpy.ndarray, shape (V, V)

    Examples
    --------
    >>> from alliance_pipeline.coding.krippendorff_alpha import nominal_distance
    >>> nominal_distance(3).tolist()
    [[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
    """
    return 1.0 - np.eye(n_categories)


def masi_distance(set_a, set_b) -> float:
    """MASI distance between two code sets.

    Parameters
    ----------
    set_a, set_b : iterable
        The two code sets.

    Returns
    -------
    float
        1 − J·M; 0 for identical sets (two empty sets included).

    Notes
    -----
    J = |A ∩ B| / |A ∪ B| (Jaccard) and M = 1 when the sets are identical, 2/3 when one is a
    subset of the other, 1/3 when they overlap otherwise, 0 when disjoint.

    References
    ----------
    .. [1] Passonneau, R. (2006). Measuring agreement on set-valued items (MASI) for semantic
       and pragmatic annotation. Proceedings of LREC 2006.

    Examples
    --------
    >>> from alliance_pipeline.coding.krippendorff_alpha import masi_distance
    >>> round(masi_distance({"a", "b"}, {"a"}), 4)          # 1 − (1/2)(2/3)
    0.6667
    >>> round(masi_distance({"a", "b"}, {"b", "c"}), 4)     # 1 − (1/3)(1/3)
    0.8889
    >>> masi_distance({"a"}, {"b"}), masi_distance(set(), set())
    (1.0, 0.0)
    """
    a, b = frozenset(set_a), frozenset(set_b)
    if a == b:
        return 0.0
    inter = len(a & b)
    jaccard = inter / len(a | b)
    if a <= b or b <= a:
        monotonicity = 2 / 3
    elif inter:
        monotonicity = 1 / 3
    else:
        monotonicity = 0.0
    return 1.0 - jaccard * monotonicity


def masi_distance_matrix(membership: np.ndarray) -> np.ndarray:
    """MASI distances between code sets given as a sets x codes membership matrix.

    Parameters
    ----------
    membership : array_like of int, shape (sets, codes)
        1 where the set holds the code.

    Returns
    -------
    numpy.ndarray, shape (sets, sets)
        :func:`masi_distance` of every pair of sets (vectorised).

    References
    ----------
    .. [1] Passonneau, R. (2006). Proceedings of LREC 2006.

    Examples
    --------
    Sets {a, b}, {a} and {b, c} (see :func:`masi_distance`):

    >>> from alliance_pipeline.coding.krippendorff_alpha import masi_distance_matrix
    >>> masi_distance_matrix([[1, 1, 0], [1, 0, 0], [0, 1, 1]]).round(4).tolist()
    [[0.0, 0.6667, 0.8889], [0.6667, 0.0, 1.0], [0.8889, 1.0, 0.0]]
    """
    m = np.asarray(membership, dtype=np.int64)
    size = m.sum(axis=1)
    inter = m @ m.T
    union = size[:, None] + size[None, :] - inter
    smaller = np.minimum(size[:, None], size[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    identical = (inter == size[:, None]) & (inter == size[None, :])
    monotonicity = np.select([identical, inter == smaller, inter > 0], [1.0, 2 / 3, 1 / 3], 0.0)
    distance = 1.0 - jaccard * monotonicity
    distance[identical] = 0.0
    return distance


# --------------------------------------------------- Krippendorff's alpha as sums of parts

@dataclass(frozen=True)
class AlphaParts:
    """Krippendorff's alpha decomposed over units.

    alpha = 1 - (n - 1) * sum_u do_u / (N' delta N), where for a pairable unit u with m_u
    values, do_u = sum over ordered pairs of its values of delta / (m_u - 1), N is the vector
    of value totals over pairable units and n its sum (Krippendorff 2011, eqs. for o_ck,
    n_c, D_o, D_e). Units with the same multiset of values ("pattern") contribute the same,
    so the data are stored per pattern.
    """

    distance: np.ndarray            # (V, V)
    pattern_do: np.ndarray          # (K,)
    pattern_counts: scipy.sparse.csr_matrix  # (K, V) values of one unit of each pattern
    multiplicity: np.ndarray        # (K,) units per pattern
    unit_pattern: np.ndarray        # (U,) pattern of each pairable unit, in input order

    @property
    def n_units(self) -> int:
        return int(self.unit_pattern.size)


def alpha_parts(values: np.ndarray, distance: np.ndarray) -> AlphaParts:
    """Krippendorff's alpha decomposed over patterns of units.

    Parameters
    ----------
    values : numpy.ndarray of int, shape (coders, units)
        Category indices into ``distance``, -1 missing.
    distance : numpy.ndarray, shape (V, V)
        The distance δ between categories.

    Returns
    -------
    AlphaParts
        Per pattern (multiset of a pairable unit's values): its D_o part ``pattern_do``, value
        counts, ``multiplicity`` (units with it); and each pairable unit's pattern.

    Notes
    -----
    For a pairable unit u with m_u values, do_u = Σ over ordered pairs of its values of
    δ / (m_u − 1); units with the same multiset of values contribute the same.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg
       School for Communication, University of Pennsylvania, departmental paper 43.

    Examples
    --------
    Krippendorff's (2011) binary example: the 10 units have the value pairs (0, 0) five
    times, (0, 1) four times and (1, 1) once; a (0, 1) unit contributes δ(0, 1) + δ(1, 0) = 2:

    >>> from alliance_pipeline.coding.krippendorff_alpha import alpha_parts, nominal_distance
    >>> data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    >>> parts = alpha_parts(data, nominal_distance(2))
    >>> parts.n_units, parts.multiplicity.tolist(), parts.pattern_do.tolist()
    (10, [5, 4, 1], [0.0, 2.0, 0.0])
    """
    from scipy import sparse

    values = np.asarray(values, dtype=np.int64)
    distance = np.asarray(distance, dtype=float)
    n_values = distance.shape[0]
    pairable = (values >= 0).sum(axis=0) >= 2
    v = np.sort(values[:, pairable], axis=0)
    if v.shape[1] == 0:
        empty = np.zeros(0)
        return AlphaParts(distance, empty, sparse.csr_matrix((0, n_values)),
                          np.zeros(0, np.int64), np.zeros(0, np.int64))
    patterns, inverse, multiplicity = np.unique(v.T, axis=0, return_inverse=True,
                                                return_counts=True)
    inverse = inverse.reshape(-1)
    n_coders = patterns.shape[1]
    coded = patterns >= 0
    m = coded.sum(axis=1)
    do = np.zeros(patterns.shape[0])
    for i in range(n_coders):
        for j in range(n_coders):
            if i != j:
                both = coded[:, i] & coded[:, j]
                do[both] += distance[patterns[both, i], patterns[both, j]]
    do /= m - 1
    rows, cols = np.nonzero(coded)
    counts = sparse.csr_matrix((np.ones(rows.size), (rows, patterns[rows, cols])),
                               shape=(patterns.shape[0], n_values))
    counts.sum_duplicates()
    return AlphaParts(distance, do, counts, multiplicity.astype(np.int64), inverse)


def alpha_from_weights(parts: AlphaParts, weights) -> np.ndarray:
    """Alpha for each row of ``weights``: copies of a unit of each pattern.

    Parameters
    ----------
    parts : AlphaParts
        From :func:`alpha_parts`.
    weights : array_like, shape (resamples, patterns) or (patterns,)
        How many units of each pattern a (re)sample holds.

    Returns
    -------
    numpy.ndarray
        Alpha per row; NaN where undefined (no variation).

    Notes
    -----
    With N the vector of value totals, n = Σ N and D the distance matrix,

        α = 1 − (n − 1) Σ_u do_u / (Nᵀ D N).

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    The binary example (α = 1 − 19·4 / (6·14) = 0.0952) and the same units twice
    (α = 1 − 39·8 / (12·28) = 0.0714):

    >>> import alliance_pipeline.coding.krippendorff_alpha as ka
    >>> data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    >>> parts = ka.alpha_parts(data, ka.nominal_distance(2))
    >>> ka.alpha_from_weights(parts, [[5, 4, 1], [10, 8, 2]]).round(4).tolist()
    [0.0952, 0.0714]
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    observed = w @ parts.pattern_do
    totals = np.asarray((parts.pattern_counts.T @ w.T).T)  # resamples x values
    n = totals.sum(axis=1)
    expected = np.einsum("bv,bv->b", totals @ parts.distance, totals)
    out = np.full(w.shape[0], NAN)
    ok = expected > 0
    out[ok] = 1.0 - (n[ok] - 1.0) * observed[ok] / expected[ok]
    return out


def alpha_of_parts(parts: AlphaParts) -> float:
    """Alpha of all the pairable units of ``parts``.

    Parameters
    ----------
    parts : AlphaParts
        From :func:`alpha_parts`.

    Returns
    -------
    float
        NaN when undefined (no pairable unit, or no variation).

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    >>> import alliance_pipeline.coding.krippendorff_alpha as ka
    >>> data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    >>> round(ka.alpha_of_parts(ka.alpha_parts(data, ka.nominal_distance(2))), 4)
    0.0952
    """
    if parts.n_units == 0:
        return NAN
    return float(alpha_from_weights(parts, parts.multiplicity)[0])


def alpha_with_distance(reliability_data, distance) -> float:
    """Krippendorff's alpha with any distance between categories.

    Parameters
    ----------
    reliability_data : array_like of float, shape (coders, units)
        Integer category indices into ``distance``, NaN missing.
    distance : array_like, shape (V, V)
        The distance matrix (:func:`nominal_distance`, :func:`masi_distance_matrix`).

    Returns
    -------
    float
        NaN when undefined (no pairable unit, or no variation).

    Notes
    -----
    α = 1 − D_o / D_e (see :func:`alpha_from_weights`).

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    Krippendorff's (2011) nominal example (4 observers, 12 units, values 1–5 as indices 0–4,
    missing values); the published α is 0.743:

    >>> import numpy as np
    >>> import alliance_pipeline.coding.krippendorff_alpha as ka
    >>> nan = np.nan
    >>> data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    ...                  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    ...                  [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    ...                  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]])
    >>> round(ka.alpha_with_distance(data - 1, ka.nominal_distance(5)), 4)
    0.7434
    """
    return alpha_of_parts(alpha_parts(index_data(reliability_data), distance))


def krippendorff_alpha_nominal(reliability_data, value_domain: Sequence | None = None) -> float:
    """Nominal Krippendorff's alpha via the krippendorff package.

    Parameters
    ----------
    reliability_data : array_like, shape (coders, units)
        NaN/None missing.
    value_domain : sequence, optional
        The categories; default the values observed.

    Returns
    -------
    float
        NaN (instead of an error or a 0/0 warning) when undefined: fewer than two values in
        the data, or no unit coded twice.

    Notes
    -----
    ``krippendorff.alpha(level_of_measurement="nominal")`` on the encoded data;
    α = 1 − (n − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k.

    References
    ----------
    .. [1] Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.

    Examples
    --------
    Krippendorff's (2011) binary example, two observers and ten units: n = 20 values, 6 ones
    and 14 zeros, 4 units disagree, so α = 1 − 19·4 / (6·14):

    >>> from alliance_pipeline.coding.krippendorff_alpha import krippendorff_alpha_nominal
    >>> data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    >>> round(krippendorff_alpha_nominal(data), 4)
    0.0952
    >>> krippendorff_alpha_nominal([[1, 1], [1, 1]])
    nan
    """
    values, cats = encode(reliability_data, value_domain)
    pairable = (values >= 0).sum(axis=0) >= 2
    used = np.unique(values[:, pairable][values[:, pairable] >= 0])
    if not pairable.any() or used.size < 2:
        return NAN
    import krippendorff

    data = np.where(values >= 0, values, np.nan).astype(float)
    return float(krippendorff.alpha(reliability_data=data,
                                    value_domain=np.arange(max(len(cats), 2)),
                                    level_of_measurement="nominal"))

