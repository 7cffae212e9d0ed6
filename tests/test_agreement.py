"""Tests of alliance_pipeline.coding.agreement against published examples and hand computations."""
from __future__ import annotations

import math

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats import inter_rater

from alliance_pipeline.coding import agreement as ag
from alliance_pipeline.coding.agreement import COLUMNS, agreement_table, alpha_bootstrap
from alliance_pipeline.coding.coefficients import (
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    percent_agreement,
)
from alliance_pipeline.coding.krippendorff_alpha import (
    alpha_from_weights,
    alpha_parts,
    alpha_with_distance,
    krippendorff_alpha_nominal,
    masi_distance,
    masi_distance_matrix,
    nominal_distance,
)
from alliance_pipeline.common.seeds import row_rng

nan = np.nan

# Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for
# Communication, University of Pennsylvania. Section C, "Nominal data, any number of
# observers, missing data": 4 observers x 12 units, reported alpha_nominal = 0.743.
KRIPP_C = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
           [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
           [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
           [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
# Same paper, section A, "Binary or dichotomous data, two observers, no missing data":
# 10 units, reported alpha = 0.095.
KRIPP_A = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
           [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]


def _masi_metric(sets):
    """A krippendorff.alpha distance callable: values are indices into ``sets``."""
    table = np.array([[masi_distance(a, b) for b in sets] for a in sets])

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return table[np.asarray(v1, dtype=int), np.asarray(v2, dtype=int)].astype(dtype)
    return metric


# ------------------------------------------------------------- Krippendorff's alpha

def test_alpha_nominal_krippendorff_2011_section_c():
    # Krippendorff (2011), section C: alpha_nominal = 0.743
    assert round(krippendorff_alpha_nominal(KRIPP_C), 3) == 0.743
    # general alpha with the nominal distance, values 1..5 -> indices 0..4
    assert round(alpha_with_distance(np.array(KRIPP_C) - 1, nominal_distance(5)), 3) == 0.743


def test_alpha_binary_krippendorff_2011_section_a():
    # Krippendorff (2011), section A: alpha = 0.095. By hand: coincidences o00 = 10,
    # o01 = o10 = 4, o11 = 2; n0 = 14, n1 = 6, n = 20;
    # alpha = 1 - (n - 1) o01 / (n0 n1) = 1 - 19 * 4 / 84 = 8/84 = 0.095238...
    assert krippendorff_alpha_nominal(KRIPP_A) == pytest.approx(8 / 84, abs=1e-12)
    assert alpha_with_distance(KRIPP_A, nominal_distance(2)) == pytest.approx(8 / 84, abs=1e-12)


def test_alpha_undefined_is_nan_not_zero_or_one():
    assert math.isnan(krippendorff_alpha_nominal([[0, 0, 0], [0, 0, 0]]))  # no variation
    assert math.isnan(krippendorff_alpha_nominal([[0, 1, nan], [nan, nan, 1]]))  # no pair
    assert math.isnan(alpha_with_distance([[0, 0], [0, 0]], nominal_distance(2)))


def test_identical_coders_alpha_one():
    data = [[0, 1, 1, 0, 1], [0, 1, 1, 0, 1], [0, 1, nan, 0, 1]]
    assert krippendorff_alpha_nominal(data) == 1.0
    assert alpha_with_distance(data, nominal_distance(2)) == 1.0


def test_general_alpha_equals_krippendorff_package_with_masi_metric():
    # Independent reference: krippendorff.alpha with a callable distance.
    sets = [frozenset(), frozenset("a"), frozenset("ab"), frozenset("bc"), frozenset("c")]
    rng = np.random.default_rng(3)
    data = rng.integers(0, len(sets), size=(3, 40)).astype(float)
    data[rng.random(data.shape) < 0.2] = nan
    membership = np.array([[int(c in s) for c in "abc"] for s in sets])
    ours = alpha_with_distance(data, masi_distance_matrix(membership))
    ref = krippendorff.alpha(data, value_domain=np.arange(len(sets)),
                             level_of_measurement=_masi_metric(sets))
    assert ours == pytest.approx(ref, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 4), st.integers(2, 25), st.integers(2, 4), st.integers(0, 2**32 - 1))
def test_general_alpha_matches_package_nominal(n_coders, n_units, n_values, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, n_values, size=(n_coders, n_units)).astype(float)
    data[rng.random(data.shape) < 0.25] = nan
    ours = alpha_with_distance(data, nominal_distance(n_values))
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    values = data[:, pairable][~np.isnan(data[:, pairable])]
    if not pairable.any() or np.unique(values).size < 2:
        assert math.isnan(ours)
        return
    ref = krippendorff.alpha(data, value_domain=np.arange(n_values),
                             level_of_measurement="nominal")
    assert ours == pytest.approx(ref, abs=1e-10)


# --------------------------------------------------------------- fast bootstrap

def test_weights_of_explicit_resamples_equal_package_alpha():
    rng = np.random.default_rng(11)
    data = rng.integers(0, 3, size=(3, 60)).astype(float)
    data[rng.random(data.shape) < 0.15] = nan
    values = np.where(np.isnan(data), -1, data).astype(int)
    parts = alpha_parts(values, nominal_distance(3))
    pairable = (values >= 0).sum(axis=0) >= 2
    kept = data[:, pairable]
    # full sample
    assert alpha_from_weights(parts, parts.multiplicity)[0] == pytest.approx(
        krippendorff.alpha(kept, value_domain=[0, 1, 2], level_of_measurement="nominal"),
        abs=1e-12)
    for _ in range(5):
        idx = rng.integers(0, parts.n_units, parts.n_units)
        weights = np.bincount(parts.unit_pattern[idx], minlength=parts.multiplicity.size)
        ref = krippendorff.alpha(kept[:, idx], value_domain=[0, 1, 2],
                                 level_of_measurement="nominal")
        assert alpha_from_weights(parts, weights)[0] == pytest.approx(ref, abs=1e-12)


def test_index_branch_reproduces_explicit_unit_resamples():
    # With many distinct unit patterns the bootstrap draws unit indices; the alphas must be
    # exactly krippendorff.alpha of those resampled units.
    sets = [frozenset(), frozenset("a"), frozenset("ab"), frozenset("b"), frozenset("abc"),
            frozenset("c")]
    membership = np.array([[int(c in s) for c in "abc"] for s in sets])
    rng = np.random.default_rng(5)
    values = rng.integers(0, len(sets), size=(3, 30))
    parts = alpha_parts(values, masi_distance_matrix(membership))
    assert parts.multiplicity.size * 8 > parts.n_units  # index branch
    draws = list(ag._resample_weights(parts, 4, np.random.default_rng(9)))
    idx = np.random.default_rng(9).integers(0, parts.n_units, size=(4, parts.n_units))
    weights = np.vstack(draws)
    for b in range(4):
        ref = krippendorff.alpha(values[:, idx[b]].astype(float),
                                 value_domain=np.arange(len(sets)),
                                 level_of_measurement=_masi_metric(sets))
        assert alpha_from_weights(parts, weights[b])[0] == pytest.approx(ref, abs=1e-12)


def test_multinomial_branch_resamples_all_units():
    values = np.array([[0, 1] * 200, [0, 1] * 100 + [1, 0] * 100])
    parts = alpha_parts(values, nominal_distance(2))
    assert parts.multiplicity.size * 8 <= parts.n_units  # multinomial branch
    for w in ag._resample_weights(parts, 50, np.random.default_rng(1)):
        assert np.all(w.sum(axis=1) == parts.n_units)


def test_bootstrap_deterministic_and_contains_estimate():
    rng = np.random.default_rng(2)
    truth = rng.random(300) < 0.4
    data = np.vstack([truth ^ (rng.random(300) < 0.1) for _ in range(3)]).astype(float)
    first = alpha_bootstrap(data, nominal_distance(2), resamples=500, seed=42)
    second = alpha_bootstrap(data, nominal_distance(2), resamples=500, seed=42)
    other = alpha_bootstrap(data, nominal_distance(2), resamples=500, seed=43)
    assert first == second
    assert (first.low, first.high) != (other.low, other.high)
    point = krippendorff_alpha_nominal(data)
    assert first.low < point < first.high
    assert first.n_defined == 500


# ------------------------------------------------------------------ kappas and AC1

def test_cohen_kappa_wikipedia_example():
    # Wikipedia "Cohen's kappa", worked example: 50 proposals, both yes 20, A yes/B no 5,
    # A no/B yes 10, both no 15 -> p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=1e-12)


def test_cohen_kappa_krippendorff_binary_by_hand():
    # KRIPP_A by hand: p_o = 6/10; A marks 1 in 2/10, B in 4/10;
    # p_e = 0.2*0.4 + 0.8*0.6 = 0.56; kappa = (0.6 - 0.56) / 0.44 = 1/11 = 0.0909...
    assert cohen_kappa(*KRIPP_A) == pytest.approx(1 / 11, abs=1e-12)


def test_cohen_kappa_drops_missing_and_undefined_is_nan():
    assert cohen_kappa([1, 0, nan, 1], [1, 0, 1, nan]) == 1.0
    assert math.isnan(cohen_kappa([0, 0, 0], [0, 0, 0]))  # p_e = 1: 0/0


def test_fleiss_kappa_fleiss_1971_wikipedia_example():
    # Wikipedia "Fleiss' kappa", worked example (10 subjects, 14 raters, 5 categories):
    # P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
             [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
             [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert round(fleiss_kappa(table), 3) == 0.210
    assert math.isnan(fleiss_kappa([[3, 0], [3, 0]]))  # no variation


def test_gwet_ac1_two_raters_by_hand():
    # The 2x2 table of the Cohen example (20/5/10/15 of 50). Gwet (2008) two-rater AC1:
    # p_a = 35/50 = 0.7; q = mean "yes" marginal = (25/50 + 30/50) / 2 = 0.55;
    # p_e = 2 q (1 - q) = 2 * 0.55 * 0.45 = 0.495; AC1 = (0.7 - 0.495)/(1 - 0.495) = 0.205/0.505
    a = [1] * 25 + [0] * 25
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert gwet_ac1([a, b]) == pytest.approx(0.205 / 0.505, abs=1e-12)
    # KRIPP_A: p_a = 0.6; q = 6/20 = 0.3; p_e = 2*0.3*0.7 = 0.42; AC1 = 0.18/0.58
    assert gwet_ac1(KRIPP_A) == pytest.approx(0.18 / 0.58, abs=1e-12)


def test_gwet_ac1_three_raters_missing_by_hand():
    # units (raters 1..3): u1 (1,1,1), u2 (0,0,-), u3 (1,0,0), u4 (1,-,-)
    # p_a over units rated >= 2 times: u1 3*2/(3*2) = 1, u2 2*1/(2*1) = 1,
    #   u3 (1*0 + 2*1)/(3*2) = 1/3  -> p_a = (1 + 1 + 1/3)/3 = 7/9
    # pi_1 over units rated >= once: (1 + 0 + 1/3 + 1)/4 = 7/12; pi_0 = 5/12
    # p_e = (7/12 * 5/12 + 5/12 * 7/12)/(2 - 1) = 70/144 = 35/72
    # AC1 = (7/9 - 35/72)/(1 - 35/72) = (21/72)/(37/72) = 21/37
    data = [[1, 0, 1, 1], [1, 0, 0, nan], [1, nan, 0, nan]]
    assert gwet_ac1(data) == pytest.approx(21 / 37, abs=1e-12)


def test_gwet_ac1_no_variation_is_defined():
    # Every rating 0 with categories {0, 1}: p_a = 1, pi = (1, 0), p_e = 0 -> AC1 = 1.
    assert gwet_ac1([[0, 0, 0], [0, 0, 0]], categories=[0, 1]) == 1.0
    assert math.isnan(gwet_ac1([[0, 0, 0], [0, 0, 0]]))  # one category: q - 1 = 0


def test_percent_agreement():
    # units with >= 2 codings: 1 (agree), 2 (agree), 3 (differ), 4 (agree); unit 5 has 1 coding
    data = [[1, 0, 1, 0, 1], [1, 0, 0, 0, nan], [nan, 0, 1, 0, nan]]
    assert percent_agreement(data) == 0.75
    assert math.isnan(percent_agreement([[1, nan], [nan, 0]]))


# ----------------------------------------------------------------------------- MASI

def test_masi_distance_passonneau_2006():
    # Passonneau (2006), MASI = 1 - J * M; M: 1 identical, 2/3 subset, 1/3 overlap, 0 disjoint
    assert masi_distance({"a", "b"}, {"b", "a"}) == 0.0
    assert masi_distance(set(), set()) == 0.0
    # subset: J = 1/2, M = 2/3 -> 1 - 1/3
    assert masi_distance({"a"}, {"a", "b"}) == pytest.approx(2 / 3)
    # overlap: {a,b} vs {b,c}: J = 1/3, M = 1/3 -> 1 - 1/9
    assert masi_distance({"a", "b"}, {"b", "c"}) == pytest.approx(8 / 9)
    assert masi_distance({"a"}, {"b"}) == 1.0
    assert masi_distance(set(), {"a"}) == 1.0  # J = 0


def test_masi_matrix_equals_scalar():
    sets = [frozenset(), frozenset("a"), frozenset("ab"), frozenset("bc"), frozenset("abc"),
            frozenset("d")]
    membership = np.array([[int(c in s) for c in "abcd"] for s in sets])
    matrix = masi_distance_matrix(membership)
    for i, a in enumerate(sets):
        for j, b in enumerate(sets):
            assert matrix[i, j] == pytest.approx(masi_distance(a, b), abs=1e-15)


# ------------------------------------------------------------------------ the table

MULTI = {"q_multi": {"multi_label": True, "codes": ["a", "b", "c"], "timepoints": ["pre"]}}
SINGLE = {"q_single": {"multi_label": False, "codes": ["x", "y", "z"], "timepoints": ["pre"]}}


def codings_frame(by_coder: dict[str, list], question: str) -> pd.DataFrame:
    """{coder: [codes or None per response]} -> codings rows (None = not coded)."""
    rows = []
    for coder, codes in by_coder.items():
        for i, value in enumerate(codes):
            if value is not None:
                rows.append({"response_id": f"r{i:03d}", "question": question,
                             "coder": coder, "codes": value})
    return pd.DataFrame(rows, columns=["response_id", "question", "coder", "codes"])


def presence(by_coder, code):
    return [[nan if v is None else float(code in v.split(";")) for v in codes]
            for codes in by_coder.values()]


TWO = {"A": ["a", "a;b", "", "b", "a;c", "c", "a", "b;c", "", "a"],
       "B": ["a", "a", "", "b", "a;c", "c", "a;b", "b;c", "b", None]}
THREE = TWO | {"C": ["a", "a;b", "c", "b", "a", None, "a", "b", "", "a"]}


def test_table_columns_order_and_rows():
    table = agreement_table(codings_frame(TWO, "q_multi"), MULTI, cohort="pilot",
                            bootstrap=200, seed=1)
    assert list(table.columns[:len(COLUMNS)]) == COLUMNS
    assert "alpha_ci_method" in table.columns
    assert table["code"].tolist() == ["a", "b", "c", "*"]
    assert set(table["cohort"]) == {"pilot"}
    assert table["n_units"].tolist() == [9, 9, 9, 9]  # r009 coded by A only
    assert table["n_coders"].tolist() == [2, 2, 2, 2]
    assert table.loc[0, "alpha_ci_method"] == "unit bootstrap, percentile, 200 resamples"


def test_table_code_rows_match_references_two_coders():
    table = agreement_table(codings_frame(TWO, "q_multi"), MULTI, cohort="p", bootstrap=100,
                            seed=1).set_index("code")
    for code in "abc":
        data = presence(TWO, code)
        ref_alpha = krippendorff.alpha(data, level_of_measurement="nominal")
        assert table.loc[code, "krippendorff_alpha"] == pytest.approx(ref_alpha, abs=1e-12)
        both = ~np.isnan(np.array(data)).any(axis=0)
        a, b = np.array(data)[:, both].astype(int)
        tab = np.zeros((2, 2))
        np.add.at(tab, (a, b), 1)
        ref_kappa = inter_rater.cohens_kappa(tab, return_results=False)
        assert table.loc[code, "cohen_kappa"] == pytest.approx(ref_kappa, abs=1e-12)
        assert math.isnan(table.loc[code, "fleiss_kappa"])
        assert table.loc[code, "gwet_ac1"] == pytest.approx(gwet_ac1(data, [0.0, 1.0]))


def test_table_star_row_multi_label_is_masi_alpha():
    table = agreement_table(codings_frame(TWO, "q_multi"), MULTI, cohort="p", bootstrap=100,
                            seed=1).set_index("code")
    labels = sorted({v for codes in TWO.values() for v in codes if v is not None})
    sets = [frozenset(filter(None, label.split(";"))) for label in labels]
    data = [[nan if v is None else labels.index(v) for v in codes] for codes in TWO.values()]
    ref = krippendorff.alpha(data, value_domain=np.arange(len(sets)),
                             level_of_measurement=_masi_metric(sets))
    assert table.loc["*", "krippendorff_alpha"] == pytest.approx(ref, abs=1e-12)
    # identical sets on 6 of the 9 units coded twice (r000, r002, r003, r004, r005, r007)
    assert table.loc["*", "percent_agreement"] == pytest.approx(6 / 9)
    assert math.isnan(table.loc["*", "cohen_kappa"]) and math.isnan(table.loc["*", "gwet_ac1"])
    assert "MASI" in table.loc["*", "note"]


def test_table_single_label_star_row_nominal():
    coded = {"A": ["x", "y", "z", "x", "y", "", "x"], "B": ["x", "y", "y", "x", "z", "", "x"]}
    table = agreement_table(codings_frame(coded, "q_single"), SINGLE, cohort="p",
                            bootstrap=100, seed=1).set_index("code")
    # nominal alpha over the code strings ('' = none), reference: the krippendorff package
    data = [[{"": 0, "x": 1, "y": 2, "z": 3}[v] for v in codes] for codes in coded.values()]
    ref = krippendorff.alpha(data, level_of_measurement="nominal")
    assert table.loc["*", "krippendorff_alpha"] == pytest.approx(ref, abs=1e-12)
    assert table.loc["*", "cohen_kappa"] == pytest.approx(cohen_kappa(*coded.values()))
    assert table.loc["*", "percent_agreement"] == pytest.approx(5 / 7)
    # AC1 with q = 3 codes + 'none' = 4 categories
    assert table.loc["*", "gwet_ac1"] == pytest.approx(
        gwet_ac1(data, categories=[0, 1, 2, 3]), abs=1e-12)


def test_three_coders_fleiss_filled_cohen_empty():
    table = agreement_table(codings_frame(THREE, "q_multi"), MULTI, cohort="p",
                            bootstrap=100, seed=1).set_index("code")
    assert table["n_coders"].eq(3).all()
    assert table.loc[["a", "b", "c"], "cohen_kappa"].isna().all()
    data = np.array(presence(THREE, "a"))
    complete = ~np.isnan(data).any(axis=0)
    counts = np.stack([(data[:, complete] == 0).sum(0), (data[:, complete] == 1).sum(0)], 1)
    assert table.loc["a", "fleiss_kappa"] == pytest.approx(
        inter_rater.fleiss_kappa(counts), abs=1e-12)
    # r005 (C missing) and r009 (B missing) are not coded by all three
    assert "fleiss_kappa on the 8 of 10 responses" in table.loc["a", "note"]
    assert table.loc["a", "krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(data, level_of_measurement="nominal"), abs=1e-12)


def test_no_variation_code_is_nan_with_note():
    coded = {"A": ["a", "", "a;b", ""], "B": ["a", "", "b", "a"]}  # code c never assigned
    table = agreement_table(codings_frame(coded, "q_multi"), MULTI, cohort="p",
                            bootstrap=100, seed=1).set_index("code")
    row = table.loc["c"]
    for column in ("krippendorff_alpha", "cohen_kappa", "alpha_ci_low", "alpha_ci_high"):
        assert math.isnan(row[column])
    assert row["percent_agreement"] == 1.0
    assert row["verdict"] == ""
    assert "no variation: code never assigned" in row["note"]


def test_identical_coders_alpha_one_in_table():
    coded = {"A": ["a", "b", "a;b", "", "c"], "B": ["a", "b", "a;b", "", "c"]}
    table = agreement_table(codings_frame(coded, "q_multi"), MULTI, cohort="p",
                            bootstrap=100, seed=1).set_index("code")
    assert table["krippendorff_alpha"].eq(1.0).all()
    assert table["verdict"].eq("good").all()


def test_single_coder_and_no_pairs_are_nan_with_note():
    table = agreement_table(codings_frame({"A": ["a", "b"]}, "q_multi"), MULTI, cohort="p",
                            bootstrap=100, seed=1)
    assert table["krippendorff_alpha"].isna().all()
    assert table["percent_agreement"].isna().all()
    assert table["note"].str.contains("fewer than 2 coders").all()
    apart = codings_frame({"A": ["a", None], "B": [None, "a"]}, "q_multi")
    table = agreement_table(apart, MULTI, cohort="p", bootstrap=100, seed=1)
    assert table["n_units"].eq(0).all()
    assert table["note"].str.contains("no response coded by 2 or more coders").all()
    assert table["verdict"].eq("").all()


def test_question_without_codings_gets_rows():
    table = agreement_table(codings_frame(TWO, "q_multi"), MULTI | SINGLE, cohort="p",
                            bootstrap=50, seed=1)
    assert table["question"].tolist() == ["q_multi"] * 4 + ["q_single"] * 4
    assert table["code"].tolist()[4:] == ["x", "y", "z", "*"]
    assert table.loc[table["question"] == "q_single", "krippendorff_alpha"].isna().all()


def test_verdict_thresholds():
    assert ag._verdict(0.80, 0.667, 0.8) == "good"
    assert ag._verdict(0.7999, 0.667, 0.8) == "tentative"
    assert ag._verdict(0.667, 0.667, 0.8) == "tentative"
    assert ag._verdict(0.5, 0.667, 0.8) == "insufficient"
    assert ag._verdict(nan, 0.667, 0.8) == ""


def test_table_deterministic_bytes_and_ci_contains_estimate():
    rng = np.random.default_rng(8)
    truth = rng.random((400, 3)) < [0.2, 0.4, 0.5]
    coded = {}
    for coder in "ABC":
        given = truth ^ (rng.random(truth.shape) < 0.08)
        coded[coder] = [";".join(c for c, p in zip("abc", row, strict=True) if p) for row in given]
    frame = codings_frame(coded, "q_multi")
    first = agreement_table(frame, MULTI, cohort="p", bootstrap=300, seed=20250601)
    second = agreement_table(frame.sample(frac=1, random_state=1), MULTI, cohort="p",
                             bootstrap=300, seed=20250601)
    assert first.to_csv(index=False) == second.to_csv(index=False)
    other = agreement_table(frame, MULTI, cohort="p", bootstrap=300, seed=1)
    assert not first["alpha_ci_low"].equals(other["alpha_ci_low"])
    assert (first["alpha_ci_low"] < first["krippendorff_alpha"]).all()
    assert (first["krippendorff_alpha"] < first["alpha_ci_high"]).all()


def explicit_bootstrap(data, rng, resamples, confidence):
    """Independent reference: resample the units (columns) with replacement, B times, with
    ``rng.integers(0, n, size=(B, n))``; krippendorff.alpha (nominal) of each resample; NaN
    resamples left out; percentile interval by numpy.quantile (linear) at (1 ± confidence)/2."""
    data = np.asarray(data, dtype=float)
    idx = rng.integers(0, data.shape[1], size=(resamples, data.shape[1]))
    alphas = []
    for b in range(resamples):
        sample = data[:, idx[b]]
        seen = np.unique(sample[~np.isnan(sample)])
        if seen.size < 2:
            continue  # no variation: alpha undefined
        alphas.append(krippendorff.alpha(sample, value_domain=[0, 1], level_of_measurement="nominal"))
    tail = (1 - confidence) / 2
    return tuple(np.quantile(alphas, [tail, 1 - tail]))


# 3 coders x 20 responses of code "a" (multi-label question): 20 units with 4 value patterns,
# so the package draws unit indices (patterns · 8 > units), as the explicit bootstrap does.
PINNED = {"A": ["a", "a", "", "a;b", "", "a", "", "", "a", "b", "a", "", "a", "", "", "a", "c", "a", "", ""],
          "B": ["a", "", "", "a", "", "a", "a", "", "a", "", "a", "", "", "", "b", "a", "", "a", "", "a"],
          "C": ["a", "a", "", "a", "a", "", "", "", "a", "", "a", "", "a", "", "", "", "", "a", "", ""]}


@pytest.mark.parametrize("confidence", [0.95, 0.90, 0.80])
def test_table_alpha_interval_is_the_explicit_bootstrap_at_its_level(confidence):
    table = agreement_table(codings_frame(PINNED, "q_multi"), MULTI, cohort="p", bootstrap=400,
                            seed=7, confidence=confidence).set_index("code")
    data = np.array([[float("a" in codes.split(";")) for codes in PINNED[c]] for c in "ABC"])
    # the row's generator: seed 7 with the question and the code (seeds.row_rng)
    low, high = explicit_bootstrap(data, row_rng(7, "q_multi", "a"), 400, confidence)
    assert table.loc["a", "alpha_ci_low"] == pytest.approx(low, abs=1e-12)
    assert table.loc["a", "alpha_ci_high"] == pytest.approx(high, abs=1e-12)


def test_alpha_bootstrap_function_is_the_explicit_bootstrap():
    rng = np.random.default_rng(11)
    data = (rng.random((3, 25)) < 0.4).astype(float)
    data[rng.random(data.shape) < 0.1] = nan
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    ci = alpha_bootstrap(data, nominal_distance(2), resamples=300, seed=5, confidence=0.9)
    low, high = explicit_bootstrap(data[:, pairable], np.random.default_rng(5), 300, 0.9)
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-12)


def test_lower_confidence_gives_a_narrower_interval():
    rng = np.random.default_rng(2)
    truth = rng.random(300) < 0.4
    data = np.vstack([truth ^ (rng.random(300) < 0.1) for _ in range(3)]).astype(float)
    widths = []
    for confidence in (0.99, 0.95, 0.90, 0.80):
        ci = alpha_bootstrap(data, nominal_distance(2), resamples=1000, seed=3, confidence=confidence)
        widths.append(ci.high - ci.low)
    assert widths == sorted(widths, reverse=True) and len(set(widths)) == 4
    frame = codings_frame(PINNED, "q_multi")
    wide, narrow = (agreement_table(frame, MULTI, cohort="p", bootstrap=400, seed=7,
                                    confidence=c).set_index("code") for c in (0.95, 0.80))
    for code in ("a", "*"):
        assert (narrow.loc[code, "alpha_ci_high"] - narrow.loc[code, "alpha_ci_low"]
                < wide.loc[code, "alpha_ci_high"] - wide.loc[code, "alpha_ci_low"])


def test_rare_code_ci_notes_undefined_resamples():
    coded = {"A": ["a"] + [""] * 9, "B": ["a"] + [""] * 9}
    table = agreement_table(codings_frame(coded, "q_multi"), MULTI, cohort="p",
                            bootstrap=400, seed=1).set_index("code")
    # alpha = 1 (one unit with the code, both coders agree); about (9/10)^10 = 35 % of the
    # resamples miss that unit and have no variation
    assert table.loc["a", "krippendorff_alpha"] == 1.0
    assert "resamples with variation" in table.loc["a", "note"]


def test_unknown_code_or_question_raises():
    with pytest.raises(ValueError, match="not in its codebook"):
        agreement_table(codings_frame({"A": ["zz"], "B": ["a"]}, "q_multi"), MULTI,
                        cohort="p", bootstrap=10)
    with pytest.raises(ValueError, match="not in the codebook"):
        agreement_table(codings_frame({"A": ["a"], "B": ["a"]}, "q_other"), MULTI,
                        cohort="p", bootstrap=10)
