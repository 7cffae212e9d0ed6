"""Tests of alliance_pipeline.study.pooling against hand computation.

The running example: three cohorts, one code, the training contrast (pre2 -> post).

    cohort   n    b    c    (b: code at pre2 only, c: at post only)
    A        22   7    0    the pilot's "hooked" (data/raw/pilot: 7 of 22 pairs lost it)
    B        22   7    0    a copy of the pilot
    C        40   10   4    a generated cohort

Sums: Σb = 24, Σc = 4, Σm = Σ(b + c) = 28, N = Σn = 84. Every expected number below is
worked out in the comment beside it; z = 1.959964 (97.5 % normal quantile); chi-square tails:
with 1 df P(χ² > x) = erfc(√(x/2)), with 2 df P(χ² > x) = exp(−x/2) exactly.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alliance_pipeline.change.mcnemar import mcnemar_test
from alliance_pipeline.study.pooling import (
    COHORT_COLUMNS,
    POOLED_COLUMNS,
    cochran_q,
    cohort_table,
    contrast_rows,
    discordant_homogeneity,
    i_squared,
    mh_risk_difference,
    paired_rd_variance,
    pooled_table,
)

Z = 1.959963984540054


def make_tests(counts, *, question="session_experience", code="hooked", contrast="training",
               timepoints="pre2|post"):
    """Minimal tests.csv rows (participant-level McNemar) from {cohort: (n, b, c)}."""
    rows = []
    for cohort, (n, b, c) in counts.items():
        rows.append({"cohort": cohort, "question": question, "code": code, "test": "mcnemar",
                     "contrast": contrast, "timepoints": timepoints, "n": n, "b": b, "c": c,
                     "method": "exact", "risk_difference": (c - b) / n if n else np.nan,
                     "rd_ci_low": np.nan, "rd_ci_high": np.nan, "odds_ratio": np.nan,
                     "or_ci_low": np.nan, "or_ci_high": np.nan, "p_value": np.nan,
                     "p_adjusted": np.nan, "note": ""})
    return pd.DataFrame(rows)


EXAMPLE = {"A": (22, 7, 0), "B": (22, 7, 0), "C": (40, 10, 4)}


@pytest.fixture
def pooled():
    table = pooled_table(make_tests(EXAMPLE), cohorts=list(EXAMPLE), exact_below=25)
    assert list(table.columns) == POOLED_COLUMNS
    assert len(table) == 1
    return table.iloc[0]


def test_mantel_haenszel_test_for_matched_pairs(pooled):
    # X²_MH = (Σ(b_k − c_k))² / Σ(b_k + c_k) = (7 + 7 + 6)² / (7 + 7 + 14) = 400 / 28 = 14.2857
    assert (pooled["n"], pooled["b"], pooled["c"]) == (84, 24, 4)
    assert pooled["statistic"] == pytest.approx(400 / 28)
    assert pooled["df"] == 1
    # Σm = 28 >= exact_below 25, so auto is asymptotic: p = erfc(√(14.2857 / 2)) = 1.5705e-4
    assert pooled["method"] == "asymptotic"
    assert pooled["p_value"] == pytest.approx(math.erfc(math.sqrt(400 / 28 / 2)), rel=1e-9)
    assert pooled["p_value"] == pytest.approx(1.5705e-4, rel=1e-4)
    assert pooled["cohorts"] == "A|B|C" and pooled["n_cohorts"] == 3


def test_mantel_haenszel_odds_ratio(pooled):
    # OR_MH over pair-strata = Σc / Σb = 4 / 24 = 0.1667; exact conditional interval:
    # Clopper–Pearson for π = 4/28: π_L = Beta(0.025; 4, 25), π_U = Beta(0.975; 5, 24), mapped
    # by π / (1 − π)
    assert pooled["odds_ratio"] == pytest.approx(4 / 24)
    low_p, high_p = stats.beta.ppf(0.025, 4, 25), stats.beta.ppf(0.975, 5, 24)
    assert pooled["or_ci_low"] == pytest.approx(low_p / (1 - low_p))
    assert pooled["or_ci_high"] == pytest.approx(high_p / (1 - high_p))
    assert pooled["or_method"] == "mantel_haenszel_exact_conditional"


def test_mantel_haenszel_risk_difference(pooled):
    # RD_MH = Σ(c_k − b_k) / Σn_k = (−7 − 7 − 6) / 84 = −20/84 = −0.238095
    # Var = Σ[(b_k + c_k) − (c_k − b_k)²/n_k] / N²
    #     = [(7 − 49/22) + (7 − 49/22) + (14 − 36/40)] / 84² = (2491/110) / 7056 = 0.00320939
    # SE = 0.0566515; CI = −0.238095 ± 1.959964 · 0.0566515 = [−0.349130, −0.127060]
    variance = float(Fraction(2491, 110) / 84 ** 2)
    assert pooled["risk_difference"] == pytest.approx(-20 / 84)
    assert pooled["rd_ci_low"] == pytest.approx(-20 / 84 - Z * math.sqrt(variance))
    assert pooled["rd_ci_high"] == pytest.approx(-20 / 84 + Z * math.sqrt(variance))
    assert pooled["rd_ci_low"] == pytest.approx(-0.349130, abs=1e-6)
    assert pooled["rd_ci_high"] == pytest.approx(-0.127060, abs=1e-6)
    assert pooled["rd_method"] == "mantel_haenszel_wald"


def test_odds_ratio_heterogeneity(pooled):
    # m = (7, 7, 14), c = (0, 0, 4); π̂ = Σc/Σm = 4/28 = 1/7; expected c: m·π̂ = (1, 1, 2)
    # Q = Σ (c − mπ̂)² / (m π̂ (1 − π̂)) = 1/(6/7) + 1/(6/7) + 4/(12/7) = 7/6 + 7/6 + 7/3 = 14/3
    # df = 2; p = exp(−14/6) = 0.096972; I² = (14/3 − 2)/(14/3) = 4/7 = 0.5714
    assert pooled["het_or_statistic"] == pytest.approx(14 / 3)
    assert pooled["het_or_df"] == 2
    assert pooled["het_or_p"] == pytest.approx(math.exp(-7 / 3))
    assert pooled["het_or_i2"] == pytest.approx(4 / 7)


def test_risk_difference_heterogeneity(pooled):
    # Var(RD_k) = [(b + c)/n − ((c − b)/n)²] / n:
    #   A, B: [(7/22) − (7/22)²] / 22 = (7/22)(15/22)/22 = 105/10648
    #   C:    [(14/40) − (6/40)²] / 40 = 131/16000
    # w = 1/Var: 10648/105, 10648/105, 16000/131; RD_k = −7/22, −7/22, −6/40
    # RD_IV = Σ w RD / Σ w = −142457/558722 = −0.254969
    # Q = Σ w (RD_k − RD_IV)² = 602360/279361 = 2.156206; df = 2; p = exp(−Q/2) = 0.340240
    # I² = (2.156206 − 2)/2.156206 = 0.072445
    q = float(Fraction(602360, 279361))
    assert pooled["het_rd_statistic"] == pytest.approx(q)
    assert pooled["het_rd_df"] == 2
    assert pooled["het_rd_p"] == pytest.approx(math.exp(-q / 2))
    assert pooled["het_rd_i2"] == pytest.approx((q - 2) / q)
    _, _, _, iv, _ = cochran_q([-7 / 22, -7 / 22, -6 / 40], [105 / 10648, 105 / 10648, 131 / 16000])
    assert iv == pytest.approx(-142457 / 558722)


def test_one_cohort_is_mcnemar():
    # With one cohort X²_MH is McNemar's (b − c)² / (b + c): (10 − 4)² / 14 = 2.5714
    one = pooled_table(make_tests({"C": (40, 10, 4)}), mcnemar_method="asymptotic").iloc[0]
    assert one["statistic"] == pytest.approx(36 / 14)
    assert one["p_value"] == pytest.approx(mcnemar_test(10, 4, method="asymptotic").p_value)
    # the pooled RD is the cohort's (c − b)/n = −6/40 with Wald variance (131/16000)
    assert one["risk_difference"] == pytest.approx(-0.15)
    assert one["rd_ci_high"] - one["risk_difference"] == pytest.approx(Z * math.sqrt(131 / 16000))
    # heterogeneity needs two cohorts
    assert np.isnan(one["het_or_statistic"]) and np.isnan(one["het_rd_statistic"])
    assert "two cohorts" in one["note"]


def test_exact_pooled_test_is_binomial_on_pooled_discordant_pairs():
    # b = (3, 2), c = (0, 1): Σb = 5, Σc = 1, Σm = 6 < 25 -> exact. Under H0 Σc ~ Bin(6, 1/2):
    # p = 2 · P(X <= 1) = 2 · (1 + 6)/64 = 14/64 = 0.21875; X²_MH = (5 − 1)² / 6 = 16/6
    row = pooled_table(make_tests({"A": (10, 3, 0), "B": (12, 2, 1)})).iloc[0]
    assert row["method"] == "exact"
    assert row["p_value"] == pytest.approx(14 / 64)
    assert row["statistic"] == pytest.approx(16 / 6)
    assert "auto: Σ(b + c) = 6 < 25" in row["note"]


def test_continuity_corrected_statistic():
    # (|Σb − Σc| − 1)² / Σm = (|24 − 4| − 1)² / 28 = 361/28
    row = pooled_table(make_tests(EXAMPLE), mcnemar_method="asymptotic", continuity=True).iloc[0]
    assert row["method"] == "asymptotic_cc"
    assert row["statistic"] == pytest.approx(361 / 28)
    assert row["p_value"] == pytest.approx(math.erfc(math.sqrt(361 / 28 / 2)))


def test_continuity_correction_never_past_zero_in_the_pooled_test():
    # A: b = 3, c = 5; B: b = 6, c = 4 -> Σb = Σc = 9, Σm = 18. Edwards' correction moves
    # |Σb − Σc| = 0 no further: X² = max(0, 0 − 1)² / 18 = 0, p = 1 (R: mcnemar.test on the
    # pooled discordant pairs, matrix(c(0, 9, 9, 0), 2), prints X² = 0, p-value = 1).
    # Statistic and p come from the same corrected X²: before the fix p was P(χ² > 1/18) = 0.81.
    row = pooled_table(make_tests({"A": (10, 3, 5), "B": (12, 6, 4)}), mcnemar_method="asymptotic",
                       continuity=True).iloc[0]
    assert row["method"] == "asymptotic_cc"
    assert row["statistic"] == 0.0 and row["p_value"] == 1.0 and row["p_adjusted"] == 1.0


def test_no_discordant_pairs_anywhere_leaves_test_empty():
    row = pooled_table(make_tests({"A": (10, 0, 0), "B": (12, 0, 0)})).iloc[0]
    assert np.isnan(row["statistic"]) and np.isnan(row["p_value"]) and pd.isna(row["df"])
    assert np.isnan(row["odds_ratio"])
    # RD_MH = 0/22 = 0 but its variance is 0: no interval
    assert row["risk_difference"] == 0 and np.isnan(row["rd_ci_low"])
    assert "no discordant pairs in any cohort" in row["note"]


def test_heterogeneity_undefined_when_every_change_goes_one_way():
    # c = 0 in both cohorts: π̂ = 0, the homogeneity χ² is 0/0
    q, df, p, note = discordant_homogeneity([7, 7], [0, 0])
    assert np.isnan(q) and np.isnan(p) and df == 1
    assert "same direction" in note


def test_cohort_without_variance_is_left_out_of_cochran_q():
    # B: b = c = 0, n = 10 -> Var = 0; Q over A and C only (df 1), B named in the note
    q, df, p, _, note = cochran_q([-7 / 22, 0.0, -6 / 40], [105 / 10648, 0.0, 131 / 16000],
                                  ["A", "B", "C"])
    assert df == 1 and "B" in note
    # hand: w = 10648/105, 16000/131; Q = w_A w_C (RD_A − RD_C)² / (w_A + w_C)
    w_a, w_c = 10648 / 105, 16000 / 131
    assert q == pytest.approx(w_a * w_c * (-7 / 22 + 6 / 40) ** 2 / (w_a + w_c))
    assert p == pytest.approx(math.erfc(math.sqrt(q / 2)))


def test_i_squared():
    assert i_squared(14 / 3, 2) == pytest.approx(4 / 7)
    assert i_squared(1.0, 2) == 0.0      # Q below its df: no excess heterogeneity
    assert i_squared(0.0, 1) == 0.0
    assert np.isnan(i_squared(float("nan"), 1))


def test_paired_rd_variance_and_mh_rd_by_hand():
    assert paired_rd_variance([22, 40], [7, 10], [0, 4]) == pytest.approx([105 / 10648, 131 / 16000])
    assert np.isnan(paired_rd_variance([0], [0], [0])[0])
    rd, low, high = mh_risk_difference([22, 22, 40], [7, 7, 10], [0, 0, 4])
    assert rd == pytest.approx(-20 / 84)
    assert all(np.isnan(v) for v in mh_risk_difference([0], [0], [0]))   # no pairs at all


def test_cohort_table_weights_and_order():
    table = cohort_table(make_tests(EXAMPLE), cohorts=["C", "A", "B"])
    assert list(table.columns) == COHORT_COLUMNS
    assert list(table["cohort"]) == ["C", "A", "B"]          # config order, not table order
    # MH weights n_k / N: 40/84, 22/84, 22/84
    assert table["mh_weight"].tolist() == pytest.approx([40 / 84, 22 / 84, 22 / 84])
    assert table["rd_variance"].tolist() == pytest.approx([131 / 16000, 105 / 10648, 105 / 10648])


def test_only_participant_level_mcnemar_rows_enter():
    rows = make_tests(EXAMPLE)
    extra = rows.iloc[[0]].assign(method="clustered", b=100, c=0)      # item-level row
    cochran = rows.iloc[[0]].assign(test="cochran_q", contrast="omnibus", b=np.nan, c=np.nan)
    stacked = pd.concat([rows, extra, cochran], ignore_index=True)
    assert len(contrast_rows(stacked)) == 3
    row = pooled_table(stacked).iloc[0]
    assert (row["b"], row["c"]) == (24, 4)


def test_p_adjusted_across_contrasts_of_a_code():
    # three contrasts of one code, the largest p first so that the order matters. Σm >= 25 in
    # each, so auto is asymptotic and p = erfc(√(X²/2)) from the pooled counts, by hand:
    #   baseline  A, B (22, 5, 2), C (40, 6, 6): Σb = 16, Σc = 10, Σm = 26, X² = 36/26
    #   training  EXAMPLE: Σb = 24, Σc = 4, Σm = 28, X² = 400/28
    #   overall   A, B (22, 6, 1), C (40, 9, 4): Σb = 21, Σc = 6, Σm = 27, X² = 225/27
    frames = [make_tests({"A": (22, 5, 2), "B": (22, 5, 2), "C": (40, 6, 6)}, contrast="baseline",
                         timepoints="pre1|pre2"),
              make_tests(EXAMPLE, contrast="training"),
              make_tests({"A": (22, 6, 1), "B": (22, 6, 1), "C": (40, 9, 4)}, contrast="overall",
                         timepoints="pre1|post")]
    stacked = pd.concat(frames, ignore_index=True)
    p = [math.erfc(math.sqrt(x / 2)) for x in (36 / 26, 400 / 28, 225 / 27)]
    # p ≈ (0.2393, 0.000157, 0.00389): sorted training, overall, baseline; Holm 3·p_train,
    # max(3·p_train, 2·p_overall), max(.., p_baseline); back in table order
    holm = [max(3 * p[1], 2 * p[2], p[0]), 3 * p[1], max(3 * p[1], 2 * p[2])]
    bonferroni = [min(1.0, 3 * v) for v in p]
    for method, expected in (("holm", holm), ("bonferroni", bonferroni)):
        table = pooled_table(stacked, cohorts=list(EXAMPLE), p_adjust=method)
        assert list(table["contrast"]) == ["baseline", "training", "overall"]
        assert table["p_value"].tolist() == pytest.approx(p, rel=1e-9)
        assert table["p_adjusted"].tolist() == pytest.approx(expected, rel=1e-9)
    # the order matters here: the sorted-order answer would differ in the first place
    assert sorted(holm) != holm


def test_unknown_cohort_is_an_error():
    with pytest.raises(ValueError, match="not configured: C"):
        pooled_table(make_tests(EXAMPLE), cohorts=["A", "B"])
