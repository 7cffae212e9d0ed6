"""Tests of alliance_pipeline.change.paired_tests.

Every expected number names its source: a published example (with where it is printed) or
a hand computation written out next to it. z = 1.959964 (97.5 % normal quantile).
Chi-square tail values used below: with 1 df, P(χ² > x) = 2·(1 − Φ(√x)); with 2 df,
P(χ² > x) = exp(−x/2) exactly.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from alliance_pipeline.change import paired_tests
from alliance_pipeline.change.cochran_q import cochran_q_test
from alliance_pipeline.change.effect_sizes import cluster_rd, newcombe_paired_rd, paired_odds_ratio
from alliance_pipeline.change.mcnemar import clustered_mcnemar_test, mcnemar_test
from alliance_pipeline.change.multiplicity import adjust_pvalues
from alliance_pipeline.change.paired_counts import paired_counts
from alliance_pipeline.change.paired_tests import TESTS_COLUMNS
from conftest import make_final_codes

# bound to a name pytest does not collect (a module-level "tests_table" looks like a test)
build_tests_table = paired_tests.tests_table


TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}
CONTRACT_COLUMNS = ["cohort", "question", "code", "test", "contrast", "timepoints", "n", "b", "c",
                    "statistic", "df", "p_value", "p_adjusted", "method", "risk_difference",
                    "rd_ci_low", "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "note"]


# --------------------------------------------------------------------------- McNemar

def test_mcnemar_agresti_presidential_approval():
    # Agresti (2007) An Introduction to Categorical Data Analysis, 2nd ed., Table 8.1 / sec. 8.1:
    # approval at two surveys, 794 / 150 / 86 / 570 (n = 1600); b = 150 (approve -> disapprove),
    # c = 86. z = (86 − 150)/sqrt(86 + 150) = −64/15.3623 = −4.17; z² = 4096/236 = 17.3559.
    # Agresti: P < 0.0001 (two-sided). 2·(1 − Φ(4.166)) = 3.1e-5.
    result = mcnemar_test(150, 86, method="asymptotic")
    assert result.statistic == pytest.approx(4096 / 236)
    assert result.statistic == pytest.approx(17.36, abs=0.005)
    assert result.df == 1 and result.method == "asymptotic"
    assert result.p_value < 1e-4
    assert result.p_value == pytest.approx(3.10e-5, rel=0.01)
    # auto with exact_below 25: b + c = 236 >= 25 -> asymptotic
    assert mcnemar_test(150, 86, method="auto").method == "asymptotic"


# Fagerland, Lydersen & Laake (2013) BMC Med Res Methodol 13:91, worked example (airway
# hyper-responsiveness before/after stem cell transplantation, Bentur et al. 2009):
# table 1 / 1 / 7 / 12, b = 1, c = 7. Printed P-values: exact conditional 0.070,
# mid-p 0.039, asymptotic 0.034, asymptotic with continuity correction 0.077.
# By hand, X ~ Bin(8, 1/2): P(X ≤ 1) = (1 + 8)/256 = 9/256
#   exact = 2·9/256 = 18/256 = 0.0703125
#   mid-p = exact − P(X = 1) = 18/256 − 8/256 = 10/256 = 0.0390625
#   asymptotic: (7 − 1)²/8 = 36/8 = 4.5;  2(1 − Φ(2.121320)) = 0.033895
#   with cc:    (|7 − 1| − 1)²/8 = 25/8 = 3.125;  2(1 − Φ(1.767767)) = 0.077100
@pytest.mark.parametrize("method, continuity, statistic, df, p_hand, p_printed, name", [
    ("exact", False, 1.0, None, 18 / 256, 0.070, "exact"),
    ("midp", False, 1.0, None, 10 / 256, 0.039, "midp"),
    ("asymptotic", False, 4.5, 1, 0.033895, 0.034, "asymptotic"),
    ("asymptotic", True, 3.125, 1, 0.077100, 0.077, "asymptotic_cc"),
])
def test_mcnemar_fagerland_2013_example(method, continuity, statistic, df, p_hand, p_printed, name):
    result = mcnemar_test(1, 7, method=method, continuity=continuity)
    assert result.method == name
    assert result.statistic == pytest.approx(statistic)  # exact/midp: min(b, c) = 1
    if df is None:
        assert math.isnan(result.df)
    else:
        assert result.df == df
    assert result.p_value == pytest.approx(p_hand, abs=1e-6)
    assert result.p_value == pytest.approx(p_printed, abs=5e-4)


# Edwards' continuity correction never moves |b − c| past zero: X² = max(0, |b − c| − 1)²/(b + c).
# Values printed by R 4.2's mcnemar.test(matrix(c(5, c, b, 5), 2)) (correct = TRUE, its default):
#   b = c = 1, 12, 19: McNemar's chi-squared = 0, p-value = 1
#   b = 1, c = 7: 3.125, p = 0.077099871743542;  b = 30, c = 12: 6.88095238095238,
#   p = 0.00871191296237958;  b = 2, c = 1: 0, p = 1 (|b − c| − 1 = 0 exactly)
# statsmodels' mcnemar(correction=True) gives 1/(b + c) for b = c (0.5, p = 0.4795 at b = c = 1).
@pytest.mark.parametrize("b, c, statistic, p_value", [
    (1, 1, 0.0, 1.0), (12, 12, 0.0, 1.0), (19, 19, 0.0, 1.0),
    (1, 7, 3.125, 0.077099871743542), (30, 12, 6.88095238095238, 0.00871191296237958),
    (2, 1, 0.0, 1.0),
])
def test_mcnemar_continuity_correction_matches_r(b, c, statistic, p_value):
    result = mcnemar_test(b, c, method="asymptotic", continuity=True)
    assert result.method == "asymptotic_cc" and result.df == 1
    assert result.statistic == pytest.approx(statistic, abs=1e-12)
    assert result.p_value == pytest.approx(p_value, abs=1e-12)
    # auto picks the corrected asymptotic test from b + c >= exact_below on
    auto = mcnemar_test(b, c, method="auto", continuity=True, exact_below=2)
    assert (auto.statistic, auto.p_value) == pytest.approx((statistic, p_value), abs=1e-12)


def test_mcnemar_continuity_correction_b_equals_c_in_the_table():
    # 24 participants: P1..P12 present at pre1 only ... every contrast has b = c = 12 or 0:
    # baseline (pre1 -> pre2): 12 first only, 12 second only -> X² = 0, p = 1 (R above);
    # adjusted p (Holm, Bonferroni) follow: a p of 1 stays 1.
    matrix = [[1, 0, 0]] * 12 + [[0, 1, 0]] * 12
    for p_adjust in ("holm", "bonferroni"):
        table = run_table(cohort_from_matrix(matrix), mcnemar_method="asymptotic", continuity=True,
                          p_adjust=p_adjust)
        row = table[(table.code == "hooked") & (table.contrast == "baseline")].iloc[0]
        assert (row.b, row.c, row.method) == (12, 12, "asymptotic_cc")
        assert row.statistic == 0.0 and row.p_value == 1.0 and row.p_adjusted == 1.0


def test_mcnemar_auto_switches_at_exact_below():
    # b + c = 24 < 25 -> exact; 25 -> asymptotic (cc when continuity)
    assert mcnemar_test(10, 14, method="auto").method == "exact"
    assert mcnemar_test(10, 15, method="auto").method == "asymptotic"
    assert mcnemar_test(10, 15, method="auto", continuity=True).method == "asymptotic_cc"
    assert mcnemar_test(10, 15, method="auto", exact_below=30).method == "exact"


def test_mcnemar_exact_by_hand_small():
    # b = 0, c = 5: P(X ≤ 0) = 1/32, exact p = 2/32 = 0.0625; mid-p = 2/32 − 1/32 = 0.03125
    assert mcnemar_test(0, 5, method="exact").p_value == pytest.approx(0.0625)
    assert mcnemar_test(0, 5, method="midp").p_value == pytest.approx(0.03125)
    # b = c = 3: 2·P(X ≤ 3), X ~ Bin(6, 1/2) = 2·(1+6+15+20)/64 = 84/64 > 1 -> 1
    #   mid-p = 84/64 − 20/64 = 1
    assert mcnemar_test(3, 3, method="exact").p_value == 1.0
    assert mcnemar_test(3, 3, method="midp").p_value == pytest.approx(1.0)


def test_mcnemar_no_discordant_pairs_is_undefined():
    result = mcnemar_test(0, 0, method="exact")
    assert math.isnan(result.statistic) and math.isnan(result.p_value)


def test_mcnemar_rejects_unknown_method():
    with pytest.raises(ValueError):
        mcnemar_test(1, 2, method="fisher")


@settings(max_examples=200, deadline=None)
@given(b=st.integers(0, 60), c=st.integers(0, 60),
       method=st.sampled_from(["exact", "midp", "asymptotic", "auto"]), continuity=st.booleans())
def test_mcnemar_symmetric_in_b_and_c(b, c, method, continuity):
    one = mcnemar_test(b, c, method=method, continuity=continuity)
    other = mcnemar_test(c, b, method=method, continuity=continuity)
    if b + c == 0:
        assert math.isnan(one.p_value) and math.isnan(other.p_value)
    else:
        assert one.p_value == pytest.approx(other.p_value, rel=1e-12)
        assert 0.0 <= one.p_value <= 1.0


@settings(max_examples=100, deadline=None)
@given(b=st.integers(0, 40), c=st.integers(0, 40))
def test_midp_never_exceeds_exact(b, c):
    if b + c:
        assert mcnemar_test(b, c, method="midp").p_value <= mcnemar_test(b, c, method="exact").p_value


# --------------------------------------------------------------------------- Cochran's Q

HAND_Q = np.array([
    # pre1 pre2 post     R_i
    [1, 1, 1],  # P1      3
    [0, 1, 1],  # P2      2
    [0, 0, 1],  # P3      1
    [0, 1, 1],  # P4      2
    [0, 0, 0],  # P5      0
    [1, 0, 1],  # P6      2
])
# C_j = (2, 3, 5), T = 10, ΣC_j² = 4 + 9 + 25 = 38, ΣR_i² = 9 + 4 + 1 + 4 + 0 + 4 = 22, k = 3
# Q = (k−1)[k ΣC_j² − T²] / (k T − ΣR_i²) = 2·(114 − 100)/(30 − 22) = 28/8 = 3.5
# df = 2; p = exp(−3.5/2) = exp(−1.75) = 0.173774


def test_cochran_q_by_hand():
    result = cochran_q_test(HAND_Q)
    assert result.statistic == pytest.approx(3.5)
    assert result.df == 2
    assert result.p_value == pytest.approx(0.173774, abs=1e-6)


def test_cochran_q_undefined_without_variation():
    assert math.isnan(cochran_q_test(np.zeros((5, 3), int)).statistic)  # never present
    assert math.isnan(cochran_q_test(np.ones((5, 3), int)).statistic)   # always present
    unchanged = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    assert math.isnan(cochran_q_test(unchanged).p_value)
    assert math.isnan(cochran_q_test(np.array([[1, 0, 1]])).statistic)  # one complete case
    # the degrees of freedom are those of the design, k − 1, even where Q is undefined
    # (rstatix::cochran_qtest also gives df 2 with a NaN statistic for 3 time points)
    for x in (np.zeros((5, 3), int), np.ones((5, 3), int), unchanged, np.array([[1, 0, 1]])):
        result = cochran_q_test(x)
        assert result.df == 2 and result.method == "asymptotic"
        assert math.isnan(result.statistic) and math.isnan(result.p_value)
    assert cochran_q_test(np.zeros((4, 4), int)).df == 3


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=40))
def test_cochran_q_with_two_time_points_is_mcnemar(pairs):
    # With k = 2: Q = (b − c)²/(b + c) (Cochran 1950) — McNemar without correction.
    x = np.array(pairs)
    b = int(((x[:, 0] == 1) & (x[:, 1] == 0)).sum())
    c = int(((x[:, 0] == 0) & (x[:, 1] == 1)).sum())
    q = cochran_q_test(x)
    if b + c == 0:
        assert math.isnan(q.statistic)
    else:
        assert q.statistic == pytest.approx((b - c) ** 2 / (b + c))
        assert q.p_value == pytest.approx(mcnemar_test(b, c, method="asymptotic").p_value)


# --------------------------------------------------------------------------- Cochran's Q permutation

def exact_permutation_p(x) -> float:
    """Independent reference: every within-participant permutation of the time points enumerated.

    Each participant's row is replaced by each of its distinct arrangements (all equally likely
    under a uniform permutation of its k values); Q by its formula for every combination of rows;
    p = share of combinations with Q* ≥ Q (with a float tolerance for ties).
    """
    import itertools

    def q_value(m):
        k = m.shape[1]
        columns, rows = m.sum(axis=0), m.sum(axis=1)
        return (k - 1) * (k * (columns ** 2).sum() - m.sum() ** 2) / (k * m.sum() - (rows ** 2).sum())

    observed = q_value(np.asarray(x))
    arrangements = [sorted(set(itertools.permutations(row))) for row in np.asarray(x).tolist()]
    hits = total = 0
    for combination in itertools.product(*arrangements):
        total += 1
        hits += q_value(np.array(combination)) >= observed - 1e-9
    return hits / total


def _generated_matrix(seed, n, k):
    rng = np.random.default_rng(seed)
    return (rng.random((n, k)) < np.linspace(0.2, 0.8, k)).astype(int)


@pytest.mark.parametrize("seed, n, k", [(1, 12, 2), (2, 7, 3), (3, 7, 3), (4, 5, 4), (5, 6, 3),
                                        (6, 14, 2), (7, 4, 5), (8, 7, 3)])
def test_cochran_permutation_p_matches_exact_enumeration(seed, n, k):
    x = _generated_matrix(seed, n, k)
    if math.isnan(cochran_q_test(x).statistic):
        pytest.skip("Q undefined for this draw")
    exact = exact_permutation_p(x)
    result = paired_tests.cochran_q_permutation(x, 10_000, seed)
    assert result.permutations == 10_000
    # the Monte Carlo p is within 4 standard errors of the exact p (plus the +1 of (1 + hits)/(B + 1))
    se = math.sqrt(exact * (1 - exact) / 10_000)
    assert abs(result.p_value - exact) <= 4 * se + 1 / 10_001
    assert result.mcse == pytest.approx(math.sqrt(result.p_value * (1 - result.p_value) / 10_000))


def test_cochran_permutation_p_hand_case():
    # HAND_Q (Q = 3.5, ΣC² = 38): rows P1 (1,1,1) and P5 (0,0,0) cannot change; P3 (one 1) puts
    # its 1 in column j, and P2, P4, P6 (two 1s) each leave out one column: 3⁴ = 81 equally
    # likely tables, C_col = 4 − n_col + [j = col] with n the left-out counts (Σn = 3). Row and
    # grand totals stay, so Q* ≥ Q iff ΣC*² ≥ 38:
    #   n = (3,0,0)-like, 3 tuples: C = (1,4,4) + e_j: j at the 3 -> 36 (no), else 42 (yes): 6 hits
    #   n = (2,1,0)-like, 18 tuples: C = (2,3,4) + e_j: only j at the 0 -> (2,3,5), 38: 18 hits
    #   n = (1,1,1), 6 tuples: C = (3,3,3) + e_j -> 34: none
    # p = 24/81 = 0.296296
    exact = exact_permutation_p(HAND_Q)
    assert exact == pytest.approx(24 / 81)
    result = paired_tests.cochran_q_permutation(HAND_Q, 20_000, 11)
    assert abs(result.p_value - exact) <= 4 * math.sqrt(exact * (1 - exact) / 20_000) + 1 / 20_001


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=2, max_size=60),
       st.integers(0, 2 ** 31))
def test_cochran_permutation_with_two_time_points_is_the_exact_mcnemar_test(pairs, seed):
    # k = 2: permuting a discordant pair flips it, so the permutation distribution of Q is that
    # of (b − c)²/(b + c) with c ~ Bin(b + c, 1/2): the exact McNemar (sign) test.
    x = np.array(pairs)
    b = int(((x[:, 0] == 1) & (x[:, 1] == 0)).sum())
    c = int(((x[:, 0] == 0) & (x[:, 1] == 1)).sum())
    result = paired_tests.cochran_q_permutation(x, 4_000, seed)
    if b + c == 0:
        assert math.isnan(result.p_value) and result.permutations == 0
        return
    exact = mcnemar_test(b, c, method="exact").p_value
    assert abs(result.p_value - exact) <= 4.5 * math.sqrt(exact * (1 - exact) / 4_000) + 1 / 4_001


@pytest.mark.parametrize("seed, shares", [(21, (0.30, 0.32, 0.33)), (22, (0.40, 0.40, 0.42)),
                                          (23, (0.50, 0.49, 0.51)), (24, (0.2, 0.22, 0.2, 0.23)),
                                          (25, (0.3, 0.3, 0.3))])
def test_cochran_permutation_p_near_asymptotic_p_in_large_samples(seed, shares):
    # 4,000 participants whose code persists (each time point: half the time the participant's
    # own fixed value, else a fresh draw with the time point's share): the chi-square
    # approximation is then good, so the permutation p (B = 10,000) is within a few Monte
    # Carlo standard errors (plus 0.01) of it, over p from about 0.03 to 0.76.
    rng = np.random.default_rng(seed)
    n, k = 4000, len(shares)
    own = rng.random((n, 1)) < 0.35
    fresh = rng.random((n, k)) < np.array(shares)
    x = np.where(rng.random((n, k)) < 0.5, own, fresh).astype(int)
    asymptotic = cochran_q_test(x).p_value
    result = paired_tests.cochran_q_permutation(x, 10_000, seed)
    assert 0.001 < asymptotic < 0.999
    assert abs(result.p_value - asymptotic) <= 4 * result.mcse + 0.01


def test_cochran_permutation_p_is_exactly_one_plus_extreme_over_b_plus_one():
    # 30 participants, each with the code at pre1 only: observed ΣC² = 30² = 900. A permutation
    # moves each row's single 1 to a uniform time point, and ΣC*² = 900 only when all 30 land
    # on the same one (probability 3 · 3⁻³⁰ ≈ 1.5e-14): no draw reaches Q, so p = 1 / (B + 1)
    # exactly (Phipson & Smyth 2010), never 0 = extreme / B.
    x = np.zeros((30, 3), dtype=int)
    x[:, 0] = 1
    for b in (999, 10_000):
        result = paired_tests.cochran_q_permutation(x, b, 7)
        assert result.p_value == 1 / (b + 1)
    # wherever draws do reach Q, p · (B + 1) = 1 + extreme is a whole number
    for seed in range(3):
        result = paired_tests.cochran_q_permutation(HAND_Q, 999, seed)
        assert result.p_value * 1000 == pytest.approx(round(result.p_value * 1000), abs=1e-9)
        assert round(result.p_value * 1000) >= 2


def test_cochran_permutation_undefined_or_off_is_empty():
    for x in (np.zeros((5, 3), int), np.ones((5, 3), int), np.array([[1, 0, 1]]),
              np.array([[1, 1, 1], [0, 0, 0]])):
        result = paired_tests.cochran_q_permutation(x, 1000, 1)
        assert math.isnan(result.p_value) and math.isnan(result.mcse) and result.permutations == 0
    off = paired_tests.cochran_q_permutation(HAND_Q, 0, 1)
    assert math.isnan(off.p_value) and off.permutations == 0


def test_cochran_permutation_is_seeded():
    one = paired_tests.cochran_q_permutation(HAND_Q, 2000, 5)
    assert one == paired_tests.cochran_q_permutation(HAND_Q, 2000, 5)
    assert one != paired_tests.cochran_q_permutation(HAND_Q, 2000, 6)


# --------------------------------------------------------------------------- risk difference

# Newcombe RG (1998) "Improved confidence intervals for the difference between binomial
# proportions based on paired data", Stat Med 17:2635-2650: the paper's four worked examples,
# method 10, printed to 4 decimals (the same values are reference values in the propint R
# package's tests). Newcombe's cells e (both), f (first only), g (second only), h (neither)
# and θ = (f − g)/n. Our difference is p(second) − p(first) = (c − b)/n, so Newcombe's f is
# our c and his g our b: the interval is the same.
@pytest.mark.parametrize("e, f, g, h, low, high", [
    (36, 12, 2, 0, 0.0569, 0.3404),
    (18, 12, 2, 18, 0.0562, 0.3290),
    (53, 0, 0, 1, -0.0729, 0.0729),
    (0, 30, 0, 0, 0.8395, 1.0000),
])
def test_newcombe_method_10_published_examples(e, f, g, h, low, high):
    rd, got_low, got_high = newcombe_paired_rd(a=e, b=g, c=f, d=h, confidence=0.95)
    assert rd == pytest.approx((f - g) / (e + f + g + h))
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_newcombe_swapping_time_points_negates_the_interval():
    rd, low, high = newcombe_paired_rd(36, 2, 12, 0)
    rd2, low2, high2 = newcombe_paired_rd(36, 12, 2, 0)
    assert (rd2, low2, high2) == pytest.approx((-rd, -high, -low))


@settings(max_examples=200, deadline=None)
@given(a=st.integers(0, 40), b=st.integers(0, 40), c=st.integers(0, 40), d=st.integers(0, 40),
       confidence=st.sampled_from([0.9, 0.95, 0.99]))
def test_newcombe_interval_contains_the_difference(a, b, c, d, confidence):
    if a + b + c + d == 0:
        assert all(math.isnan(v) for v in newcombe_paired_rd(a, b, c, d))
        return
    rd, low, high = newcombe_paired_rd(a, b, c, d, confidence)
    assert -1.0 <= low <= rd + 1e-12 and rd - 1e-12 <= high <= 1.0


# --------------------------------------------------------------------------- paired odds ratio

def test_paired_odds_ratio_b_zero_has_only_a_lower_bound():
    # b = 0, c = 5: Clopper–Pearson lower bound for π = 5/5 solves π⁵ = 0.025, so
    # π_L = 0.025^(1/5) = exp(ln(0.025)/5) = exp(−3.688879/5) = exp(−0.737776) = 0.478176
    # OR_L = π_L/(1 − π_L) = 0.478176/0.521824 = 0.916356; OR and upper bound infinite -> empty
    odds, low, high, note = paired_odds_ratio(0, 5)
    assert math.isnan(odds) and math.isnan(high)
    assert low == pytest.approx(0.916356, abs=2e-6)
    assert "b = 0" in note


def test_paired_odds_ratio_c_zero():
    # c = 0, b = 5: π_U solves (1 − π)⁵ = 0.025 -> π_U = 1 − 0.478176 = 0.521824
    # OR_U = 0.521824/0.478176 = 1.091279; OR = 0/5 = 0, lower bound 0
    odds, low, high, note = paired_odds_ratio(5, 0)
    assert (odds, low) == (0.0, 0.0)
    assert high == pytest.approx(1.091279, abs=2e-6)
    assert "c = 0" in note


def test_paired_odds_ratio_general_case():
    # b = 1, c = 7 (Fagerland et al. 2013 example): OR = 7/1 = 7.
    # Upper: π_U solves P(X ≤ 7 | n = 8, π) = 1 − π⁸ = 0.025 -> π_U = 0.975^(1/8)
    #   = exp(ln(0.975)/8) = exp(−0.0253178/8) = 0.996840; OR_U = 0.996840/0.003160 = 315.48
    # Lower: π_L solves P(X ≥ 7 | 8, π) = 8π⁷(1 − π) + π⁸ = 0.025 (checked on the result)
    odds, low, high, note = paired_odds_ratio(1, 7)
    assert odds == 7.0 and note == ""
    assert high == pytest.approx(315.48, rel=1e-4)
    pi_low = low / (1 + low)
    assert 8 * pi_low ** 7 * (1 - pi_low) + pi_low ** 8 == pytest.approx(0.025, abs=1e-9)
    assert low < 7 < high


def test_paired_odds_ratio_undefined_without_discordant_pairs():
    odds, low, high, note = paired_odds_ratio(0, 0)
    assert all(math.isnan(v) for v in (odds, low, high)) and note


# --------------------------------------------------------------------------- p adjustment

def test_holm_and_bonferroni_by_hand():
    # Holm: sort 0.01, 0.03, 0.04 -> 3·0.01 = 0.03, 2·0.03 = 0.06, 1·0.04 = 0.04 -> running
    # max 0.03, 0.06, 0.06; back in input order (0.01, 0.04, 0.03) -> (0.03, 0.06, 0.06)
    assert adjust_pvalues([0.01, 0.04, 0.03], "holm") == pytest.approx([0.03, 0.06, 0.06])
    # Bonferroni: 3p capped at 1 -> (0.03, 0.12, 0.09)
    assert adjust_pvalues([0.01, 0.04, 0.03], "bonferroni") == pytest.approx([0.03, 0.12, 0.09])
    assert adjust_pvalues([0.01, 0.04, 0.03], "none") == pytest.approx([0.01, 0.04, 0.03])
    # an empty p is not part of the family: Holm over (0.01, 0.04) -> (0.02, 0.04)
    out = adjust_pvalues([0.01, float("nan"), 0.04], "holm")
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    with pytest.raises(ValueError):
        adjust_pvalues([0.1], "fdr")


def test_holm_keeps_the_input_order():
    # An input whose order matters: sorted, Holm is 4·0.001 = 0.004, 3·0.025 = 0.075,
    # 2·0.03 = 0.06 -> running max 0.075, 1·0.2 = 0.2; back in input order
    # (0.03, 0.001, 0.2, 0.025) -> (0.075, 0.004, 0.2, 0.075). The sorted-order answer
    # (0.004, 0.075, 0.075, 0.2) differs in every place but none. R 4.2:
    # p.adjust(c(0.03, 0.001, 0.2, 0.025), "holm") = 0.075 0.004 0.200 0.075;
    # "bonferroni" = 0.120 0.004 0.800 0.100.
    p = [0.03, 0.001, 0.2, 0.025]
    assert adjust_pvalues(p, "holm") == pytest.approx([0.075, 0.004, 0.2, 0.075], abs=1e-15)
    assert adjust_pvalues(p, "bonferroni") == pytest.approx([0.12, 0.004, 0.8, 0.1], abs=1e-15)
    # with an empty p in the family (left out; Holm over the other three, in place):
    # sorted 0.001·3 = 0.003, 0.03·2 = 0.06, 0.2 -> (0.06, 0.003, nan, 0.2)
    out = adjust_pvalues([0.03, 0.001, float("nan"), 0.2], "holm")
    assert out[[0, 1, 3]] == pytest.approx([0.06, 0.003, 0.2]) and math.isnan(out[2])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=6), st.sampled_from(["holm", "bonferroni"]))
def test_adjusted_p_never_below_raw(p, method):
    adjusted = adjust_pvalues(p, method)
    assert all(a >= r - 1e-15 and a <= 1.0 for a, r in zip(adjusted, p, strict=True))


# --------------------------------------------------------------------------- clustered McNemar

def test_durkalski_by_hand():
    # clusters (participants): b_k = (2, 0, 1, 2), c_k = (0, 1, 1, 0)
    # b_k − c_k = (2, −1, 0, 2); Σ = 3; Σ² = 4 + 1 + 0 + 4 = 9; X² = 3²/9 = 1.0
    # p = 2(1 − Φ(1)) = 2·0.158655 = 0.317311
    result = clustered_mcnemar_test([2, 0, 1, 2], [0, 1, 1, 0])
    assert result.statistic == pytest.approx(1.0)
    assert result.p_value == pytest.approx(0.317311, abs=1e-6)
    assert math.isnan(clustered_mcnemar_test([1, 2], [1, 2]).statistic)  # every b_k = c_k


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([(1, 0), (0, 1), (0, 0)]), min_size=1, max_size=50))
def test_durkalski_with_one_pair_per_cluster_is_mcnemar(clusters):
    b_k = [x for x, _ in clusters]
    c_k = [y for _, y in clusters]
    b, c = sum(b_k), sum(c_k)
    result = clustered_mcnemar_test(b_k, c_k)
    if b + c == 0:
        assert math.isnan(result.statistic)
    else:
        assert result.statistic == pytest.approx((b - c) ** 2 / (b + c))


def test_cluster_rd_by_hand():
    # same clusters, 3 pairs each: m_k = 3, N = 12; d_k = c_k − b_k = (−2, 1, 0, −2)
    # RD = −3/12 = −0.25; residuals d_k − RD·m_k = (−1.25, 1.75, 0.75, −1.25)
    # Σ residual² = 1.5625 + 3.0625 + 0.5625 + 1.5625 = 6.75
    # var = K/(K−1)·6.75/N² = (4/3)·6.75/144 = 0.0625; SE = 0.25
    # CI = −0.25 ∓ 1.959964·0.25 = (−0.739991, 0.239991)
    rd, low, high = cluster_rd([2, 0, 1, 2], [0, 1, 1, 0], [3, 3, 3, 3])
    assert rd == pytest.approx(-0.25)
    assert low == pytest.approx(-0.739991, abs=1e-6)
    assert high == pytest.approx(0.239991, abs=1e-6)


# --------------------------------------------------------------------------- tests_table

QUESTIONS = {
    "session": {"timepoints": TIMEPOINTS, "codes": ["hooked", "never"], "multi_label": True},
    "feedback": {"timepoints": ["post"], "codes": ["noticing"], "multi_label": True},
}


def cohort_from_matrix(matrix, absent=()):
    """One participant per row of (pre1, pre2, post) 0/1 values of code 'hooked'; code
    'never' is never present; (participant, timepoint) in ``absent`` did not respond."""
    records = []
    for i, row in enumerate(matrix):
        for t, value in zip(TIMEPOINTS, row, strict=True):
            if (f"P{i + 1}", t) in absent:
                continue
            records.append((f"P{i + 1}", t, "session", "", {"hooked"} if value else set()))
    return make_final_codes(records, {"session": ["hooked", "never"], "feedback": ["noticing"]})


def run_table(fc, **kwargs):
    return build_tests_table(fc, cohort="pilot", questions=QUESTIONS, timepoints=TIMEPOINTS,
                       contrasts=CONTRASTS, **kwargs)


def test_tests_table_columns_order_and_counts():
    table = run_table(cohort_from_matrix(HAND_Q))
    assert list(table.columns)[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert list(table.columns) == TESTS_COLUMNS
    # feedback (one time point) gets no tests; per code: cochran first, then the contrasts
    assert list(zip(table.code, table.test, table.contrast, strict=True)) == [
        ("hooked", "cochran_q", "omnibus"), ("hooked", "mcnemar", "baseline"),
        ("hooked", "mcnemar", "training"), ("hooked", "mcnemar", "overall"),
        ("never", "cochran_q", "omnibus"), ("never", "mcnemar", "baseline"),
        ("never", "mcnemar", "training"), ("never", "mcnemar", "overall"),
    ]
    hooked = table[table.code == "hooked"].set_index("contrast")
    # Cochran: hand computation above (Q = 3.5, p = 0.173774), 6 complete cases
    assert hooked.loc["omnibus", "statistic"] == pytest.approx(3.5)
    assert hooked.loc["omnibus", "p_value"] == pytest.approx(0.173774, abs=1e-6)
    assert hooked.loc["omnibus", "p_adjusted"] == hooked.loc["omnibus", "p_value"]
    assert (hooked.loc["omnibus", "n"], hooked.loc["omnibus", "df"]) == (6, 2)
    assert hooked.loc["omnibus", "timepoints"] == "pre1|pre2|post"
    # McNemar counts from HAND_Q rows (pre1, pre2, post):
    #   baseline pre1->pre2: first only P6 (1,0) -> b = 1; second only P2, P4 -> c = 2
    #   training pre2->post: first only none -> b = 0; second only P3, P6 -> c = 2
    #   overall  pre1->post: b = 0; c = P2, P3, P4 -> 3
    assert hooked.loc[["baseline", "training", "overall"], ["n", "b", "c"]].values.tolist() == [
        [6, 1, 2], [6, 0, 2], [6, 0, 3]]
    assert hooked.loc["training", "timepoints"] == "pre2|post"
    # auto, b + c < 25 -> exact: baseline X~Bin(3,.5): 2·P(X ≤ 1) = 2·4/8 = 1.0
    #   training 2·P(X ≤ 0 | 2) = 2/4 = 0.5; overall 2·(1/8) = 0.25
    assert (hooked.method.iloc[1:] == "exact").all()
    assert hooked.loc[["baseline", "training", "overall"], "p_value"].tolist() == pytest.approx([1.0, 0.5, 0.25])
    # statistic for exact = min(b, c) = (1, 0, 0); df empty
    assert hooked.loc[["baseline", "training", "overall"], "statistic"].tolist() == [1.0, 0.0, 0.0]
    assert hooked.loc[["baseline", "training", "overall"], "df"].isna().all()
    # Holm over (1.0, 0.5, 0.25): 3·0.25 = 0.75, 2·0.5 = 1.0, 1·1.0 = 1.0 -> (1.0, 1.0, 0.75)
    assert hooked.loc[["baseline", "training", "overall"], "p_adjusted"].tolist() == pytest.approx([1.0, 1.0, 0.75])
    # risk difference (c − b)/n: baseline 1/6, training 2/6, overall 3/6
    assert hooked.loc[["baseline", "training", "overall"], "risk_difference"].tolist() == pytest.approx(
        [1 / 6, 2 / 6, 3 / 6])
    assert (hooked.loc[["baseline", "training", "overall"], "rd_ci_method"] == "newcombe10").all()
    # odds ratio c/b: baseline 2/1 = 2; training b = 0 -> infinite: empty, lower bound only
    assert hooked.loc["baseline", "odds_ratio"] == pytest.approx(2.0)
    assert math.isnan(hooked.loc["training", "odds_ratio"]) and math.isnan(hooked.loc["training", "or_ci_high"])
    assert hooked.loc["training", "or_ci_low"] > 0
    assert "b = 0" in hooked.loc["training", "note"]
    assert (table.n_excluded == 0).all()


def test_tests_table_permutation_columns_after_the_contract():
    table = run_table(cohort_from_matrix(HAND_Q), permutations=5000, permutation_seed=3)
    assert list(table.columns)[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert list(table.columns)[-3:] == ["p_permutation", "p_permutation_mcse", "permutations"]
    hooked = table[(table.code == "hooked")].set_index("contrast")
    exact = exact_permutation_p(HAND_Q)
    assert abs(hooked.loc["omnibus", "p_permutation"] - exact) <= 4 * math.sqrt(exact * (1 - exact) / 5000) + 1 / 5001
    assert hooked.loc["omnibus", "permutations"] == 5000
    assert hooked.loc["omnibus", "p_permutation_mcse"] > 0
    # McNemar rows and undefined Q (code 'never') leave the columns empty
    assert hooked.loc[["baseline", "training", "overall"], ["p_permutation", "p_permutation_mcse"]].isna().all().all()
    assert hooked.loc[["baseline", "training", "overall"], "permutations"].isna().all()
    never = table[(table.code == "never") & (table.test == "cochran_q")].iloc[0]
    assert math.isnan(never.p_permutation) and pd.isna(never.permutations)
    # the existing columns do not change with the permutation settings
    plain = run_table(cohort_from_matrix(HAND_Q), permutations=0)
    pd.testing.assert_frame_equal(plain[TESTS_COLUMNS[:-3]], table[TESTS_COLUMNS[:-3]])
    assert plain.p_permutation.isna().all()
    # a row's permutations depend on the seed, question and code only, not on other questions
    alone = build_tests_table(cohort_from_matrix(HAND_Q), cohort="other", questions={"session": QUESTIONS["session"]},
                              timepoints=TIMEPOINTS, contrasts={"training": ["pre2", "post"]},
                              permutations=5000, permutation_seed=3)
    assert alone.p_permutation.iloc[0] == hooked.loc["omnibus", "p_permutation"]


def test_tests_table_never_present_code_is_empty_with_notes():
    table = run_table(cohort_from_matrix(HAND_Q))
    never = table[table.code == "never"].set_index("contrast")
    assert never[["statistic", "p_value", "p_adjusted"]].isna().all().all()
    assert never.loc["omnibus", "note"].startswith("no variation")
    for contrast in ("baseline", "training", "overall"):
        assert never.loc[contrast, "note"].startswith("no discordant pairs")
        assert (never.loc[contrast, "b"], never.loc[contrast, "c"]) == (0, 0)
        # the difference itself is defined (0) with a Newcombe interval around it
        assert never.loc[contrast, "risk_difference"] == 0.0
        assert never.loc[contrast, "rd_ci_low"] < 0 < never.loc[contrast, "rd_ci_high"]
    # never a p of 1.0 (or 0) without a note: an undefined p is empty, never filled in with 1
    # or 0, and a p of exactly 1 (baseline, exact, b = 1, c = 2) carries auto's note
    blank = table[table.note == ""]
    assert not blank.p_value.isin([0.0, 1.0]).any()
    assert not blank.p_adjusted.isin([0.0, 1.0]).any()
    ones = table[table.p_value == 1.0]
    assert len(ones) >= 1 and (ones.note != "").all()
    # the table's own undefined rows: df empty with the statistic (a code never present)
    assert never[["statistic", "df"]].isna().all().all()


def test_tests_table_missing_responses_are_excluded_and_counted():
    # P1 missed post, P2 missed pre1: Cochran uses P3..P6 (4 complete cases, 2 excluded);
    # baseline (pre1, pre2): P2 answered pre2 only -> excluded 1, pairs 5;
    # training (pre2, post): P1 answered pre2 only -> 1 excluded, 5 pairs;
    # overall (pre1, post): P1 (pre1 only) and P2 (post only) -> 2 excluded, 4 pairs
    fc = cohort_from_matrix(HAND_Q, absent={("P1", "post"), ("P2", "pre1")})
    hooked = run_table(fc).query("code == 'hooked'").set_index("contrast")
    assert hooked.loc[["omnibus", "baseline", "training", "overall"], ["n", "n_excluded"]].values.tolist() == [
        [4, 2], [5, 1], [5, 1], [4, 2]]
    # Cochran on P3..P6 rows of HAND_Q: (0,0,1), (0,1,1), (0,0,0), (1,0,1)
    #   C = (1, 1, 3), T = 5, ΣC² = 11, R = (1, 2, 0, 2), ΣR² = 9
    #   Q = 2·(3·11 − 25)/(3·5 − 9) = 2·8/6 = 2.666667; p = exp(−1.333333) = 0.263597
    assert hooked.loc["omnibus", "statistic"] == pytest.approx(8 / 3)
    assert hooked.loc["omnibus", "p_value"] == pytest.approx(0.263597, abs=1e-6)


def test_tests_table_time_point_without_responses():
    fc = cohort_from_matrix(HAND_Q, absent={(f"P{i}", "post") for i in range(1, 7)})
    table = run_table(fc)
    hooked = table[table.code == "hooked"].set_index("contrast")
    assert hooked.loc["omnibus", "n"] == 0 and math.isnan(hooked.loc["omnibus", "p_value"])
    assert "no responses at post" in hooked.loc["omnibus", "note"]
    assert "too few complete cases (0)" in hooked.loc["omnibus", "note"]
    for contrast in ("training", "overall"):
        assert hooked.loc[contrast, "n"] == 0
        assert math.isnan(hooked.loc[contrast, "p_value"]) and math.isnan(hooked.loc[contrast, "risk_difference"])
        assert "no responses at post" in hooked.loc[contrast, "note"]
    # baseline still tested: b = 1, c = 2 -> exact p 1.0 (see above)
    assert hooked.loc["baseline", "p_value"] == pytest.approx(1.0)
    # Holm family: only the baseline p is defined -> adjusted = raw
    assert hooked.loc["baseline", "p_adjusted"] == pytest.approx(1.0)


def test_tests_table_single_participant_and_empty_input():
    table = run_table(cohort_from_matrix([[1, 0, 1]]))
    hooked = table[table.code == "hooked"].set_index("contrast")
    assert math.isnan(hooked.loc["omnibus", "p_value"]) and "too few complete cases (1)" in hooked.loc["omnibus", "note"]
    assert "too few pairs (1)" in hooked.loc["baseline", "note"]
    empty = pd.DataFrame(columns=["response_id", "participant_id", "timepoint", "question", "item",
                                  "code", "present", "source"])
    out = run_table(empty)
    assert list(out.columns) == TESTS_COLUMNS
    assert len(out) == 8 and out.p_value.isna().all() and (out.n == 0).all()


def test_tests_table_method_options():
    fc = cohort_from_matrix(HAND_Q)
    asym = run_table(fc, mcnemar_method="asymptotic", continuity=True, p_adjust="bonferroni")
    row = asym[(asym.code == "hooked") & (asym.contrast == "overall")].iloc[0]
    # b = 0, c = 3: (|0 − 3| − 1)²/3 = 4/3; df 1
    assert row.method == "asymptotic_cc" and row.statistic == pytest.approx(4 / 3) and row.df == 1
    midp = run_table(fc, mcnemar_method="midp", p_adjust="none")
    row = midp[(midp.code == "hooked") & (midp.contrast == "overall")].iloc[0]
    # Bin(3, .5): exact 2·(1/8) = 0.25 minus P(X = 0) = 1/8 -> 0.125; none -> adjusted = raw
    assert row.method == "midp" and row.p_value == pytest.approx(0.125) and row.p_adjusted == row.p_value


def test_tests_table_is_deterministic_under_row_order():
    fc = cohort_from_matrix(HAND_Q, absent={("P1", "post")})
    one = run_table(fc)
    two = run_table(fc.sample(frac=1.0, random_state=11).reset_index(drop=True))
    pd.testing.assert_frame_equal(one, two)


# --------------------------------------------------------------------------- clustered rows

def clustered_cohort():
    # question q, code x, time points pre2 and post, three scenes per participant.
    #        scene:  s1      s2      s3        b_k c_k   participant (any): pre2 -> post
    # P1            1->0    1->0    0->0       2   0      1 -> 0  (first only)
    # P2            0->1    0->0    0->0       0   1      0 -> 1  (second only)
    # P3            1->0    0->1    1->1       1   1      1 -> 1
    # P4            1->0    1->0    0->0       2   0      1 -> 0  (first only)
    # P5            s1 at pre2 only (no post): unpaired
    scenes = {
        "P1": [(1, 0), (1, 0), (0, 0)], "P2": [(0, 1), (0, 0), (0, 0)],
        "P3": [(1, 0), (0, 1), (1, 1)], "P4": [(1, 0), (1, 0), (0, 0)],
    }
    records = []
    for participant, values in scenes.items():
        for number, (first, second) in enumerate(values, start=1):
            records.append((participant, "pre2", "q", f"s{number}", {"x"} if first else set()))
            records.append((participant, "post", "q", f"s{number}", {"x"} if second else set()))
    records.append(("P5", "pre2", "q", "s1", {"x"}))
    return make_final_codes(records, {"q": ["x"]})


def test_clustered_rows_follow_their_participant_rows():
    questions = {"q": {"timepoints": ["pre2", "post"], "codes": ["x"], "multi_label": True}}
    table = build_tests_table(clustered_cohort(), cohort="c", questions=questions, timepoints=TIMEPOINTS,
                        contrasts=CONTRASTS)
    assert list(zip(table.test, table.method, strict=True)) == [
        ("cochran_q", "asymptotic"), ("mcnemar", "exact"), ("mcnemar", "clustered")]
    cochran, person, cluster = (table.iloc[i] for i in range(3))
    # participant level (any): P1, P4 first only -> b = 2; P2 second only -> c = 1; n = 4
    # P5 answered pre2 only -> excluded 1
    assert (person.n, person.b, person.c, person.n_excluded) == (4, 2, 1, 1)
    # exact: Bin(3, .5), 2·P(X ≤ 1) = 2·4/8 = 1.0
    assert person.p_value == pytest.approx(1.0)
    # Cochran with two time points: Q = (b − c)²/(b + c) = 1/3
    assert cochran.statistic == pytest.approx(1 / 3)
    # clustered: 12 scene pairs, b = 2+0+1+2 = 5, c = 0+1+1+0 = 2, 4 participants,
    # 1 unpaired scene (P5 s1); X² = 1.0, p = 0.317311 (Durkalski hand computation above)
    assert (cluster.n, cluster.b, cluster.c, cluster.n_clusters, cluster.n_excluded) == (12, 5, 2, 4, 1)
    assert cluster.statistic == pytest.approx(1.0) and cluster.df == 1
    assert cluster.p_value == pytest.approx(0.317311, abs=1e-6)
    assert cluster.p_adjusted == pytest.approx(cluster.p_value)  # a family of one
    # cluster RD: −0.25 with interval (−0.739991, 0.239991) (cluster_rd hand computation)
    assert cluster.risk_difference == pytest.approx(-0.25)
    assert (cluster.rd_ci_low, cluster.rd_ci_high) == pytest.approx((-0.739991, 0.239991), abs=1e-6)
    assert cluster.rd_ci_method == "wald_cluster"
    assert math.isnan(cluster.odds_ratio)


def test_no_clustered_rows_without_items():
    table = run_table(cohort_from_matrix(HAND_Q))
    assert "clustered" not in set(table.method)


# --------------------------------------------------------------------------- paired_counts

def test_paired_counts_cross_check_with_statsmodels():
    counts = paired_counts(cohort_from_matrix(HAND_Q), questions=QUESTIONS, timepoints=TIMEPOINTS,
                           contrasts=CONTRASTS)
    row = counts[(counts.code == "hooked") & (counts.contrast == "baseline")].iloc[0]
    # a + b + c + d = n; from HAND_Q baseline: a = P1 = 1, b = 1, c = 2, d = P3, P5 = 2
    assert (row.a, row.b, row.c, row.d, row.n) == (1, 1, 2, 2, 6)
    table = [[row.a, row.b], [row.c, row.d]]
    assert mcnemar_test(row.b, row.c, method="exact").p_value == pytest.approx(
        sm_mcnemar(table, exact=True).pvalue)
