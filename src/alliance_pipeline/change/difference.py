"""The difference of two changes in the same participants: complete cases, exact sign-flip test.

A ``compare`` pair [A, B] of contrasts (A = [a1, a2], B = [b1, b2]; a change is second minus
first, as in ``tests.csv``) gives, per participant who answered at every time point of A and
B, d_i = (y_a2 − y_a1) − (y_b2 − y_b1); for [training, baseline] = [[pre2, post], [pre1,
pre2]], d_i = y_post − 2·y_pre2 + y_pre1. The estimate is mean d (risk-difference scale).

Test (:func:`signflip_test`): under H0 each d_i is symmetric about 0, so its sign is a fair
coin (Fisher's randomisation test of the paired differences; Good 2005, *Permutation,
Parametric and Bootstrap Tests of Hypotheses*, §3.1). p = share of the 2^m sign patterns of
the m non-zero d_i whose |Σ s_i d_i| ≥ the observed |Σ d_i| (zeros change no sum): every
pattern counted when m ≤ 20 (``EXACT_MAX``); else B seeded draws with
p = (1 + #{|S*| ≥ |S|}) / (B + 1) (Phipson & Smyth 2010) and Monte Carlo SE √(p(1 − p)/B).
A draw of all m signs has the same distribution as drawing, for each distinct |d| value v
held by n_v participants, the number of them flipped positive K_v ~ Binomial(n_v, ½):
S* = Σ_v v (2K_v − n_v). That is what is drawn: O(B × distinct |d|) instead of O(B × m).

Interval: the t interval mean(d) ± t_{1−α/2, n−1} sd(d)/√n over all n complete cases
(zeros included). d is discrete and bounded in [−2, 2], so its coverage is approximate with
few participants; the p-value is the exact one.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

EXACT_MAX = 20
NAN = float("nan")


def pair_term(pair: Sequence[str]) -> str:
    """The ``models.csv`` term of a compare pair.

    Parameters
    ----------
    pair : sequence of str
        The two contrast names [A, B].

    Returns
    -------
    str
        ``"A - B"``.

    Examples
    --------
    >>> from alliance_pipeline.change.difference import pair_term
    >>> pair_term(["training", "baseline"])
    'training - baseline'
    """
    return f"{pair[0]} - {pair[1]}"


def difference_weights(pair: Sequence[str], contrasts: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Time point -> weight of d = (change over A) − (change over B).

    Parameters
    ----------
    pair : sequence of str
        The contrast names [A, B].
    contrasts : mapping of str to [first, second]
        The configured contrasts.

    Returns
    -------
    dict of str to int
        Every time point of A and B with its weight, zero weights kept (every time point of
        A and B must be answered, even one whose weights cancel).

    Notes
    -----
    For A = [a1, a2] and B = [b1, b2], d = (y_a2 − y_a1) − (y_b2 − y_b1).

    Examples
    --------
    training = [pre2, post], baseline = [pre1, pre2]: d = y_post − 2·y_pre2 + y_pre1.

    >>> from alliance_pipeline.change.difference import difference_weights
    >>> contrasts = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"]}
    >>> difference_weights(["training", "baseline"], contrasts)
    {'pre2': -2, 'post': 1, 'pre1': 1}
    """
    (a1, a2), (b1, b2) = contrasts[pair[0]], contrasts[pair[1]]
    weights = dict.fromkeys([a1, a2, b1, b2], 0)
    for tp, w in ((a2, 1), (a1, -1), (b2, -1), (b1, 1)):
        weights[tp] += w
    return weights


def complete_differences(responded: np.ndarray, present: np.ndarray, timepoints: Sequence[str],
                         weights: Mapping[str, int]) -> np.ndarray:
    """d_i of the participants who answered at every time point in ``weights``.

    Parameters
    ----------
    responded : numpy.ndarray of bool, shape (participants, time points)
        Whether participant i answered at time point t.
    present : numpy.ndarray of int, shape (participants, time points)
        The code, 0/1 (ignored where not answered).
    timepoints : sequence of str
        Names of the columns.
    weights : mapping of str to int
        Time point -> weight, e.g. from :func:`difference_weights`.

    Returns
    -------
    numpy.ndarray of int
        d_i = Σ_t w_t y_it for the complete cases, in row order.

    Examples
    --------
    The third participant did not answer at post and is left out:

    >>> import numpy as np
    >>> from alliance_pipeline.change.difference import complete_differences
    >>> responded = np.array([[1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=bool)
    >>> present = np.array([[0, 0, 1], [1, 0, 0], [1, 1, 0]])
    >>> weights = {"pre2": -2, "post": 1, "pre1": 1}
    >>> complete_differences(responded, present, ["pre1", "pre2", "post"], weights).tolist()
    [1, 1]
    """
    cols = [list(timepoints).index(tp) for tp in weights]
    complete = responded[:, cols].all(axis=1)
    w = np.array(list(weights.values()), dtype=np.int64)
    return present[complete][:, cols].astype(np.int64) @ w


class SignFlipResult(NamedTuple):
    """p-value of the sign-flip test, its Monte Carlo SE (0 when exact) and how it was made."""

    p_value: float
    mcse: float
    patterns: int        # 2^m counted (exact) or B drawn (Monte Carlo); 0 when undefined
    exact: bool


def signflip_test(d: np.ndarray, *, exact_max: int = EXACT_MAX, permutations: int = 10_000,
                  rng: np.random.Generator | None = None) -> SignFlipResult:
    """Two-sided sign-flip (randomisation) test of mean d = 0.

    Parameters
    ----------
    d : array_like of float
        The differences of the complete cases (zeros allowed; they change no sum).
    exact_max : int, default 20
        Count all 2^m sign patterns when the m non-zero d_i are at most this many.
    permutations : int, default 10000
        Monte Carlo draws B when m > ``exact_max``; 0 turns them off.
    rng : numpy.random.Generator, optional
        Generator of the Monte Carlo draws (default: seeded with 0).

    Returns
    -------
    SignFlipResult
        ``p_value``, its Monte Carlo SE ``mcse`` (0 when exact), ``patterns`` (2^m counted
        or B drawn; 0 when undefined) and ``exact``. NaN p when no d_i ≠ 0.

    Notes
    -----
    Under H0 each d_i is symmetric about 0, so its sign is a fair coin (Fisher's
    randomisation test of paired differences; Good 2005, section 3.1). With S = Σ d_i,

        p = #{sign patterns s: |Σ s_i d_i| ≥ |S|} / 2^m            (exact),
        p = (1 + #{|S*| ≥ |S|}) / (B + 1),  MCSE = sqrt(p (1 − p) / B)   (Monte Carlo).

    The Monte Carlo sum is drawn per distinct |d| value v held by n_v participants:
    S* = Σ_v v (2 K_v − n_v), K_v ~ Binomial(n_v, 1/2), the same distribution as flipping
    every sign.

    References
    ----------
    .. [1] Good, P. I. (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses,
       3rd ed. Springer.
    .. [2] Phipson, B. & Smyth, G. K. (2010). Statistical Applications in Genetics and
       Molecular Biology, 9(1), Article 39.

    Examples
    --------
    d = (1, 1, 1, 2): S = 5, and of the 16 sign patterns only all + and all − reach
    |S*| ≥ 5, so p = 2/16:

    >>> from alliance_pipeline.change.difference import signflip_test
    >>> signflip_test([1, 1, 1, 2])
    SignFlipResult(p_value=0.125, mcse=0.0, patterns=16, exact=True)
    >>> signflip_test([0, 0]).p_value
    nan
    """
    d = np.asarray(d, dtype=float)
    nonzero = d[d != 0]
    m = len(nonzero)
    if m == 0:
        return SignFlipResult(NAN, NAN, 0, True)
    observed = abs(nonzero.sum())
    slack = 1e-9 * max(1.0, observed)
    if m <= exact_max:
        sums = np.zeros(1)
        for value in nonzero:                      # all 2^m sums, doubling per participant
            sums = np.concatenate([sums + value, sums - value])
        extreme = int((np.abs(sums) >= observed - slack).sum())
        return SignFlipResult(extreme / 2 ** m, 0.0, 2 ** m, True)
    if permutations <= 0:
        return SignFlipResult(NAN, NAN, 0, False)
    rng = rng if rng is not None else np.random.default_rng(0)
    magnitudes, counts = np.unique(np.abs(nonzero), return_counts=True)
    sums = np.zeros(permutations)
    for value, n_v in zip(magnitudes, counts, strict=True):
        sums += value * (2 * rng.binomial(int(n_v), 0.5, size=permutations) - int(n_v))
    extreme = int((np.abs(sums) >= observed - slack).sum())
    p = (1 + extreme) / (permutations + 1)
    return SignFlipResult(p, float(np.sqrt(p * (1 - p) / permutations)), int(permutations), False)


def t_interval(d: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """t confidence interval of mean d.

    Parameters
    ----------
    d : array_like of float
        The differences of all complete cases (zeros included).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        (low, high); NaN with fewer than two d or sd(d) = 0.

    Notes
    -----
        mean(d) ± t_{(1 + confidence)/2, n − 1} · sd(d) / sqrt(n),  sd with n − 1.

    d is discrete and bounded in [−2, 2], so the coverage is approximate with few
    participants.

    Examples
    --------
    d = (1, 1, 1, 2): mean 1.25, sd 0.5, t_{0.975, 3} = 3.1824, half-width
    3.1824 · 0.5 / 2 = 0.7956:

    >>> from alliance_pipeline.change.difference import t_interval
    >>> low, high = t_interval([1, 1, 1, 2])
    >>> print(f"{low:.4f} {high:.4f}")
    0.4544 2.0456
    >>> t_interval([1, 1])
    (nan, nan)
    """
    from scipy import stats

    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        return NAN, NAN
    sd = float(d.std(ddof=1))
    if sd == 0:
        return NAN, NAN
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * sd / np.sqrt(n)
    mean = float(d.mean())
    return mean - half, mean + half
