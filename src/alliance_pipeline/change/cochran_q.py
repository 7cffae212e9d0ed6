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
    """Cochran's Q for an N × k 0/1 matrix (rows: participants, columns: time points).

    NaN statistic and p when undefined: fewer than two rows, or no variation within any
    row (Q's numerator and denominator are then both 0). Computed by statsmodels'
    ``cochrans_q``; Q = (k−1)[k ΣC_j² − T²] / (k T − ΣR_i²), C_j column totals, R_i row
    totals, T the grand total.
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
    """Permutation p-value of Cochran's Q: the time points permuted within each participant.

    Under H0 a participant's k responses are exchangeable across time points. A permutation
    keeps every row total R_i (and T and Q's denominator k·T − ΣR_i²), so Q* ≥ Q exactly when
    S* = ΣC*_j² ≥ S = ΣC_j² (integers, no rounding). Permuting a row with r ones puts them on a
    uniform random r-subset of the k time points, so the N_r rows with r ones fill the C(k, r)
    subsets multinomial(N_r, 1/C(k, r)) times: drawing those counts gives the column totals of
    a whole permutation of all N rows in O(2^k) instead of O(N·k), the same distribution.

    p = (1 + #{S* ≥ S}) / (B + 1) over B seeded permutations (Phipson & Smyth 2010, Stat Appl
    Genet Mol Biol 9:39), Monte Carlo standard error sqrt(p(1 − p) / B). NaN (and B = 0)
    when Q is undefined (see :func:`cochran_q_test`) or ``permutations`` is 0.
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
