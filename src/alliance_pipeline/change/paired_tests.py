"""Change over time in paired binary codes: Cochran's Q and McNemar tests (``tests.csv``).

For every question asked at two or more time points and each of its codes:

- one **Cochran's Q** row (``test = "cochran_q"``, ``contrast = "omnibus"``) on the complete
  cases, i.e. participants who answered the question at every one of its time points;
- one **McNemar** row per configured contrast whose two time points the question has
  (``test = "mcnemar"``), on the participants who answered at both time points;
- when the question has items (several responses per participant, question and time
  point), right after each McNemar row a ``method = "clustered"`` row: the Durkalski et al.
  (2003) clustered McNemar test on the response pairs, participants as clusters.

Participant-level rows combine a participant's item responses by the ``aggregate`` rule of
:func:`alliance_pipeline.change.proportions.participant_codes`.

Columns (the contract's first, then extras)::

    cohort, question, code, test, contrast, timepoints, n, b, c, statistic, df, p_value,
    p_adjusted, method, risk_difference, rd_ci_low, rd_ci_high, odds_ratio, or_ci_low,
    or_ci_high, note, n_excluded, n_clusters, rd_ci_method, or_ci_method, p_permutation,
    p_permutation_mcse, permutations

What each cell holds:

- ``n``: complete cases (Cochran) or pairs (McNemar); in a ``clustered`` row, response
  pairs (participant and item answered at both time points).
- ``b`` / ``c``: pairs with the code at the first time point only / at the second only
  (empty for Cochran).
- ``statistic``: Cochran's Q; for ``asymptotic`` McNemar (b − c)² / (b + c), for
  ``asymptotic_cc`` max(0, |b − c| − 1)² / (b + c) (Edwards 1948: the correction never moves
  |b − c| past zero, so b = c gives 0 and p = 1, as R's ``mcnemar.test``; statsmodels'
  ``correction=True`` does not clip and is not used), both chi-square with ``df = 1``; for ``exact`` and ``midp`` the binomial
  statistic min(b, c) with ``df`` empty (p is computed from X ~ Bin(b + c, 1/2)); for
  ``clustered`` Durkalski's X² (``df = 1``).
- ``p_value``: exact = min(1, 2·P(X ≤ min(b, c))); midp = exact − P(X = min(b, c))
  (Fagerland, Lydersen & Laake 2013, BMC Med Res Methodol 13:91); asymptotic from
  chi-square(1). Cochran: chi-square(k − 1).
- ``p_adjusted``: McNemar p-values adjusted (Holm / Bonferroni / none) across the
  contrasts of the same cohort, question and code; the clustered rows form their own
  family the same way. Empty p-values are left out of the family. The Cochran row's
  ``p_adjusted`` is its ``p_value`` (it is a single omnibus test).
- ``method``: McNemar: exact | midp | asymptotic | asymptotic_cc | clustered; ``auto`` picks
  exact when b + c < ``exact_below``, else asymptotic (asymptotic_cc with ``continuity``).
  Cochran: ``asymptotic`` (chi-square approximation).
- ``risk_difference`` = p(second) − p(first) = (c − b) / n with Newcombe's (1998) method 10
  hybrid score interval for paired data (``rd_ci_method = "newcombe10"``); clustered rows:
  (c − b) / n over response pairs with a cluster-robust Wald interval from the ratio
  estimator (Obuchowski 1998, Stat Med 17:1495; ``rd_ci_method = "wald_cluster"``).
- ``odds_ratio`` = c / b (paired, conditional odds ratio) with the exact conditional
  interval: the Clopper–Pearson interval (π_L, π_U) for π = c / (b + c) mapped by
  π / (1 − π) (``or_ci_method = "exact_conditional"``). b = 0: the ratio is infinite, so
  ``odds_ratio`` and ``or_ci_high`` are empty and only ``or_ci_low`` is given; c = 0: the
  ratio and its lower bound are 0 and the upper bound is finite; b = c = 0: all empty.
  Not given for clustered rows.
- ``n_excluded``: participants left out — answered at only one of the two time points
  (McNemar), or at some but not all of the question's time points (Cochran); clustered
  rows: responses (participant and item) without a partner at the other time point.
- ``n_clusters``: clustered rows only: participants contributing at least one pair.
- ``p_permutation``, ``p_permutation_mcse``, ``permutations``: Cochran rows only: the
  permutation p-value of Q (each complete case's responses permuted across its time points,
  ``permutations`` seeded draws, :func:`cochran_q_permutation`) and its Monte Carlo standard
  error, beside the chi-square ``p_value``; empty when Q is undefined or permutations are off
  (0). The seed of a row is the configured seed with the question and code, so a row's value
  does not depend on the rest of the table.
- ``note``: why a value is empty, or which method ``auto`` chose. Undefined values are
  empty (NaN), never 0 or 1: no discordant pairs (b + c = 0) leaves statistic and p empty;
  a code never or always present (or unchanged in every participant) leaves Cochran's Q
  empty ("no variation"); fewer than two complete cases / pairs leave the test empty.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.change.proportions import (
    QuestionPlan,
    ResponseArrays,
    contrast_applies,
    participant_codes,
    question_plans,
    response_arrays,
    wilson_interval,
)
from alliance_pipeline.seeds import row_rng

TESTS_COLUMNS = ["cohort", "question", "code", "test", "contrast", "timepoints", "n", "b", "c",
                 "statistic", "df", "p_value", "p_adjusted", "method", "risk_difference",
                 "rd_ci_low", "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "note",
                 "n_excluded", "n_clusters", "rd_ci_method", "or_ci_method", "p_permutation",
                 "p_permutation_mcse", "permutations"]
INT_COLUMNS = ["n", "b", "c", "df", "n_excluded", "n_clusters", "permutations"]
MCNEMAR_METHODS = ("auto", "exact", "midp", "asymptotic")
P_ADJUST_METHODS = ("holm", "bonferroni", "none")
PAIRED_COUNTS_COLUMNS = ["question", "code", "contrast", "first", "second", "n", "a", "b", "c",
                         "d", "n_excluded", "no_responses"]
NAN = float("nan")


# --------------------------------------------------------------------------- single tests

@dataclass(frozen=True)
class TestResult:
    """One test's statistic, degrees of freedom (NaN when none), p-value and method used."""

    __test__ = False  # not a pytest test class

    statistic: float
    df: float
    p_value: float
    method: str


def resolve_mcnemar_method(b: int, c: int, method: str = "auto", continuity: bool = False,
                           exact_below: int = 25) -> str:
    """The McNemar variant used: ``auto`` -> exact when b + c < exact_below, else asymptotic;
    asymptotic becomes ``asymptotic_cc`` when ``continuity`` is true."""
    if method not in MCNEMAR_METHODS:
        raise ValueError(f"mcnemar method must be one of {', '.join(MCNEMAR_METHODS)}; got {method!r}")
    if method == "auto":
        method = "exact" if b + c < exact_below else "asymptotic"
    if method == "asymptotic" and continuity:
        method = "asymptotic_cc"
    return method


def mcnemar_test(b: int, c: int, *, method: str = "auto", continuity: bool = False,
                 exact_below: int = 25) -> TestResult:
    """McNemar's test from the discordant counts b (first only) and c (second only).

    Returns NaN statistic and p when b + c = 0 (nothing to test). See the module docstring
    for what ``statistic`` holds per method.
    """
    from scipy import stats  # scipy and statsmodels are imported where used (start-up)
    from statsmodels.stats.contingency_tables import mcnemar

    b, c = int(b), int(c)
    used = resolve_mcnemar_method(b, c, method, continuity, exact_below)
    if b + c == 0:
        return TestResult(NAN, NAN, NAN, used)
    table = [[0, b], [c, 0]]  # only the discordant cells enter any McNemar statistic
    if used in ("exact", "midp"):
        result = mcnemar(table, exact=True)
        p = float(result.pvalue)
        if used == "midp":
            p = float(min(1.0, 2 * stats.binom.cdf(min(b, c), b + c, 0.5)
                          - stats.binom.pmf(min(b, c), b + c, 0.5)))
        return TestResult(float(result.statistic), NAN, p, used)
    statistic = mcnemar_chi2(b, c, continuity=(used == "asymptotic_cc"))
    return TestResult(statistic, 1.0, float(stats.chi2.sf(statistic, 1)), used)


def mcnemar_chi2(b, c, continuity: bool = False) -> float:
    """McNemar's chi-square from the discordant counts, optionally continuity-corrected.

    X² = (|b − c| − s)² / (b + c) with Edwards' (1948) correction s = 1, moving |b − c| one
    step toward zero but never past it: X² = max(0, |b − c| − 1)² / (b + c), so b = c gives
    X² = 0 (p = 1) as R's ``mcnemar.test`` does (statsmodels' ``mcnemar(correction=True)``
    gives 1 / (b + c) there). Without correction (s = 0) it is (b − c)² / (b + c); b and c
    may be summed over strata (the pooled Mantel–Haenszel statistic). NaN when b + c = 0.
    The one place a continuity correction is applied in the package.
    """
    b, c = int(b), int(c)
    if b + c == 0:
        return NAN
    shift = 1 if continuity else 0
    return float(max(0, abs(b - c) - shift) ** 2 / (b + c))


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


def clustered_mcnemar_test(b_k, c_k) -> TestResult:
    """Durkalski, Palesch, Lipsitz & Rust (2003, Stat Med 22:2417) clustered McNemar test.

    ``b_k``, ``c_k``: per cluster (participant) the number of pairs with the code at the
    first time point only / the second only. X² = (Σ(b_k − c_k))² / Σ(b_k − c_k)²,
    chi-square with 1 df. With one pair per cluster it is McNemar's (b − c)² / (b + c).
    NaN when every b_k = c_k (0/0).
    """
    from scipy import stats

    d = np.asarray(b_k, dtype=float) - np.asarray(c_k, dtype=float)
    denominator = float((d ** 2).sum())
    if denominator == 0:
        return TestResult(NAN, 1.0, NAN, "clustered")
    statistic = float(d.sum() ** 2 / denominator)
    return TestResult(statistic, 1.0, float(stats.chi2.sf(statistic, 1)), "clustered")


# --------------------------------------------------------------------------- effect sizes

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


# --------------------------------------------------------------------------- counting

@dataclass
class _ContrastCounts:
    name: str
    first: str
    second: str
    n: int
    n_excluded: int
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    no_responses: tuple[str, ...]


class _ContrastPairs(NamedTuple):
    name: str
    first: str
    second: str
    i1: int                  # index of the first time point in plan.timepoints
    i2: int
    both: np.ndarray         # (rows,) bool: answered at both time points
    one_only: np.ndarray     # (rows,) bool: answered at exactly one of them
    x1: np.ndarray           # (pairs, C) bool: code present at the first (rows in both)
    x2: np.ndarray           # (pairs, C) bool: code present at the second


def _contrast_pairs(arrays: ResponseArrays, plan: QuestionPlan,
                    contrasts: Mapping[str, Sequence[str]]):
    """The pairs of every applicable contrast, in config order: who answered both time points
    and their codes at each (all codes at once), for the participant-level and the clustered
    counts alike."""
    t_index = {t: i for i, t in enumerate(plan.timepoints)}
    for name, pair in contrasts.items():
        if not contrast_applies(pair, plan):
            continue
        i1, i2 = t_index[pair[0]], t_index[pair[1]]
        r1, r2 = arrays.responded[:, i1], arrays.responded[:, i2]
        both = r1 & r2
        yield _ContrastPairs(name, pair[0], pair[1], i1, i2, both, r1 ^ r2,
                             arrays.present[both, i1, :].astype(bool),
                             arrays.present[both, i2, :].astype(bool))


def _contrast_counts(arrays: ResponseArrays, plan: QuestionPlan,
                     contrasts: Mapping[str, Sequence[str]]) -> list[_ContrastCounts]:
    """2×2 counts of every applicable contrast, all codes at once (vectorised)."""
    answered = arrays.responded.sum(axis=0)
    out = []
    for p in _contrast_pairs(arrays, plan, contrasts):
        x1, x2 = p.x1, p.x2
        out.append(_ContrastCounts(
            str(p.name), p.first, p.second, int(p.both.sum()), int(p.one_only.sum()),
            (x1 & x2).sum(axis=0), (x1 & ~x2).sum(axis=0), (~x1 & x2).sum(axis=0),
            (~x1 & ~x2).sum(axis=0),
            tuple(t for t, i in ((p.first, p.i1), (p.second, p.i2)) if answered[i] == 0)))
    return out


def paired_counts(final_codes: pd.DataFrame, *, questions: Mapping[str, Mapping],
                  timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                  aggregate: str = "any") -> pd.DataFrame:
    """Participant-level 2×2 counts per question (asked at ≥ 2 time points), code, contrast.

    Columns ``question, code, contrast, first, second, n, a, b, c, d, n_excluded,
    no_responses``: n pairs; a both, b first only, c second only, d neither; n_excluded
    answered at only one of the two; no_responses the contrast's time points nobody
    answered (``|``-joined). Rows in codebook order of questions and codes, contrasts in
    config order.
    """
    pc = participant_codes(final_codes, aggregate=aggregate)
    rows = []
    for plan in question_plans(questions, timepoints):
        if len(plan.timepoints) < 2:
            continue
        arrays = response_arrays(pc, plan)
        counts = _contrast_counts(arrays, plan, contrasts)
        for j, code in enumerate(plan.codes):
            for cc in counts:
                rows.append((plan.question, code, cc.name, cc.first, cc.second, cc.n,
                             int(cc.a[j]), int(cc.b[j]), int(cc.c[j]), int(cc.d[j]),
                             cc.n_excluded, "|".join(cc.no_responses)))
    frame = pd.DataFrame(rows, columns=PAIRED_COUNTS_COLUMNS)
    for column in ("n", "a", "b", "c", "d", "n_excluded"):
        frame[column] = frame[column].astype("int64")
    return frame


@dataclass
class _ClusterCounts:
    n: int
    n_excluded: int
    cluster: np.ndarray      # (pairs,) cluster index of each response pair
    n_clusters_total: int
    b: np.ndarray            # (pairs, C) bool: first only
    c: np.ndarray            # (pairs, C) bool: second only


def _has_items(final_codes: pd.DataFrame, question: str) -> bool:
    if "item" not in final_codes.columns:
        return False
    items = final_codes.loc[final_codes["question"] == question, "item"]
    return bool((items.fillna("").astype(str) != "").any())


def _unit_arrays(final_codes: pd.DataFrame, plan: QuestionPlan):
    """Response-level arrays of one question: units are (participant, item) pairs."""
    sub = final_codes[final_codes["question"] == plan.question]
    participant = sub["participant_id"].astype(str)
    unit = participant + "\x1f" + sub["item"].fillna("").astype(str)
    units = sub.assign(participant_id=unit)
    pc_units = participant_codes(units, aggregate="any")  # one response per unit and time
    arrays = response_arrays(pc_units, plan)
    cluster_names = pd.Series(arrays.participants).str.split("\x1f", n=1).str[0]
    cluster, _ = pd.factorize(cluster_names, sort=True)
    return arrays, np.asarray(cluster)


def _cluster_counts(final_codes: pd.DataFrame, plan: QuestionPlan,
                    contrasts: Mapping[str, Sequence[str]]) -> dict[str, _ClusterCounts]:
    arrays, cluster = _unit_arrays(final_codes, plan)
    out = {}
    for p in _contrast_pairs(arrays, plan, contrasts):
        out[str(p.name)] = _ClusterCounts(int(p.both.sum()), int(p.one_only.sum()),
                                          cluster[p.both],
                                          int(cluster.max() + 1) if len(cluster) else 0,
                                          p.x1 & ~p.x2, ~p.x1 & p.x2)
    return out


# --------------------------------------------------------------------------- the table

def _join(notes) -> str:
    return "; ".join(n for n in notes if n)


def _no_response_note(timepoints) -> str:
    return f"no responses at {', '.join(timepoints)}" if timepoints else ""


def tests_table(final_codes: pd.DataFrame, *, cohort: str, questions: Mapping[str, Mapping],
                timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                confidence: float = 0.95, p_adjust: str = "holm", mcnemar_method: str = "auto",
                continuity: bool = False, exact_below: int = 25,
                aggregate: str = "any", permutations: int = 10_000,
                permutation_seed: int = 20250601) -> pd.DataFrame:
    """The contract's ``tests.csv`` for one cohort (see the module docstring for columns).

    Rows: questions (codebook order) asked at two or more time points, their codes
    (codebook order); per code the Cochran's Q row first, then one McNemar row per
    applicable contrast (config order), each followed by its clustered row when the
    question has items. Deterministic; never raises on sparse or degenerate data.
    """
    if p_adjust not in P_ADJUST_METHODS:
        raise ValueError(f"p_adjust must be one of {', '.join(P_ADJUST_METHODS)}; got {p_adjust!r}")
    resolve_mcnemar_method(0, 0, mcnemar_method)  # validates the name
    pc = participant_codes(final_codes, aggregate=aggregate)
    rows: list[dict] = []
    for plan in question_plans(questions, timepoints):
        if len(plan.timepoints) < 2:
            continue
        arrays = response_arrays(pc, plan)
        counts = _contrast_counts(arrays, plan, contrasts)
        clustered = _cluster_counts(final_codes, plan, contrasts) if _has_items(final_codes, plan.question) else {}
        answered = arrays.responded.sum(axis=0)
        silent = [t for t, m in zip(plan.timepoints, answered) if m == 0]
        n_answered = arrays.responded.sum(axis=1)
        complete = n_answered == len(plan.timepoints)
        partial = int(((n_answered > 0) & ~complete).sum())
        x_complete = arrays.present[complete]                     # (N, T, C)
        for j, code in enumerate(plan.codes):
            base = {"cohort": cohort, "question": plan.question, "code": code}
            rows.append(_cochran_row(base, plan, x_complete[:, :, j], partial, silent,
                                     permutations, permutation_seed))
            family, cluster_family = [], []
            for cc in counts:
                row = _mcnemar_row(base, cc, j, confidence, mcnemar_method, continuity, exact_below)
                rows.append(row)
                family.append(row)
                if cc.name in clustered:
                    crow = _clustered_row(base, cc, clustered[cc.name], j, confidence)
                    rows.append(crow)
                    cluster_family.append(crow)
            for fam in (family, cluster_family):
                adjusted = adjust_pvalues([r["p_value"] for r in fam], p_adjust)
                for r, p in zip(fam, adjusted):
                    r["p_adjusted"] = float(p)
    frame = pd.DataFrame(rows, columns=TESTS_COLUMNS)
    for column in INT_COLUMNS:
        frame[column] = pd.array(frame[column], dtype="Int64")
    float_columns = ["statistic", "p_value", "p_adjusted", "risk_difference", "rd_ci_low",
                     "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "p_permutation",
                     "p_permutation_mcse"]
    frame[float_columns] = frame[float_columns].astype(float)
    for column in ("note", "rd_ci_method", "or_ci_method"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame.reset_index(drop=True)


# pytest would collect a function named test*/tests* imported into a test module
tests_table.__test__ = False


def _empty_effects() -> dict:
    return {"risk_difference": NAN, "rd_ci_low": NAN, "rd_ci_high": NAN, "odds_ratio": NAN,
            "or_ci_low": NAN, "or_ci_high": NAN, "rd_ci_method": "", "or_ci_method": ""}


def _cochran_row(base: dict, plan: QuestionPlan, x: np.ndarray, partial: int, silent,
                 permutations: int, seed: int) -> dict:
    n = int(x.shape[0])
    result = cochran_q_test(x)
    permuted = cochran_q_permutation(x, permutations, row_rng(seed, base["question"], base["code"]))
    notes = [_no_response_note(silent)]
    if n < 2:
        notes.append(f"too few complete cases ({n})")
    elif np.isnan(result.statistic):
        total = int(x.sum())
        if total == 0:
            notes.append("no variation: code never present in the complete cases")
        elif total == x.size:
            notes.append("no variation: code always present in the complete cases")
        else:
            notes.append("no variation: every complete case unchanged across time points")
    return {**base, "test": "cochran_q", "contrast": "omnibus",
            "timepoints": "|".join(plan.timepoints), "n": n, "b": pd.NA, "c": pd.NA,
            "statistic": result.statistic,
            "df": pd.NA if np.isnan(result.statistic) else int(result.df), "p_value": result.p_value,
            "p_adjusted": result.p_value, "method": result.method, **_empty_effects(),
            "note": _join(notes), "n_excluded": partial, "n_clusters": pd.NA,
            "p_permutation": permuted.p_value, "p_permutation_mcse": permuted.mcse,
            "permutations": permuted.permutations if permuted.permutations else pd.NA}


def _mcnemar_row(base: dict, cc: _ContrastCounts, j: int, confidence: float, method: str,
                 continuity: bool, exact_below: int) -> dict:
    a, b, c, d = int(cc.a[j]), int(cc.b[j]), int(cc.c[j]), int(cc.d[j])
    used = resolve_mcnemar_method(b, c, method, continuity, exact_below)
    notes = [_no_response_note(cc.no_responses)]
    statistic = df = p = NAN
    if cc.n < 2:
        notes.append(f"too few pairs ({cc.n})")
    elif b + c == 0:
        notes.append("no discordant pairs: no change to test")
    else:
        result = mcnemar_test(b, c, method=method, continuity=continuity, exact_below=exact_below)
        statistic, df, p = result.statistic, result.df, result.p_value
        if method == "auto":
            sign = "<" if b + c < exact_below else ">="
            notes.append(f"auto: b + c = {b + c} {sign} {exact_below}")
    effects = _empty_effects()
    if cc.n > 0:
        rd, low, high = newcombe_paired_rd(a, b, c, d, confidence)
        effects.update(risk_difference=rd, rd_ci_low=low, rd_ci_high=high, rd_ci_method="newcombe10")
    if cc.n >= 2 and b + c > 0:
        odds, low, high, or_note = paired_odds_ratio(b, c, confidence)
        effects.update(odds_ratio=odds, or_ci_low=low, or_ci_high=high,
                       or_ci_method="exact_conditional")
        notes.append(or_note)
    return {**base, "test": "mcnemar", "contrast": cc.name, "timepoints": f"{cc.first}|{cc.second}",
            "n": cc.n, "b": b, "c": c, "statistic": statistic,
            "df": pd.NA if np.isnan(df) else int(df), "p_value": p, "p_adjusted": NAN,
            "method": used, **effects, "note": _join(notes), "n_excluded": cc.n_excluded,
            "n_clusters": pd.NA}


def _clustered_row(base: dict, cc: _ContrastCounts, kc: _ClusterCounts, j: int,
                   confidence: float) -> dict:
    size = kc.n_clusters_total
    b_k = np.bincount(kc.cluster, weights=kc.b[:, j], minlength=size)
    c_k = np.bincount(kc.cluster, weights=kc.c[:, j], minlength=size)
    m_k = np.bincount(kc.cluster, minlength=size)
    used = m_k > 0
    b_k, c_k, m_k = b_k[used], c_k[used], m_k[used]
    k = int(used.sum())
    b, c = int(b_k.sum()), int(c_k.sum())
    notes = [_no_response_note(cc.no_responses)]
    statistic = p = NAN
    if k < 2:
        notes.append(f"too few participants with pairs ({k})")
    elif b + c == 0:
        notes.append("no discordant pairs: no change to test")
    else:
        result = clustered_mcnemar_test(b_k, c_k)
        statistic, p = result.statistic, result.p_value
        if np.isnan(statistic):
            notes.append("discordant pairs cancel within every participant: statistic undefined")
    effects = _empty_effects()
    if kc.n > 0:
        rd, low, high = cluster_rd(b_k, c_k, m_k, confidence)
        effects.update(risk_difference=rd, rd_ci_low=low, rd_ci_high=high, rd_ci_method="wald_cluster")
        if np.isnan(low) and k >= 2:
            notes.append("risk difference interval undefined (no variation between participants)")
    notes.append("odds ratio given at participant level only")
    return {**base, "test": "mcnemar", "contrast": cc.name, "timepoints": f"{cc.first}|{cc.second}",
            "n": kc.n, "b": b, "c": c, "statistic": statistic,
            "df": pd.NA if np.isnan(statistic) else 1, "p_value": p,
            "p_adjusted": NAN, "method": "clustered", **effects, "note": _join(notes),
            "n_excluded": kc.n_excluded, "n_clusters": k}
