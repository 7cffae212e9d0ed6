"""Tests of alliance_pipeline.change.power (Connor 1987 sample size for McNemar's test).

Every expected number names its source. Normal quantiles used in the hand computations:
z_0.975 = 1.959964, z_0.80 = 0.841621, z_0.90 = 1.281552.
"""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_pipeline.change.power import (
    POWER_COLUMNS,
    connor_sample_size,
    difference_sample_size,
    power_table,
)
from conftest import make_final_codes

TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}
CONTRACT_COLUMNS = ["cohort", "question", "code", "contrast", "p10", "p01", "alpha", "power",
                    "effect_scale", "n_required", "method"]


# Chow, Shao & Wang (2003) Sample Size Calculations in Clinical Research, Example 6.4.3
# (McNemar's test): p10 = 0.2, p01 = 0.5, alpha = 0.05 two-sided, power 80 % -> n = 59
# (the R package TrialSize reproduces it: McNemar.Test(0.05, 0.2, 0.2/0.5, 0.7) = 59).
# By hand: ψ = 0.7, δ = 0.3; z_0.975·√ψ = 1.959964·0.836660 = 1.639824;
#   z_0.80·√(ψ − δ²) = 0.841621·√0.61 = 0.841621·0.781025 = 0.657327;
#   (1.639824 + 0.657327)² / 0.09 = 2.297151² / 0.09 = 5.276901 / 0.09 = 58.632 -> 59
def test_connor_chow_shao_wang_example():
    assert connor_sample_size(0.2, 0.5, alpha=0.05, power=0.8) == 59


def test_connor_by_hand_other_power_and_half_effect():
    # power 0.90: 1.281552·0.781025 = 1.000924; (1.639824 + 1.000924)² = 2.640748² = 6.973546
    #   / 0.09 = 77.484 -> 78
    assert connor_sample_size(0.2, 0.5, power=0.9) == 78
    # effect_scale 0.5: δ = 0.15, ψ = 0.7 kept; √(0.7 − 0.0225) = √0.6775 = 0.823104
    #   power 0.80: 0.841621·0.823104 = 0.692742; (1.639824 + 0.692742)² = 2.332565² = 5.440861
    #   / 0.0225 = 241.816 -> 242
    assert connor_sample_size(0.2, 0.5, power=0.8, effect_scale=0.5) == 242
    #   power 0.90: 1.281552·0.823104 = 1.054850; (1.639824 + 1.054850)² = 2.694674² = 7.261266
    #   / 0.0225 = 322.723 -> 323
    assert connor_sample_size(0.2, 0.5, power=0.9, effect_scale=0.5) == 323


def test_connor_direction_does_not_matter_and_no_change_is_undefined():
    # δ enters squared: p10 = 0.5, p01 = 0.2 needs the same 59 pairs
    assert connor_sample_size(0.5, 0.2) == 59
    assert math.isnan(connor_sample_size(0.3, 0.3))


@settings(max_examples=200, deadline=None)
@given(p10=st.floats(0, 0.5), p01=st.floats(0, 0.5))
def test_connor_more_power_or_smaller_effect_needs_more_pairs(p10, p01):
    if abs(p01 - p10) < 1e-6:
        return
    n80 = connor_sample_size(p10, p01, power=0.8)
    assert n80 >= 1
    assert connor_sample_size(p10, p01, power=0.9) >= n80
    assert connor_sample_size(p10, p01, power=0.8, effect_scale=0.5) >= n80


def cohort(b, c, n, absent_post=0):
    """n participants answering pre2 and post; b have code x at pre2 only, c at post only;
    ``absent_post`` extra participants answered pre2 only (they are not pairs)."""
    records = []
    for i in range(n):
        first = i < b
        second = b <= i < b + c
        records.append((f"P{i:03d}", "pre2", "q", "", {"x"} if first else set()))
        records.append((f"P{i:03d}", "post", "q", "", {"x"} if second else set()))
    for i in range(absent_post):
        records.append((f"Q{i:03d}", "pre2", "q", "", {"x"}))
    return make_final_codes(records, {"q": ["x", "y"]})


QUESTIONS = {"q": {"timepoints": ["pre2", "post"], "codes": ["x", "y"], "multi_label": True},
             "only_post": {"timepoints": ["post"], "codes": ["z"], "multi_label": True}}


def test_power_table_reproduces_the_published_example():
    # 10 pairs, b = 2, c = 5 -> p10 = 0.2, p01 = 0.5 (Chow et al. Example 6.4.3 shares);
    # 3 more participants answered pre2 only: not pairs, so the shares stay over 10.
    table = power_table(cohort(2, 5, 10, absent_post=3), cohort="pilot", questions=QUESTIONS,
                        timepoints=TIMEPOINTS, contrasts=CONTRASTS)
    assert list(table.columns)[:len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    assert list(table.columns) == POWER_COLUMNS
    x = table[table.code == "x"]
    # only the training contrast has both time points of q; only_post has no contrasts
    assert set(table.contrast) == {"training"} and set(table.question) == {"q"}
    assert x[["power", "effect_scale"]].values.tolist() == [[0.8, 1.0], [0.9, 1.0], [0.8, 0.5], [0.9, 0.5]]
    assert (x.p10 == 0.2).all() and (x.p01 == 0.5).all() and (x.n_pairs == 10).all()
    # 59 and 78 (effect as observed), 242 and 323 (half the effect): hand computations above
    assert x.n_required.tolist() == [59, 78, 242, 323]
    assert (x.method == "connor1987").all() and (x.alpha == 0.05).all()
    assert x.psi.tolist() == pytest.approx([0.7] * 4)
    assert x.delta.tolist() == pytest.approx([0.3, 0.3, 0.15, 0.15])
    # code y never present: δ = 0 -> empty n_required with a note, never 0
    y = table[table.code == "y"]
    assert y.n_required.isna().all() and (y.note != "").all()
    assert (y.p10 == 0.0).all() and (y.p01 == 0.0).all()


def test_power_table_options_and_no_pairs():
    table = power_table(cohort(2, 5, 10), cohort="pilot", questions=QUESTIONS, timepoints=TIMEPOINTS,
                        contrasts=CONTRASTS, alpha=0.05, targets=(0.8,), effect_scales=(1.0,))
    assert table[table.code == "x"].n_required.tolist() == [59]
    # nobody answered post: no pairs -> shares and n_required empty, with a note
    records = [(f"P{i}", "pre2", "q", "", {"x"}) for i in range(5)]
    fc = make_final_codes(records, {"q": ["x", "y"]})
    empty = power_table(fc, cohort="pilot", questions=QUESTIONS, timepoints=TIMEPOINTS, contrasts=CONTRASTS)
    assert empty.n_required.isna().all() and empty.p10.isna().all()
    assert (empty.note == "no pairs: sample size not estimable").all()


# --------------------------------------------------------------------------- difference of changes

def test_difference_sample_size_matches_gpower():
    # G*Power 3.1, t tests, "Means: Difference from constant (one sample case)", two tails,
    # α = 0.05: effect size dz = 0.5 -> total sample size 34 (power 0.80), 44 (0.90), 54 (0.95);
    # dz = 0.25 -> 128 (0.80). Check by hand with Guenther's approximation for 0.80:
    # n ≈ ((1.959964 + 0.841621) / 0.5)² + 1.959964² / 2 = 31.40 + 1.92 = 33.3 -> 34.
    assert difference_sample_size(0.5, 1.0) == 34
    assert difference_sample_size(0.5, 1.0, power=0.9) == 44
    assert difference_sample_size(-0.5, 1.0, power=0.95) == 54       # the sign does not matter
    assert difference_sample_size(0.5, 1.0, effect_scale=0.5) == 128
    assert math.isnan(difference_sample_size(0.0, 1.0)) and math.isnan(difference_sample_size(0.3, 0.0))


def test_power_table_difference_of_changes_rows():
    # 8 participants at pre1, pre2, post; d = post − 2·pre2 + pre1 for [training, baseline]:
    # four with (0, 0, 1) -> d = 1, two with (1, 1, 1) -> 0, two with (0, 1, 1) -> -1;
    # one more missed pre2 (left out). mean d = 2/8 = 0.25; sd: Σ(d − 0.25)² = 4·0.5625 +
    # 2·0.0625 + 2·1.5625 = 5.5, / 7 -> sd = 0.886405; dz = 0.282038.
    triples = [(0, 0, 1)] * 4 + [(1, 1, 1)] * 2 + [(0, 1, 1)] * 2
    records = [(f"P{i}", tp, "q3", "", {"x"} if v else set())
               for i, values in enumerate(triples) for tp, v in zip(TIMEPOINTS, values, strict=True)]
    records += [("P9", "pre1", "q3", "", set()), ("P9", "post", "q3", "", {"x"})]
    questions = {"q3": {"timepoints": TIMEPOINTS, "codes": ["x"], "multi_label": True}}
    table = power_table(make_final_codes(records, {"q3": ["x"]}), cohort="pilot", questions=questions,
                        timepoints=TIMEPOINTS, contrasts=CONTRASTS,
                        compare=[["training", "baseline"]])
    rows = table[table.contrast == "training - baseline"]
    assert table.contrast.tolist()[-len(rows):] == ["training - baseline"] * 4   # after the contrasts
    assert (rows.method == "one_sample_t_d").all() and (rows.n_pairs == 8).all()
    assert rows.delta.tolist() == pytest.approx([0.25, 0.25, 0.125, 0.125])
    assert rows.sd_d.tolist() == pytest.approx([math.sqrt(5.5 / 7)] * 4)
    assert rows.p10.isna().all() and rows.p01.isna().all() and rows.psi.isna().all()
    expected = [difference_sample_size(0.25, math.sqrt(5.5 / 7), power=p, effect_scale=s)
                for s in (1.0, 0.5) for p in (0.8, 0.9)]
    assert rows.n_required.tolist() == expected
    # Guenther by hand for dz = 0.282038, power 0.80: (2.801585 / 0.282038)² + 1.92 = 100.6 -> ~101
    assert abs(rows.n_required.iloc[0] - 101) <= 1
