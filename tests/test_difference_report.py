"""The report's difference-of-changes section (#22), its summary sentence and limitations.

The frames are hand-made. Five participants answer ``session_experience``; P5 misses pre2.
Code *hooked* (pre1, pre2, post):

    P1 1 1 0    baseline change  0, training change −1, d = −1 − 0    = −1
    P2 1 1 1                     0                    0      0 − 0    =  0
    P3 1 0 0                    −1                    0      0 − (−1) =  1
    P4 0 1 0                    +1                   −1     −1 − 1    = −2
    P5 1 . 0    (no pre2: not a complete case)

so over the 4 complete cases the mean baseline change is (0 + 0 − 1 + 1)/4 = 0.00, the mean
training change (−1 + 0 + 0 − 1)/4 = −0.50 and the mean d = −2/4 = −0.50. *engaged_well* is
never present: every change and d is 0 (the sign-flip test has nothing to test).
The models.csv rows are written by hand as the contract defines them; the p-values are
chosen so that the words are obvious (0.625 and 0.07 are both above α = 0.05).
"""
import numpy as np
import pandas as pd
import pytest

from alliance_pipeline.report.manifest import table_numbers
from alliance_pipeline.report.sections.difference import (
    NO_COMPARE,
    NO_MODELS,
    agreement_of,
    agreement_sentence,
    complete_case_changes,
    difference_md,
)
from alliance_pipeline.report.sections.limitations import limitations
from alliance_pipeline.report.sections.summary import SUMMARY_WORDS, summary_md
from test_report import cohort_settings, mcnemar_tests, proportions, study_settings

NAN = float("nan")
MODELS_COLUMNS = ["cohort", "question", "code", "term", "estimate", "ci_low", "ci_high", "p_value",
                  "scale", "n_participants", "n_observations", "method", "note"]
HOOKED = {"P1": (1, 1, 0), "P2": (1, 1, 1), "P3": (1, 0, 0), "P4": (0, 1, 0), "P5": (1, None, 0)}


def final_codes():
    rows = []
    for pid, values in HOOKED.items():
        for tp, value in zip(["pre1", "pre2", "post"], values, strict=True):
            if value is None:
                continue
            for code, present in (("hooked", value), ("engaged_well", 0)):
                rows.append(dict(response_id=f"{pid}-{tp}", participant_id=pid, timepoint=tp,
                                 question="session_experience", item="", code=code,
                                 present=present, source="unanimous"))
    return pd.DataFrame(rows)


def model_row(code, term, estimate, low, high, p, method, n=5, obs=14, note=""):
    return dict(cohort="pilot", question="session_experience", code=code, term=term,
                estimate=estimate, ci_low=low, ci_high=high, p_value=p, scale="risk_difference",
                n_participants=n, n_observations=obs, method=method, note=note)


def models(gee_difference=(-0.48, -1.0, 0.04, 0.07)):
    rows = [model_row("hooked", "training - baseline", -0.5, -1.0, 0.0, 0.625, "signflip", n=4, obs=12),
            model_row("engaged_well", "training - baseline", 0.0, NAN, NAN, NAN, "signflip", n=4, obs=12,
                      note="every d is 0: nothing to test")]
    for term, values in {"baseline": (0.0, -0.3, 0.3, 1.0), "training": (-0.5, -0.9, -0.1, 0.014),
                         "overall": (-0.6, -0.95, -0.25, 0.001),
                         "training - baseline": gee_difference}.items():
        rows.append(model_row("hooked", term, *values, "gee_bias_reduced"))
        # the t row: the same estimate, an interval 1.3 times as wide (t(2)/z would be 2.2)
        est, low, high, p = values
        rows.append(model_row("hooked", term, est, est - 1.3 * (est - low), est + 1.3 * (high - est),
                              min(1.0, p * 2), "gee_bias_reduced_t"))
        for method in ("gee_bias_reduced", "gee_bias_reduced_t"):
            rows.append(model_row("engaged_well", term, NAN, NAN, NAN, NAN, method,
                                  note="share 0 at every time point: identity link undefined"))
    return pd.DataFrame(rows, columns=MODELS_COLUMNS)


def study():
    return {**study_settings(), "compare": [["training", "baseline"]]}


def tables(**override):
    base = {"final_codes": final_codes(), "models": models(), "proportions": proportions(),
            "tests": mcnemar_tests()}
    return {**base, **override}


def test_complete_case_changes_follow_the_hand_computation():
    out = complete_case_changes(final_codes(), question="session_experience",
                                pair_a=["pre2", "post"], pair_b=["pre1", "pre2"]).set_index("code")
    assert out.loc["hooked", "n"] == 4                        # P5 missed pre2
    assert out.loc["hooked", "change_a"] == pytest.approx(-0.5)  # (−1 + 0 + 0 − 1)/4
    assert out.loc["hooked", "change_b"] == pytest.approx(0.0)   # (0 + 0 − 1 + 1)/4
    assert out.loc["engaged_well", ["change_a", "change_b"]].tolist() == [0.0, 0.0]


def test_complete_case_changes_match_a_loop_over_seeded_participants():
    rng = np.random.default_rng(20261205)
    rows, kept = [], {}
    for i in range(40):
        answered = [tp for tp in ("pre1", "pre2", "post") if rng.random() > 0.15]
        values = {tp: int(rng.random() < 0.4) for tp in answered}
        if len(answered) == 3:
            kept[f"P{i:02d}"] = values
        rows += [dict(response_id=f"{i}-{tp}", participant_id=f"P{i:02d}", timepoint=tp,
                      question="q", item="", code="x", present=v, source="unanimous")
                 for tp, v in values.items()]
    out = complete_case_changes(pd.DataFrame(rows), question="q", pair_a=["pre1", "post"],
                                pair_b=["pre1", "pre2"]).iloc[0]
    # the same by a plain loop over the participants who answered at all three time points
    expected_a = sum(v["post"] - v["pre1"] for v in kept.values()) / len(kept)
    expected_b = sum(v["pre2"] - v["pre1"] for v in kept.values()) / len(kept)
    assert out["n"] == len(kept)
    assert out["change_a"] == pytest.approx(expected_a) and out["change_b"] == pytest.approx(expected_b)


def test_section_shows_both_changes_their_difference_and_the_model_beside_it():
    text = difference_md(tables(), study=study(), cohort=cohort_settings())
    assert "## session\\_experience: training − baseline" in text
    # complete cases: n, baseline change, training change, difference [CI], p (hand values above)
    assert "| Hooked | 4 | 0.00 | -0.50 | -0.50 [-1.00, 0.00] | 0.625 |" in text
    assert ("*Hooked*: in the 4 complete cases the share changed by -0.50 across training and by "
            "0.00 over baseline; the difference was -0.50 (95% CI -1.00 to 0.00; p = 0.625).") in text
    # the undefined test is an empty cell with its note, never 0 or 1
    assert "| Engaged well | 4 | 0.00 | 0.00 | 0.00 | — |" in text
    assert "*Engaged well*: the difference of changes could not be tested (every d is 0: nothing to test)." in text
    # all available data: every contrast and the difference, participants and answers used
    assert "| Hooked | training | z | -0.50 [-0.90, -0.10] | 0.014 | 5 | 14 |" in text
    assert "| Hooked | training − baseline | z | -0.48 [-1.00, 0.04] | 0.070 | 5 | 14 |" in text
    # each normal-reference row is followed by its t row (K − p = 5 − 3 = 2 df), and why
    assert "| Hooked | training | t (2 df) | -0.50 [-1.02, 0.02] | 0.028 | 5 | 14 |" in text
    assert "| Hooked | training − baseline | t (2 df) | -0.48 [-1.16, 0.20] | 0.140 | 5 | 14 |" in text
    assert "| Engaged well | training − baseline | z | — | — | 5 | 14 |" in text
    assert "| Engaged well | training − baseline | t (2 df) | — | — | 5 | 14 |" in text
    assert ("Each is shown again on a t reference with K − p degrees of freedom (K participants, p "
            "time points), because with so few participants as clusters the normal reference is "
            "too liberal (Li & Redden 2015).") in text
    # the note is listed once per term although both rows carry it
    assert text.count("share 0 at every time point: identity link undefined") == 1
    assert "baseline, training, overall and training − baseline*: share 0" in text
    assert "Mancl–DeRouen bias-reduced" in text and "Gelman & Stern 2006" in text
    assert "not adjusted for multiplicity" in text


def test_agreement_sentence_defines_agreement_and_names_what_cannot_be_compared():
    text = difference_md(tables(), study=study(), cohort=cohort_settings())
    # Hooked: −0.50 (p 0.625) and −0.48 (p 0.07): same sign, both ≥ 0.05 -> agree
    assert ("Complete cases and all available data agree on *Hooked*, agreement meaning estimates "
            "of the difference with the same sign and p-values on the same side of α = 0.05.") in text
    assert "For *Engaged well* the complete cases and all available data cannot be compared" in text


@pytest.mark.parametrize("gee, verdict", [
    ((-0.48, -1.0, 0.04, 0.07), "agree"),      # same sign, both p ≥ 0.05
    ((-0.48, -0.9, -0.1, 0.01), "disagree"),   # same sign, the model's p < 0.05
    ((0.10, -0.2, 0.4, 0.50), "disagree"),     # opposite sign, both p ≥ 0.05
    ((NAN, NAN, NAN, NAN), "undefined"),
])
def test_agreement_is_same_sign_and_same_side_of_alpha(gee, verdict):
    cc = pd.Series({"estimate": -0.5, "p_value": 0.625})
    model = pd.Series({"estimate": gee[0], "p_value": gee[3]})
    assert agreement_of(cc, model, 0.05) == verdict


def test_agreement_sentence_cases():
    labels = {"a": "*A*", "b": "*B*"}
    assert "agree on every code" in agreement_sentence(labels, {"a": "agree", "b": "agree"}, 0.05)
    assert "disagree on every code" in agreement_sentence(labels, {"a": "disagree", "b": "disagree"}, 0.05)
    assert "agree on *A* but not on *B*" in agreement_sentence(labels, {"a": "agree", "b": "disagree"}, 0.05)


def test_missing_models_table_and_no_compare_are_said_plainly():
    no_models = {k: v for k, v in tables().items() if k != "models"}
    assert difference_md(no_models, study=study(), cohort=cohort_settings()) == NO_MODELS
    assert difference_md(tables(), study=study_settings(), cohort=cohort_settings()) == NO_COMPARE


def test_summary_reports_the_difference_of_changes():
    text = summary_md(tables(), study=study(), cohort=cohort_settings())
    assert ("The change across training minus the change over baseline (4 complete cases, "
            "sign-flip test) was -0.50 for *Hooked* (p = 0.625) and not testable for "
            "*Engaged well*: no difference is significant at α = 0.05.") in text
    assert len(text.split()) <= SUMMARY_WORDS
    # a significant difference is named as such (p 0.01 < 0.05)
    significant = models()
    significant.loc[0, "p_value"] = 0.01
    assert ("every difference is significant at α = 0.05." in
            summary_md(tables(models=significant), study=study(), cohort=cohort_settings()))
    # without compare pairs the summary is as before
    assert "minus the change" not in summary_md(tables(), study=study_settings(), cohort=cohort_settings())


def test_limitations_name_the_model_assumptions_and_the_multiplicity_family():
    items = dict(limitations(tables(), study=study(), cohort=cohort_settings()))
    # an unweighted GEE needs MCAR (possibly by time point), not merely MAR
    assert ("is unweighted, so it assumes that answers are missing completely at random, the chance "
            "of missing allowed to depend on the time point only") in items["model_assumptions"]
    assert "missing at random given" not in items["model_assumptions"]
    assert "also shown on a t reference" in items["model_assumptions"]
    assert "at most 5 participants" in items["model_assumptions"]
    assert "Mancl–DeRouen bias-reduced covariance" in items["model_assumptions"]
    assert "Holm-adjusted across the contrasts of one code" in items["multiplicity"]
    assert "training − baseline" in items["multiplicity"]
    assert "α/2" in items["multiplicity"]              # two codes have a compare row
    plain = dict(limitations(tables(), study=study_settings(), cohort=cohort_settings()))
    assert "model_assumptions" not in plain and "multiplicity" not in plain


def test_manifest_names_models_rows_by_cohort_question_code_term_and_method():
    numbers = table_numbers("models", models())
    row = numbers["pilot/session_experience/hooked/training - baseline/signflip"]
    assert row["estimate"] == -0.5 and row["p_value"] == 0.625 and row["n_participants"] == 4
    assert numbers["pilot/session_experience/engaged_well/training/gee_bias_reduced"]["estimate"] is None
