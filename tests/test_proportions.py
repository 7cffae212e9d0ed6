"""Tests of alliance_pipeline.change.proportions.

Every expected number names its source: a published example or a hand computation
written out next to it. z = 1.959964 (the 97.5 % normal quantile), z² = 3.841459.
"""
from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alliance_pipeline.change.participant_level import participant_codes
from alliance_pipeline.change.proportions import (
    FLOW_COLUMNS,
    PROPORTIONS_COLUMNS,
    participant_flow,
    proportions_table,
    wilson_interval,
)
from conftest import make_final_codes

TIMEPOINTS = ["pre1", "pre2", "post"]
CONTRASTS = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"], "overall": ["pre1", "post"]}


# --------------------------------------------------------------------------- Wilson interval

@pytest.mark.parametrize("k, n, low, high", [
    # Newcombe RG (1998), "Two-sided confidence intervals for the single proportion:
    # comparison of seven methods", Stat Med 17:857-872, worked examples, method 3 (Wilson
    # score), printed to 4 decimals (the same values are reference values in the propint
    # R package's tests).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_matches_newcombe_1998_examples(k, n, low, high):
    got_low, got_high = wilson_interval(k, n, 0.95)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_wilson_by_hand_81_of_263():
    # Wilson: centre = (k + z²/2) / (n + z²), half = z·sqrt(k(n−k)/n + z²/4) / (n + z²)
    #   n + z² = 263 + 3.841459 = 266.841459
    #   centre = (81 + 1.920729) / 266.841459 = 82.920729 / 266.841459 = 0.310749
    #   k(n−k)/n = 81·182/263 = 56.053232;  + z²/4 = 0.960365  -> 57.013597
    #   sqrt = 7.550735; · z = 14.799168; / 266.841459 = 0.055461
    #   interval = 0.310749 ∓ 0.055461 = (0.255288, 0.366210)
    low, high = wilson_interval(81, 263, 0.95)
    assert low == pytest.approx(0.255288, abs=2e-6)
    assert high == pytest.approx(0.366210, abs=2e-6)


def test_wilson_zero_of_n_upper_bound_closed_form():
    # k = 0: centre = half = (z²/2)/(n+z²), so low = 0 and high = z²/(n+z²)
    #   n = 20: 3.841459 / 23.841459 = 0.161125
    low, high = wilson_interval(0, 20, 0.95)
    assert low == 0.0
    assert high == pytest.approx(0.161125, abs=2e-6)


def test_wilson_undefined_for_n_zero():
    low, high = wilson_interval(0, 0, 0.95)
    assert math.isnan(low) and math.isnan(high)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 500), data=st.data(),
       confidence=st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_wilson_contains_the_proportion(n, data, confidence):
    k = data.draw(st.integers(0, n))
    low, high = wilson_interval(k, n, confidence)
    assert 0.0 <= low <= k / n <= high <= 1.0


# --------------------------------------------------------------------------- participant_codes

def test_participant_codes_aggregate_rules():
    codes_of = {"q": ["x", "y"]}
    records = [
        # P1 at pre2: three items, x in 2 of 3, y in 0 of 3
        ("P1", "pre2", "q", "s1", {"x"}), ("P1", "pre2", "q", "s2", {"x"}),
        ("P1", "pre2", "q", "s3", set()),
        # P2 at pre2: two items, x in 1 of 2 (a tie), y in 2 of 2
        ("P2", "pre2", "q", "s1", {"x", "y"}), ("P2", "pre2", "q", "s2", {"y"}),
    ]
    fc = make_final_codes(records, codes_of)

    def value(frame, participant, code):
        row = frame[(frame.participant_id == participant) & (frame.code == code)]
        assert len(row) == 1
        return int(row.present.iloc[0])

    any_ = participant_codes(fc, "any")
    all_ = participant_codes(fc, "all")
    maj = participant_codes(fc, "majority")
    # any: at least one item; all: every item; majority: more than half (tie -> 0)
    assert (value(any_, "P1", "x"), value(all_, "P1", "x"), value(maj, "P1", "x")) == (1, 0, 1)
    assert (value(any_, "P1", "y"), value(all_, "P1", "y"), value(maj, "P1", "y")) == (0, 0, 0)
    assert (value(any_, "P2", "x"), value(all_, "P2", "x"), value(maj, "P2", "x")) == (1, 0, 0)
    assert (value(any_, "P2", "y"), value(all_, "P2", "y"), value(maj, "P2", "y")) == (1, 1, 1)
    assert list(any_.columns) == ["participant_id", "timepoint", "question", "code", "present"]
    assert len(any_) == 4  # 2 participants x 1 time point x 2 codes


def test_participant_codes_rejects_unknown_rule_and_bad_present():
    fc = make_final_codes([("P1", "pre1", "q", "", {"x"})], {"q": ["x"]})
    with pytest.raises(ValueError, match="aggregate"):
        participant_codes(fc, "mean")
    bad = fc.assign(present=2)
    with pytest.raises(ValueError, match="present"):
        participant_codes(bad)


def test_participant_codes_does_not_depend_on_row_order():
    codes_of = {"q": ["x", "y"]}
    records = [(f"P{i}", t, "q", "", {"x"} if (i + len(t)) % 2 else {"y"})
               for i in range(6) for t in TIMEPOINTS]
    fc = make_final_codes(records, codes_of)
    shuffled = fc.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(participant_codes(fc), participant_codes(shuffled))


def test_participant_codes_empty_frame():
    fc = pd.DataFrame(columns=["response_id", "participant_id", "timepoint", "question", "item",
                               "code", "present", "source"])
    out = participant_codes(fc)
    assert out.empty and list(out.columns) == ["participant_id", "timepoint", "question", "code",
                                               "present"]


# --------------------------------------------------------------------------- proportions_table

QUESTIONS = {
    "session": {"timepoints": TIMEPOINTS, "codes": ["hooked", "engaged"], "multi_label": True},
    "feedback": {"timepoints": ["post"], "codes": ["noticing", "calm"], "multi_label": True},
}


def small_cohort():
    # 5 participants; P5 skipped post. Codes by hand:
    #          pre1              pre2              post
    # P1  hooked            hooked            engaged
    # P2  hooked            hooked, engaged   engaged
    # P3  hooked            -                 engaged
    # P4  -                 engaged           hooked, engaged
    # P5  engaged           hooked            (no response)
    codes_of = {"session": ["hooked", "engaged"], "feedback": ["noticing", "calm"]}
    s = "session"
    records = [
        ("P1", "pre1", s, "", {"hooked"}), ("P1", "pre2", s, "", {"hooked"}), ("P1", "post", s, "", {"engaged"}),
        ("P2", "pre1", s, "", {"hooked"}), ("P2", "pre2", s, "", {"hooked", "engaged"}), ("P2", "post", s, "", {"engaged"}),
        ("P3", "pre1", s, "", {"hooked"}), ("P3", "pre2", s, "", set()), ("P3", "post", s, "", {"engaged"}),
        ("P4", "pre1", s, "", set()), ("P4", "pre2", s, "", {"engaged"}), ("P4", "post", s, "", {"hooked", "engaged"}),
        ("P5", "pre1", s, "", {"engaged"}), ("P5", "pre2", s, "", {"hooked"}),
        # feedback at post: P1 noticing; P2 noticing + calm; P3 noticing; P4 nothing
        ("P1", "post", "feedback", "", {"noticing"}), ("P2", "post", "feedback", "", {"noticing", "calm"}),
        ("P3", "post", "feedback", "", {"noticing"}), ("P4", "post", "feedback", "", set()),
    ]
    return make_final_codes(records, codes_of)


def test_proportions_counts_order_and_intervals():
    table = proportions_table(small_cohort(), cohort="pilot", questions=QUESTIONS, timepoints=TIMEPOINTS)
    assert list(table.columns) == PROPORTIONS_COLUMNS
    # order: question (codebook), code (codebook), timepoint (study)
    assert list(zip(table.question, table.code, table.timepoint, strict=True)) == [
        ("session", "hooked", "pre1"), ("session", "hooked", "pre2"), ("session", "hooked", "post"),
        ("session", "engaged", "pre1"), ("session", "engaged", "pre2"), ("session", "engaged", "post"),
        ("feedback", "noticing", "post"), ("feedback", "calm", "post"),
    ]
    # n: respondents per time point (table above): pre1 5, pre2 5, post 4; feedback post 4
    assert table.n.tolist() == [5, 5, 4, 5, 5, 4, 4, 4]
    # k from the table: hooked pre1 P1,P2,P3 = 3; pre2 P1,P2,P5 = 3; post P4 = 1
    #                   engaged pre1 P5 = 1; pre2 P2,P4 = 2; post P1..P4 = 4
    #                   noticing 3 (P1,P2,P3); calm 1 (P2)
    assert table.k.tolist() == [3, 3, 1, 1, 2, 4, 3, 1]
    assert table.proportion.tolist() == pytest.approx([3 / 5, 3 / 5, 1 / 4, 1 / 5, 2 / 5, 4 / 4, 3 / 4, 1 / 4])
    # share_of_codes: k / all codes given in the question at that time point
    #   pre1: hooked 3 + engaged 1 = 4 -> 3/4, 1/4; pre2: 3 + 2 = 5 -> 3/5, 2/5;
    #   post: 1 + 4 = 5 -> 1/5, 4/5; feedback: 3 + 1 = 4 -> 3/4, 1/4
    assert table.share_of_codes.tolist() == pytest.approx([3 / 4, 3 / 5, 1 / 5, 1 / 4, 2 / 5, 4 / 5, 3 / 4, 1 / 4])
    assert set(table.ci_method) == {"wilson"}
    # engaged at post: 4 of 4 -> Wilson upper 1, lower = n/(n+z²) = 4/7.841459 = 0.510109
    row = table[(table.code == "engaged") & (table.timepoint == "post")].iloc[0]
    assert row.ci_high == pytest.approx(1.0)
    assert row.ci_low == pytest.approx(0.510109, abs=2e-6)


def test_proportions_wilson_from_published_example_through_the_table():
    # 29 participants at post, 1 with the code: Newcombe (1998) example 1/29 -> 0.0061, 0.1718
    records = [(f"P{i:02d}", "post", "feedback", "", {"noticing"} if i == 0 else set()) for i in range(29)]
    fc = make_final_codes(records, {"feedback": ["noticing", "calm"]})
    table = proportions_table(fc, cohort="c", questions={"feedback": QUESTIONS["feedback"]},
                              timepoints=TIMEPOINTS)
    row = table[table.code == "noticing"].iloc[0]
    assert (row.n, row.k) == (29, 1)
    assert row.ci_low == pytest.approx(0.0061, abs=5e-5)
    assert row.ci_high == pytest.approx(0.1718, abs=5e-5)
    calm = table[table.code == "calm"].iloc[0]
    assert calm.k == 0 and calm.proportion == 0.0


def test_proportions_timepoint_without_responses_is_empty_not_zero():
    fc = small_cohort()
    fc = fc[fc.timepoint != "post"]
    table = proportions_table(fc, cohort="pilot", questions=QUESTIONS, timepoints=TIMEPOINTS)
    post = table[(table.question == "session") & (table.timepoint == "post")]
    assert post.n.tolist() == [0, 0] and post.k.tolist() == [0, 0]
    assert post.proportion.isna().all() and post.ci_low.isna().all() and post.ci_high.isna().all()
    assert post.share_of_codes.isna().all()
    assert (post.note == "no responses at this time point").all()
    assert (table[table.timepoint != "post"].note == "").all()


def test_proportions_with_items_use_the_aggregate_rule():
    # P1 has two scenes at pre1, code x in one of them; P2 one scene with x.
    records = [("P1", "pre1", "q", "s1", {"x"}), ("P1", "pre1", "q", "s2", set()),
               ("P2", "pre1", "q", "s1", {"x"})]
    fc = make_final_codes(records, {"q": ["x"]})
    questions = {"q": {"timepoints": ["pre1"], "codes": ["x"], "multi_label": False}}
    any_ = proportions_table(fc, cohort="c", questions=questions, timepoints=TIMEPOINTS)
    all_ = proportions_table(fc, cohort="c", questions=questions, timepoints=TIMEPOINTS, aggregate="all")
    # n counts participants (2), not responses (3); any: P1 and P2 -> 2; all: only P2 -> 1
    assert (any_.n.iloc[0], any_.k.iloc[0]) == (2, 2)
    assert (all_.n.iloc[0], all_.k.iloc[0]) == (2, 1)


# --------------------------------------------------------------------------- participant_flow

def test_participant_flow_counts_and_missing_ids():
    flow = participant_flow(small_cohort(), timepoints=TIMEPOINTS, contrasts=CONTRASTS, questions=QUESTIONS)
    assert list(flow.columns) == FLOW_COLUMNS
    session = flow[flow.question == "session"]
    # from the small_cohort table: P5 has no post response; everyone answered pre1 and pre2
    assert session[["step", "name", "timepoints", "n", "n_excluded", "missing"]].values.tolist() == [
        ["timepoint", "pre1", "pre1", 5, 0, ""],
        ["timepoint", "pre2", "pre2", 5, 0, ""],
        ["timepoint", "post", "post", 4, 1, "P5"],
        ["complete", "complete", "pre1|pre2|post", 4, 1, "P5"],
        ["contrast", "baseline", "pre1|pre2", 5, 0, ""],
        ["contrast", "training", "pre2|post", 4, 1, "P5"],
        ["contrast", "overall", "pre1|post", 4, 1, "P5"],
    ]
    feedback = flow[flow.question == "feedback"]
    # feedback is asked at post only: P5 (in the cohort, no post response) is missing there
    assert feedback[["step", "n", "n_excluded", "missing"]].values.tolist() == [
        ["timepoint", 4, 1, "P5"], ["complete", 4, 0, ""]]
    assert (flow.n_cohort == 5).all()


def test_participant_flow_lists_several_missing_ids_sorted():
    codes_of = {"q": ["x"]}
    records = [("P3", "pre1", "q", "", set()), ("P1", "pre1", "q", "", set()),
               ("P2", "pre2", "q", "", set()), ("P1", "pre2", "q", "", set())]
    fc = make_final_codes(records, codes_of)
    questions = {"q": {"timepoints": ["pre1", "pre2"], "codes": ["x"]}}
    flow = participant_flow(fc, timepoints=TIMEPOINTS, contrasts=CONTRASTS, questions=questions)
    rows = {r.name: r for r in flow.itertuples()}
    # pre1: P1, P3 answered -> P2 missing; pre2: P1, P2 -> P3 missing; pairs: P1 only
    assert (rows["pre1"].n, rows["pre1"].missing) == (2, "P2")
    assert (rows["pre2"].n, rows["pre2"].missing) == (2, "P3")
    assert (rows["baseline"].n, rows["baseline"].n_excluded, rows["baseline"].missing) == (1, 2, "P2;P3")
    assert set(flow.name) == {"pre1", "pre2", "complete", "baseline"}  # other contrasts need post
