"""Cochran's Q for a code over all of a question's time points, with its permutation p-value.

Q = (k−1)[k ΣC_j² − T²] / (k T − ΣR_i²) on the N × k 0/1 matrix of the complete cases
(participants who answered at every one of the question's k time points): C_j column
totals, R_i row totals, T the grand total; chi-square with k − 1 df. Q is undefined (0/0,
NaN) with fewer than two complete cases or when no participant's responses vary.

The permutation p-value (:func:`cochran_q_permutation`) permutes each complete case's
responses across its time points: p = (1 + #{Q* ≥ Q}) / (B + 1) over B seeded permutations
(Phipson & Smyth 2010, Stat Appl Genet Mol Biol 9:39), with its Monte Carlo standard error.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import NamedTuple

import numpy as np

from alliance_pipeline.change.mcnemar import TestResult

NAN = float("nan")


def _q_undefined(x: np.ndarray) -> bool:
    """Cochran's Q is undefined (0/0): fewer than two rows or time points, or no row varies
    (every R_i is 0 or k, so k·T − ΣR_i² = Σ R_i(k − R_i) = 0)."""
    n_rows, k = x.shape
    row = x.sum(axis=1)
    return n_rows < 2 or k < 2 or int((row * (k - row)).sum()) == 0


def cochran_q_test(x: np.ndarray) -> TestResult:
    """Cochran's Q test of equal shares over the k time points of the complete cases.

    Parameters
    ----------
    x : array_like of int, shape (N, k)
        0/1 matrix: rows are participants (complete cases), columns time points.

    Returns
    -------
    TestResult
        ``statistic`` Q, ``df`` k − 1, ``p_value`` from chi-square with k − 1 df, ``method``
        ``"asymptotic"``. Statistic and p are NaN when Q is undefined: fewer than two rows
        or two columns, or no row varies (numerator and denominator both 0).

    Notes
    -----
    With column totals C_j, row totals R_i and grand total T,

        Q = (k − 1) [k Σ_j C_j² − T²] / (k T − Σ_i R_i²),

    computed by statsmodels' ``cochrans_q``. With k = 2 it is McNemar's (b − c)² / (b + c).

    References
    ----------
    .. [1] Cochran, W. G. (1950). The comparison of percentages in matched samples.
       Biometrika, 37(3/4), 256-266. doi:10.1093/biomet/37.3-4.256

    Examples
    --------
    C = (3, 2, 1), T = 6, R = (2, 1, 3, 0): Q = 2·(3·14 − 36) / (3·6 − 14) = 3, and with
    2 df p = exp(−3/2):

    >>> from alliance_pipeline.change.cochran_q import cochran_q_test
    >>> x = [[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]]
    >>> result = cochran_q_test(x)
    >>> result.statistic, result.df, round(result.p_value, 4)
    (3.0, 2.0, 0.2231)
    >>> cochran_q_test([[1, 1], [0, 0]]).statistic      # no row varies
    nan
    """
    from statsmodels.stats.contingency_tables import cochrans_q

    x = np.asarray(x, dtype=np.int64)
    k = x.shape[1]
    if _q_undefined(x):
        return TestResult(NAN, float(k - 1), NAN, "asymptotic")
    result = cochrans_q(x)
    return TestResult(float(result.statistic), float(result.df), float(result.pvalue), "asymptotic")


class PermutationResult(NamedTuple):
    """A Monte Carlo permutation p-value, its Monte Carlo standard error and the permutations."""

    p_value: float
    mcse: float
    permutations: int


def cochran_q_permutation(x: np.ndarray, permutations: int = 10_000,
                          seed: int | Sequence[int] | np.random.Generator = 0) -> PermutationResult:
    """Permutation p-value of Cochran's Q: time points permuted within each participant.

    Parameters
    ----------
    x : array_like of int, shape (N, k)
        0/1 matrix of the complete cases (rows participants, columns time points).
    permutations : int, default 10000
        Number B of random permutations; 0 turns the test off.
    seed : int, sequence of int or numpy.random.Generator, default 0
        Seed of the draws (or the generator itself).

    Returns
    -------
    PermutationResult
        ``p_value``, its Monte Carlo standard error ``mcse`` and ``permutations`` (B). NaN
        and B = 0 when Q is undefined (see :func:`cochran_q_test`) or ``permutations`` is 0.

    Notes
    -----
    Under H0 a participant's k responses are exchangeable across time points. A permutation
    keeps every row total R_i (so T and Q's denominator), hence Q* ≥ Q exactly when
    S* = Σ_j C*_j² ≥ S = Σ_j C_j² (integers, no rounding). The N_r rows with r ones fill
    the C(k, r) r-subsets of the time points multinomial(N_r, 1 / C(k, r)) times, so the
    column totals of a whole permutation are drawn in O(2^k) instead of O(N·k).

        p = (1 + #{S* ≥ S}) / (B + 1),   MCSE = sqrt(p (1 − p) / B).

    References
    ----------
    .. [1] Phipson, B. & Smyth, G. K. (2010). Permutation p-values should never be zero:
       calculating exact p-values when permutations are randomly drawn. Statistical
       Applications in Genetics and Molecular Biology, 9(1), Article 39.
    .. [2] Cochran, W. G. (1950). Biometrika, 37(3/4), 256-266. doi:10.1093/biomet/37.3-4.256

    Examples
    --------
    In the matrix below the row with two ones leaves out one time point e and the row with
    one 1 has it at f: of the 3 × 3 equally likely permutations the 6 with e ≠ f give
    S* = 14 = S, the 3 with e = f give 12, so the exact permutation p is 6/9 = 2/3:

    >>> from alliance_pipeline.change.cochran_q import cochran_q_permutation
    >>> x = [[1, 1, 0], [1, 0, 0], [1, 1, 1], [0, 0, 0]]
    >>> result = cochran_q_permutation(x, permutations=10_000, seed=1)
    >>> result.permutations, abs(result.p_value - 2 / 3) < 3 * result.mcse
    (10000, True)
    >>> cochran_q_permutation(x, permutations=0)
    PermutationResult(p_value=nan, mcse=nan, permutations=0)
    """
    x = np.asarray(x, dtype=np.int64)
    if permutations <= 0 or _q_undefined(x):
        return PermutationResult(NAN, NAN, 0)
    k = x.shape[1]
    row = x.sum(axis=1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    observed = int((x.sum(axis=0) ** 2).sum())
    columns = np.full((permutations, k), int((row == k).sum()), dtype=np.int64)
    for r in range(1, k):
        n_r = int((row == r).sum())
        if n_r == 0:
            continue
        subsets = np.array([[int(j in chosen) for j in range(k)]
                            for chosen in combinations(range(k), r)], dtype=np.int64)
        counts = rng.multinomial(n_r, np.full(len(subsets), 1 / len(subsets)), size=permutations)
        columns += counts @ subsets
    extreme = int(((columns ** 2).sum(axis=1) >= observed).sum())
    p = (1 + extreme) / (permutations + 1)
    return PermutationResult(float(p), float(np.sqrt(p * (1 - p) / permutations)), int(permutations))
