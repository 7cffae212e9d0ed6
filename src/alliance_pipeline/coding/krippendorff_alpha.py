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
    """Nominal distance matrix: 0 on the diagonal, 1 elsewhere."""
    return 1.0 - np.eye(n_categories)


def masi_distance(set_a, set_b) -> float:
    """MASI distance (Passonneau 2006): 1 - J * M, J = Jaccard |A & B| / |A | B|,
    M = 1 identical, 2/3 one a subset of the other, 1/3 overlapping, 0 disjoint.
    Two empty sets are identical (distance 0)."""
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
    """MASI distances between code sets given as a sets x codes 0/1 membership matrix
    (vectorised :func:`masi_distance`)."""
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
    """Per-pattern contributions of coders x units integer data (-1 missing; values index
    ``distance``)."""
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
    """Alpha for each row of ``weights`` (resamples x patterns: how many copies of a unit of
    each pattern the resample holds). NaN where undefined (no variation)."""
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
    """Alpha of all the pairable units of ``parts`` (NaN when undefined)."""
    if parts.n_units == 0:
        return NAN
    return float(alpha_from_weights(parts, parts.multiplicity)[0])


def alpha_with_distance(reliability_data, distance) -> float:
    """Krippendorff's alpha with any distance: ``reliability_data`` is coders x units of
    integer category indices into the V x V ``distance`` matrix (NaN missing). NaN when
    undefined (no pairable unit, or no variation)."""
    return alpha_of_parts(alpha_parts(index_data(reliability_data), distance))


def krippendorff_alpha_nominal(reliability_data, value_domain: Sequence | None = None) -> float:
    """Nominal Krippendorff's alpha via ``krippendorff.alpha`` (coders x units, NaN missing).
    NaN instead of an error or a 0/0 warning when undefined (fewer than two values in the
    data, or no unit coded twice)."""
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

