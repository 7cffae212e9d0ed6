"""Report fragments: words follow the numbers, limitations follow the data, no free text leaks.

Every frame here is hand-made; the numbers are chosen so the expected words are obvious
(e.g. Holm-adjusted p = 0.45 > α = 0.05 reads "not significant", p = 0.004 "significant").
"""
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alliance_pipeline.common import provenance
from alliance_pipeline.report import cohort_report as report
from alliance_pipeline.report.format import esc, fmt_num, fmt_p, fmt_pct, round_half_up, slug
from alliance_pipeline.report.sections.coding import reliability_md
from alliance_pipeline.report.sections.design import design_md, flow_md
from alliance_pipeline.report.sections.feedback import feedback_md, select_quotes
from alliance_pipeline.report.sections.limitations import limitations, limitations_md, power_md
from alliance_pipeline.report.sections.published import published_comparison, published_md
from alliance_pipeline.report.sections.reproducibility import reproducibility_md
from alliance_pipeline.report.sections.results import results_md
from alliance_pipeline.report.sections.summary import SUMMARY_WORDS, banner_md, summary_md

NAN = float("nan")
SECRET = "SECRET FREE TEXT THAT MUST NOT LEAK"


def study_settings():
    return {
        "title": "Training clinical psychologists to recognize and repair alliance ruptures",
        "timepoints": ["pre1", "pre2", "post"],
        "contrasts": {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"],
                      "overall": ["pre1", "post"]},
        "questions": {
            "session_experience": {
                "prompt": "How did you experience the interaction with the client?",
                "timepoints": ["pre1", "pre2", "post"], "multi_label": True,
                "codes": ["hooked", "engaged_well"],
                "labels": {"hooked": "Hooked", "engaged_well": "Engaged well"},
                "definitions": {"hooked": "Caught up by the client.",
                                "engaged_well": "Stays in contact | on purpose."}},
            "training_feedback": {
                "prompt": "What did the training change for you?", "timepoints": ["post"],
                "multi_label": True, "codes": ["noticing", "intent"],
                "labels": {"noticing": "Noticing captivity objectively", "intent": "Relating with intention"},
                "definitions": {"noticing": "Notices it.", "intent": "Chooses on purpose."}},
        },
        "codebook_version": "1.0",
        "cohorts": ["pilot"],
    }


def cohort_settings(synthetic=True, published=None):
    return {
        "cohort": "pilot", "label": "Pilot cohort", "synthetic": synthetic, "site": "",
        "analysis": {"confidence": 0.95, "p_adjust": "holm",
                     "mcnemar": {"method": "auto", "continuity": False, "exact_below": 25},
                     "agreement": {"good": 0.8, "acceptable": 0.667},
                     "consensus": {"unresolved": "fail"}},
        "published": published if published is not None else
        {"session_experience": {"hooked": {"pre1": 0.65, "pre2": 0.50, "post": 0.17}}},
    }


def proportions(n=17, spread=0.2):
    rows = []
    for code, ks in {"hooked": [11, 8, 3], "engaged_well": [4, 6, 14]}.items():
        for tp, k in zip(["pre1", "pre2", "post"], ks, strict=True):
            p = k / n
            rows.append(dict(cohort="pilot", question="session_experience", code=code, timepoint=tp,
                             n=n, k=k, proportion=p, ci_low=max(0.0, p - spread),
                             ci_high=min(1.0, p + spread)))
    for code, k in {"noticing": 4, "intent": 5}.items():
        p = k / n
        rows.append(dict(cohort="pilot", question="training_feedback", code=code, timepoint="post",
                         n=n, k=k, proportion=p, ci_low=max(0.0, p - spread), ci_high=min(1.0, p + spread)))
    return pd.DataFrame(rows)


def mcnemar(code, contrast, tps, b, c, p, p_adj, method="exact", n=17, note=""):
    rd = (c - b) / n
    return dict(cohort="pilot", question="session_experience", code=code, test="mcnemar",
                contrast=contrast, timepoints=tps, n=n, b=b, c=c, statistic=NAN, df=NAN,
                p_value=p, p_adjusted=p_adj, method=method, risk_difference=rd,
                rd_ci_low=rd - 0.2, rd_ci_high=rd + 0.2, odds_ratio=(c / b) if b else NAN,
                or_ci_low=0.1, or_ci_high=3.0 if b else NAN, note=note)


def mcnemar_tests(p_baseline=0.45, p_training=0.004, method="exact"):
    rows = [dict(cohort="pilot", question="session_experience", code="hooked", test="cochran_q",
                 contrast="omnibus", timepoints="pre1|pre2|post", n=17, b=NAN, c=NAN, statistic=9.33,
                 df=2, p_value=0.0094, p_adjusted=0.0094, method="asymptotic", risk_difference=NAN,
                 rd_ci_low=NAN, rd_ci_high=NAN, odds_ratio=NAN, or_ci_low=NAN, or_ci_high=NAN, note="")]
    rows.append(mcnemar("hooked", "baseline", "pre1|pre2", 4, 1, p_baseline / 1.2, p_baseline, method))
    rows.append(mcnemar("hooked", "training", "pre2|post", 6, 1, p_training / 2, p_training, method))
    rows.append(mcnemar("engaged_well", "training", "pre2|post", 0, 8, 0.008, 0.016, method,
                        note="auto: b + c = 8 < 25; b = 0: odds ratio infinite, only its lower bound is given"))
    return pd.DataFrame(rows)


def agreement(verdicts=("good", "good", "good")):
    alphas = {"good": 0.9, "tentative": 0.7, "insufficient": 0.5}
    rows = []
    for code, verdict in zip(["hooked", "engaged_well", "*"], verdicts, strict=True):
        a = alphas[verdict]
        rows.append(dict(cohort="pilot", question="session_experience", code=code, n_units=51,
                         n_coders=2, percent_agreement=0.9, cohen_kappa=0.78 if code != "*" else NAN,
                         fleiss_kappa=NAN, krippendorff_alpha=a, alpha_ci_low=a - 0.1,
                         alpha_ci_high=min(1, a + 0.1), gwet_ac1=0.85, verdict=verdict, note=""))
    return pd.DataFrame(rows)


def flow(missing_at_pre2=True):
    rows = []
    for tp in ["pre1", "pre2", "post"]:
        gone = missing_at_pre2 and tp == "pre2"
        rows.append(dict(question="session_experience", step="timepoint", name=tp, timepoints=tp,
                         n_cohort=17, n=16 if gone else 17, n_excluded=1 if gone else 0,
                         missing="P05" if gone else ""))
    rows.append(dict(question="session_experience", step="complete", name="complete",
                     timepoints="pre1|pre2|post", n_cohort=17, n=16 if missing_at_pre2 else 17,
                     n_excluded=1 if missing_at_pre2 else 0, missing="P05" if missing_at_pre2 else ""))
    rows.append(dict(question="training_feedback", step="timepoint", name="post", timepoints="post",
                     n_cohort=17, n=17, n_excluded=0, missing=""))
    return pd.DataFrame(rows)


def power_table():
    rows = []
    for contrast in ("baseline", "training"):
        for pw, es, n in [(0.8, 1.0, 34), (0.9, 1.0, 45), (0.8, 0.5, 120), (0.9, 0.5, 160)]:
            rows.append(dict(cohort="pilot", question="session_experience", code="hooked",
                             contrast=contrast, p10=0.35, p01=0.06, alpha=0.05, power=pw,
                             effect_scale=es, n_required=n + (100 if contrast == "baseline" else 0),
                             method="connor1987", note=""))
    return pd.DataFrame(rows)


def final_codes():
    rows = []
    for i in range(10):
        source = "adjudicated" if i < 3 else ("majority" if i == 3 else "unanimous")
        for code in ("hooked", "engaged_well"):
            rows.append(dict(response_id=f"R{i:02d}", participant_id=f"P{i:02d}", timepoint="pre1",
                             question="session_experience", item="", code=code, present=1,
                             source=source if code == "hooked" else "unanimous",
                             text=SECRET, rationale=SECRET))
    return pd.DataFrame(rows)


def tables(**over):
    base = dict(proportions=proportions(), tests=mcnemar_tests(), agreement=agreement(),
                power=power_table(), final_codes=final_codes(), flow=flow())
    base.update(over)
    return base


def provenance_dict():
    return {"raw_files": [("data/raw/pilot/responses.csv", "a" * 64)],
            "config_yaml": "study:\n  title: T\n", "codebook_version": "1.0",
            "packages": [("pandas", "3.1.1"), ("typst", "0.15.2")], "git_commit": "0123abcd",
            "git_dirty": True, "command": "snakemake --cores 2 reports/pilot/report.html",
            "pipeline_version": "9.8.7"}


def clause(summary: str, marker: str) -> str:
    """The clause of the summary that contains ``marker`` (clauses are split at ';')."""
    hits = [c for c in re.split(r";|\.\s", summary) if marker in c]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


# ------------------------------------------------------------------ contrasts in words (Results)

def results_text(tabs):
    """The Results section, where every contrast of every code is put in words."""
    return results_md(tabs, study=study_settings(), cohort=cohort_settings(), figures=set())


def test_results_read_baseline_not_significant_and_training_significant():
    # Holm-adjusted p: baseline 0.45 > 0.05, training 0.004 < 0.05 (mcnemar_tests defaults)
    text = results_text(tables())
    hooked = text.split("*Hooked*")[1].split("*Engaged well*")[0]
    assert "not significant" in clause(hooked, "without training")
    training = clause(hooked, "across the training")
    assert "significant" in training and "not significant" not in training
    assert "p = 0.450" in hooked and "p = 0.004" in hooked


def test_results_reverse_when_the_p_values_do():
    text = results_text(tables(tests=mcnemar_tests(p_baseline=0.01, p_training=0.60)))
    hooked = text.split("*Hooked*")[1].split("*Engaged well*")[0]
    baseline = clause(hooked, "without training")
    assert "significant" in baseline and "not significant" not in baseline
    assert "not significant" in clause(hooked, "across the training")


def test_results_use_the_adjusted_p_value():
    t = mcnemar_tests()
    t.loc[t["contrast"] == "training", ["p_value", "p_adjusted"]] = [0.01, 0.20]
    text = results_text(tables(tests=t))
    hooked = text.split("*Hooked*")[1].split("*Engaged well*")[0]
    assert "not significant" in clause(hooked, "across the training")
    assert "Holm-adjusted p = 0.200" in hooked


def test_results_direction_follows_the_risk_difference():
    text = results_text(tables())
    hooked = text.split("*Hooked*")[1].split("*Engaged well*")[0]
    # training: b = 6, c = 1, n = 17 -> RD = (1 - 6) / 17 = -0.294 -> "fell by 29.4"
    assert "fell by 29.4 percentage points (17 pairs)" in clause(hooked, "across the training")
    engaged = text.split("*Engaged well*")[1]
    # training: b = 0, c = 8 -> RD = 8/17 = 0.471 -> "rose by 47.1"
    assert "rose by 47.1 percentage points" in clause(engaged, "across the training")


def test_undefined_p_value_is_not_called_significant():
    t = mcnemar_tests()
    t.loc[t["contrast"] == "training", ["p_value", "p_adjusted"]] = [NAN, NAN]
    t.loc[t["contrast"] == "training", "note"] = "no discordant pairs"
    text = results_text(tables(tests=t))
    training = clause(text.split("*Hooked*")[1].split("*Engaged well*")[0], "across the training")
    assert "could not be tested (no discordant pairs)" in training
    assert "significant" not in training


# ------------------------------------------------------------------ summary

def words(text: str) -> int:
    return len(text.split())


def test_summary_is_one_short_paragraph_with_the_training_contrast_of_each_code():
    text = summary_md(tables(), study=study_settings(), cohort=cohort_settings())
    assert "\n" not in text.strip() and words(text) <= SUMMARY_WORDS
    # design and n in the first sentence: 17 participants (flow), three time points
    assert text.startswith("The synthetic cohort *Pilot cohort* of 17 participants answered at "
                           "pre1, pre2 and post; the training came between pre2 and post.")
    # training contrasts, by hand from mcnemar_tests(): hooked b = 6, c = 1, n = 17 ->
    # RD = -5/17 = -0.29, CI RD -/+ 0.2; Holm p 0.004; engaged_well RD = 8/17 = 0.47, p 0.016
    assert ("Across the training (pre2 → post), *Hooked* fell (RD -0.29, 95% CI [-0.49, -0.09], "
            "Holm-adjusted p = 0.004) and *Engaged well* rose (RD 0.47, 95% CI [0.27, 0.67], "
            "Holm-adjusted p = 0.016).") in text
    # the baseline (only hooked has a row: Holm p 0.45): no change; engaged_well untested
    assert ("Over the baseline without training (pre1 → pre2), no code changed significantly "
            "(every adjusted p ≥ 0.450).") in text
    assert "pre1 → post" not in text and "overall" not in text  # per-contrast text is in Results
    # agreement over the two codes (0.9 each, the '*' row left out)
    assert ("Krippendorff's α was 0.90 for all 2 codes. The lower bound of α's 95% CI reached 0.800 "
            "for every code (lowest 0.800, *Hooked*): reliable (Krippendorff 2004).") in text


def test_summary_names_a_baseline_change_and_a_non_significant_training_contrast():
    text = summary_md(tables(tests=mcnemar_tests(p_baseline=0.01, p_training=0.60),
                             agreement=agreement(("good", "tentative", "good"))),
                             study=study_settings(), cohort=cohort_settings(synthetic=False))
    assert "*Hooked* fell non-significantly (RD -0.29, 95% CI [-0.49, -0.09], Holm-adjusted p = 0.600)" in text
    # baseline hooked: b = 4, c = 1 -> RD = -3/17 = -0.18, CI [-0.38, 0.02], Holm p 0.01
    assert ("Over the baseline without training (pre1 → pre2), *Hooked* changed (RD -0.18, 95% CI "
            "[-0.38, 0.02], Holm-adjusted p = 0.010).") in text
    assert ("Krippendorff's α ranged from 0.70 to 0.90 over 2 codes. The lower bound of α's 95% CI "
            "fell below 0.800 for *Engaged well* (lowest 0.600, *Engaged well*, below 0.667): not "
            "enough even for tentative conclusions (Krippendorff 2004).") in text
    assert "synthetic" not in text


def test_summary_names_top_feedback_and_synthetic_data():
    text = summary_md(tables(), study=study_settings(), cohort=cohort_settings())
    # intent 5/17 = 29.4% before noticing 4/17 = 23.5%
    assert text.index("*Relating with intention* (29.4%)") < text.index("*Noticing captivity objectively* (23.5%)")
    assert "synthetic" in text
    plain = summary_md(tables(), study=study_settings(), cohort=cohort_settings(synthetic=False))
    assert "synthetic" not in plain
    assert "\n" not in text.strip()  # one paragraph


# ------------------------------------------------------------------ limitations

def test_limitations_include_the_data_driven_items_when_triggered():
    items = dict(limitations(
        tables(agreement=agreement(("good", "tentative", "good"))),
        study=study_settings(), cohort=cohort_settings(synthetic=True)))
    for key in ("awareness_not_objective", "social_desirability", "small_sample", "exact_tests",
                "agreement_below_good", "missing_timepoints", "no_control_group",
                "convenience_sample", "synthetic"):
        assert key in items, key
    assert "at most 17 participants" in items["small_sample"]
    assert "3 of 3 McNemar tests" in items["exact_tests"]
    assert "*Engaged well*" in items["agreement_below_good"] and "tentative" in items["agreement_below_good"]
    assert "16 at pre2" in items["missing_timepoints"] and "complete-case" in items["missing_timepoints"]
    assert "pre1→pre2 baseline" in items["no_control_group"]


def test_limitations_omit_the_data_driven_items_when_not_triggered():
    big = proportions(n=60, spread=0.1)  # n >= 30 and every interval 0.2 wide (< 0.3)
    items = dict(limitations(
        tables(proportions=big, tests=mcnemar_tests(method="asymptotic"), flow=flow(missing_at_pre2=False)),
        study=study_settings(), cohort=cohort_settings(synthetic=False)))
    for key in ("small_sample", "exact_tests", "agreement_below_good", "missing_timepoints", "synthetic"):
        assert key not in items, key
    # the authors' own and the design's stay
    for key in ("awareness_not_objective", "social_desirability", "no_control_group", "convenience_sample"):
        assert key in items


def test_wide_intervals_alone_trigger_the_small_sample_item():
    wide = proportions(n=60, spread=0.2)  # n >= 30 but intervals 0.4 wide
    items = dict(limitations(tables(proportions=wide), study=study_settings(),
                             cohort=cohort_settings()))
    assert "small_sample" in items and "40.0 percentage points" in items["small_sample"]


def test_limitations_md_is_a_bullet_list():
    text = limitations_md(tables(), study=study_settings(), cohort=cohort_settings())
    assert all(line.startswith("- ") for line in text.strip().splitlines())


# ------------------------------------------------------------------ published vs reproduced

def test_published_comparison_flags_differences_beyond_rounding():
    props = proportions()
    cmp = published_comparison(props, {"session_experience": {"hooked": {
        "pre1": 0.65,   # 11/17 = 0.647 -> 0.65: same
        "pre2": 0.50,   # 8/17 = 0.471 -> 0.47: differs by 0.03
        "post": 0.18}}})  # 3/17 = 0.176 -> 0.18: same
    flags = dict(zip(cmp["timepoint"], cmp["flagged"], strict=True))
    assert flags == {"pre1": False, "pre2": True, "post": False}
    assert cmp.set_index("timepoint").loc["pre2", "difference"] == pytest.approx(-0.03)


def test_published_comparison_rounds_half_up_and_flags_missing():
    props = pd.DataFrame([dict(question="q", code="c", timepoint="t", proportion=0.125),
                          dict(question="q", code="c", timepoint="u", proportion=0.645)])
    cmp = published_comparison(props, {"q": {"c": {"t": 0.13, "u": 0.65, "v": 0.2}}})
    flags = dict(zip(cmp["timepoint"], cmp["flagged"], strict=True))
    assert flags == {"t": False, "u": False, "v": True}  # 0.125 -> 0.13, 0.645 -> 0.65; v not reproduced


def with_share_of_codes(props: pd.DataFrame) -> pd.DataFrame:
    """proportions.csv's share_of_codes by hand: k over the sum of k of the question's codes
    at that time point (training_feedback at post: 4 + 5 = 9 codes given)."""
    props = props.copy()
    props["share_of_codes"] = props["k"] / props.groupby(["question", "timepoint"])["k"].transform("sum")
    return props


def test_published_comparison_compares_each_figure_on_its_basis():
    props = with_share_of_codes(proportions())
    published = {"training_feedback": {
        "noticing": {"post": {"share": 0.44, "basis": "codes"}},  # 4/9 = 0.444 -> 0.44: same
        "intent": {"post": {"share": 0.50, "basis": "codes"}}},   # 5/9 = 0.556 -> 0.56: differs
        "session_experience": {"hooked": {"post": 0.18,               # 3/17 = 0.176 of participants
                                          "pre1": {"share": 0.65}}}}  # basis left out: participants
    cmp = published_comparison(props, published)
    got = {(r.code, r.timepoint): (r.basis, r.reproduced, r.flagged) for r in cmp.itertuples()}
    assert got == {("noticing", "post"): ("codes", pytest.approx(4 / 9), False),
                   ("intent", "post"): ("codes", pytest.approx(5 / 9), True),
                   ("hooked", "post"): ("participants", pytest.approx(3 / 17), False),
                   ("hooked", "pre1"): ("participants", pytest.approx(11 / 17), False)}
    # the same figure on the other basis: 0.44 of participants is not 4/17 = 0.235
    other = published_comparison(props, {"training_feedback": {"noticing": {"post": 0.44}}})
    assert other["flagged"].tolist() == [True] and other["reproduced"].iloc[0] == pytest.approx(4 / 17)


def test_published_md_shows_the_basis_of_each_figure():
    text = published_md(tables(proportions=with_share_of_codes(proportions())),
                        study=study_settings(), cohort=cohort_settings(published={
        "session_experience": {"hooked": {"pre1": 0.65}},
        "training_feedback": {"noticing": {"post": {"share": 0.44, "basis": "codes"}}}}))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].split(" | ")[3] == "Basis"
    assert rows[1].split(" | ")[3:5] == ["participants", "0.65"]
    assert rows[2].split(" | ")[3:7] == ["codes", "0.44", "0.444", "0.44"]
    assert "All 2 published shares are reproduced" in text and "all codes given" in text


def test_feedback_section_shows_both_bases_with_one_sentence_on_the_difference():
    text = feedback_md(tables(proportions=with_share_of_codes(proportions())),
                       study=study_settings(), cohort=cohort_settings())
    rows = {line.split(" | ")[0].lstrip("| "): line.strip(" |").split(" | ")
            for line in text.splitlines() if line.startswith("| ")}
    assert rows["Code"][3:] == ["Share", "95% CI (%)", "Of codes"]
    # intent 5 of 17 participants (29.4%), 5 of the 9 codes given (55.6%); noticing 4: 23.5%, 44.4%
    assert rows["Relating with intention"][2:4] == ["5/17", "29.4%"] and rows["Relating with intention"][5] == "55.6%"
    assert rows["Noticing captivity objectively"][3] == "23.5%" and rows["Noticing captivity objectively"][5] == "44.4%"
    sentence = next(line for line in text.splitlines() if line.startswith("Each code is shown on two bases"))
    assert sentence.count(". ") == 0 and "17 participants" in sentence and "all 9 codes given" in sentence


def test_published_md_states_the_rule_and_marks_the_flag():
    text = published_md(tables(), study=study_settings(), cohort=cohort_settings(
        published={"session_experience": {"hooked": {"pre1": 0.65, "pre2": 0.50}}}))
    assert "|rounded − published| > 0.005" in text
    assert "1 of 2 published shares differ" in text
    assert "**differs**" in text and "matches" in text
    assert "#tbl-published" in text
    none = published_md(tables(), study=study_settings(), cohort=cohort_settings(published={}))
    assert "No published figures" in none


# ------------------------------------------------------------------ free text and quotes

def test_no_response_text_reaches_any_fragment():
    fragments = report.build_fragments(tables(), study=study_settings(), cohort=cohort_settings(),
                                       provenance=provenance_dict())
    for name, text in fragments.items():
        assert SECRET not in text, name
    assert fragments["quotes.md"] == ""
    assert yaml.safe_load(fragments["meta.yml"])["has_quotes"] is False


def test_only_allowed_quotes_appear():
    responses = pd.DataFrame([
        dict(response_id="R01", question="session_experience", timepoint="pre1",
             text="「クライアントに巻き込まれた」"),
        dict(response_id="R02", question="session_experience", timepoint="pre1", text=SECRET)])
    quotes = select_quotes(responses, ["R01"])
    assert [q["response_id"] for q in quotes] == ["R01"]
    assert select_quotes(responses, []) == []
    fragments = report.build_fragments(tables(), study=study_settings(), cohort=cohort_settings(),
                                       provenance=provenance_dict(), quotes=quotes)
    assert "「クライアントに巻き込まれた」" in fragments["quotes.md"]
    assert all(SECRET not in t for t in fragments.values())
    assert yaml.safe_load(fragments["meta.yml"])["has_quotes"] is True


# ------------------------------------------------------------------ tables and sections

def test_results_tables_show_the_numbers_and_cross_references():
    text = results_md(tables(), study=study_settings(), cohort=cohort_settings(), figures=None)
    # Hooked pre1: 11/17 = 64.7%, Wilson bounds in the frame 0.447 .. 0.847
    assert "| Hooked | pre1 | 11/17 | 64.7% | [44.7, 84.7] |" in text
    assert "{#tbl-shares-session-experience}" in text and "{#fig-shares-session-experience}" in text
    assert "@tbl-mcnemar-session-experience" in text and "{#fig-forest-session-experience}" in text
    assert "0.450" in text and "0.004" in text
    assert "∞ [0.10, ∞]" in text  # b = 0 < c: infinite paired odds ratio
    assert "auto:" not in text.split("Notes:")[1]  # routine method note left to the Method column


def test_cochran_table_shows_the_permutation_p_beside_the_asymptotic_one():
    plain = results_md(tables(), study=study_settings(), cohort=cohort_settings(), figures=set())
    assert "p perm." not in plain  # a tests.csv without the permutation columns: table as before
    t = mcnemar_tests()
    t["p_permutation"], t["p_permutation_mcse"], t["permutations"] = NAN, NAN, pd.NA
    t.loc[0, ["p_permutation", "p_permutation_mcse", "permutations"]] = [0.0123, 0.0011, 10000]
    text = results_md(tables(tests=t), study=study_settings(), cohort=cohort_settings(), figures=set())
    # Q = 9.33, df 2, chi-square p 0.0094 -> "0.009"; permutation p 0.0123 -> "0.012"
    assert "| 9.33 | 2 | 0.009 | 0.012 |" in text
    assert "p perm.: permutation p from 10,000 seeded permutations" in text
    assert "Monte Carlo standard error at most 0.0011" in text
    cohort = cohort_settings()
    cohort["analysis"]["cochran"] = {"permutations": 10000, "seed": 1}
    design = design_md(study=study_settings(), cohort=cohort)
    assert "a permutation p from 10,000 seeded permutations of the time points within each participant" in design


def test_item_level_clustered_rows_are_shown_but_the_summary_reads_the_participant_level():
    t = mcnemar_tests()
    clustered = t[(t["code"] == "hooked") & (t["contrast"] == "training")].copy()
    clustered[["n", "b", "c", "p_value", "p_adjusted", "method", "note"]] = [51, 20, 2, 0.2, 0.6, "clustered", ""]
    clustered["n_clusters"] = 17
    t = pd.concat([clustered, t], ignore_index=True)  # clustered row first in the file
    text = results_md(tables(tests=t), study=study_settings(), cohort=cohort_settings(), figures=set())
    assert "| 51 (17 clusters) | 20 | 2 | clustered |" in text and "| 17 | 6 | 1 | exact |" in text
    assert text.index("| 17 | 6 | 1 | exact |") < text.index("| 51 (17 clusters) |")
    summary = summary_md(tables(tests=t), study=study_settings(), cohort=cohort_settings())
    training = summary.split("*Hooked*")[1].split("*Engaged well*")[0]
    assert "p = 0.004" in training and "non-significantly" not in training
    items = dict(limitations(tables(tests=t), study=study_settings(), cohort=cohort_settings()))
    assert "3 of 3 McNemar tests" in items["exact_tests"]  # clustered rows are not counted


def test_figures_absent_are_not_referenced():
    text = results_md(tables(), study=study_settings(), cohort=cohort_settings(), figures=set())
    assert "fig-" not in text


def test_agreement_section_lists_verdicts_and_consensus_counts():
    text = reliability_md(tables(agreement=agreement(("good", "insufficient", "good"))),
                          study=study_settings(), cohort=cohort_settings())
    assert "insufficient" in text and "{#tbl-agreement}" in text
    # final_codes: R00..R02 adjudicated, R03 majority, R04..R09 unanimous (hooked row decides)
    assert r"| session\_experience | 6 | 3 | 1 | 10 |" in text
    assert "6 of 10 responses were coded unanimously, 3 adjudicated and 1 settled by majority" in text


def test_power_highlights_the_training_contrast():
    text = power_md(tables(), study=study_settings(), cohort=cohort_settings())
    lines = [line for line in text.splitlines() if line.startswith(r"| session\_experience") or line.startswith("| **")]
    training = [line for line in lines if "training" in line]
    baseline = [line for line in lines if "baseline" in line]
    assert training and all("**34**" in line for line in training)
    assert baseline and "**" not in baseline[0]
    assert "a follow-up needs 34 pairs (120 if the effect is half as large)" in text


def test_flow_names_who_is_missing_where():
    text = flow_md(tables(), study=study_settings(), figures={"flow"})
    assert "16 at pre2 (not: P05)" in text and "{#tbl-flow}" in text and "@fig-flow" in text
    minimal = pd.DataFrame([dict(question="session_experience", timepoint=t, n_participants=n)
                            for t, n in [("pre1", 17), ("pre2", 15), ("post", 17)]])
    flat = flow_md(tables(flow=minimal), study=study_settings(), figures=set())
    assert "15 at pre2" in flat


def test_codebook_text_is_escaped():
    text = design_md(study=study_settings(), cohort=cohort_settings())
    assert r"Stays in contact \| on purpose." in text
    assert esc("{{< meta x >}} *a* @fig-x") == r"\{\{\< meta x \>\}\} \*a\* \@fig-x"


def test_banner_only_for_synthetic_cohorts():
    assert "synthetic" in banner_md(cohort=cohort_settings(synthetic=True))
    assert banner_md(cohort=cohort_settings(synthetic=False)) == ""


def test_missing_tables_give_sections_that_say_so():
    fragments = report.build_fragments({}, study=study_settings(), cohort=cohort_settings(),
                                       provenance=None)
    assert "not available" in fragments["reliability.md"]
    assert "not available" in fragments["power.md"]
    assert "No provenance" in fragments["reproducibility.md"]


def test_write_fragments_writes_every_fragment(tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "flow.png").write_bytes(b"png")
    written = report.write_fragments(tables(), study=study_settings(), cohort=cohort_settings(),
                                     provenance=provenance_dict(), out_dir=tmp_path / "frag",
                                     figures_dir=figures)
    names = {p.name for p in written}
    assert names == {f"{n}.md" for n in report.FRAGMENTS} | {"meta.yml"}
    meta = yaml.safe_load((tmp_path / "frag" / "meta.yml").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and meta["cohort"] == "pilot" and meta["has_published"] is True
    # only the flow figure exists, so only it is placed
    assert "fig-flow" in (tmp_path / "frag" / "flow.md").read_text(encoding="utf-8")
    assert "fig-shares" not in (tmp_path / "frag" / "results.md").read_text(encoding="utf-8")


# ------------------------------------------------------------------ provenance

def test_reproducibility_appendix_lists_provenance():
    text = reproducibility_md(provenance_dict())
    assert "`" + "a" * 64 + "`" in text
    assert "0123abcd" in text and "uncommitted changes" in text
    assert "snakemake --cores 2 reports/pilot/report.html" in text
    assert "pandas 3.1.1" in text and "```yaml" in text and "title: T" in text
    assert "Pipeline version: 9.8.7. Pipeline commit: `0123abcd`" in text
    assert "`alliance verify <this file>` checks it" in text
    older = {k: v for k, v in provenance_dict().items() if k != "pipeline_version"}
    assert "Pipeline version" not in reproducibility_md(older)   # provenance from before 0.1.0


def test_provenance_helpers(tmp_path):
    raw = tmp_path / "raw"
    (raw / "codes").mkdir(parents=True)
    (raw / "responses.csv").write_bytes(b"a,b\n1,2\n")
    (raw / "codes" / "coder_a.csv").write_bytes(b"x\n")
    (raw / ".hidden").write_bytes(b"skip")
    hashes = provenance.raw_file_hashes(raw, base=tmp_path)
    assert hashes == [("raw/codes/coder_a.csv", hashlib.sha256(b"x\n").hexdigest()),
                      ("raw/responses.csv", hashlib.sha256(b"a,b\n1,2\n").hexdigest())]
    lock = tmp_path / "requirements.lock"
    lock.write_text("pandas==3.1.1 \\\n    --hash=sha256:abc\n    # via x\nPyYAML==6.0.4 \\\n", encoding="utf-8")
    assert provenance.read_lock(lock) == [("pandas", "3.1.1"), ("pyyaml", "6.0.4")]
    prov = provenance.collect_provenance(raw_files=hashes, config={"study": {"title": "T"}},
                                         codebook_version="1.0", lock_file=lock, repo_dir=tmp_path,
                                         command="make run")
    assert prov["git_commit"] == "unknown" and prov["config_yaml"].startswith("study:")
    assert set(prov) == {"raw_files", "config_yaml", "codebook_version", "packages", "git_commit",
                         "git_dirty", "command", "pipeline_version"}
    init = (Path(provenance.__file__).parents[1] / "__init__.py").read_text(encoding="utf-8")
    assert f'__version__ = "{prov["pipeline_version"]}"' in init   # the package's one version


def test_git_state_counts_tracked_changes_only(tmp_path):
    """Dirty means a tracked file differs from HEAD; untracked outputs of a run do not count.
    Expected commit from `git rev-parse HEAD` run here."""
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=T", "-c",
                               "user.email=t@example.org", "-c", "commit.gpgsign=false", *args],
                              capture_output=True, text=True, check=True).stdout.strip()

    assert provenance.git_state(tmp_path) == ("unknown", False)  # not a checkout
    git("init", "-q")
    (tmp_path / "Snakefile").write_text("rule all:\n", encoding="utf-8")
    git("add", "Snakefile")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    (tmp_path / "data/derived").mkdir(parents=True)
    (tmp_path / "data/derived/tests.csv").write_text("x\n", encoding="utf-8")  # untracked output
    assert provenance.git_state(tmp_path) == (head, False)
    assert provenance.git_state(tmp_path / "data/derived") == (head, False)  # any folder inside
    (tmp_path / "Snakefile").write_text("rule all:\n    input: []\n", encoding="utf-8")
    assert provenance.git_state(tmp_path) == (head, True)
    git("add", "Snakefile")  # staged, not committed: still dirty
    assert provenance.git_state(tmp_path) == (head, True)


def test_formatting_helpers():
    assert fmt_p(0.0004) == "< 0.001" and fmt_p(0.0312) == "0.031"
    assert fmt_pct(11 / 17) == "64.7%" and fmt_pct(NAN) == "—"
    assert fmt_num("") == "—"  # read_table keeps an all-empty column as text
    assert round_half_up(0.125) == 0.13 and round_half_up(0.645) == 0.65
    assert slug("session_experience") == "session-experience"


# ------------------------------------------------------------------ #32: source, verdict, -0.00

REFERENCE = {"authors": ["Kawamura A", "Fukuda M", "Aoki S", "Jinnai A"], "year": 2025,
             "title": "Developing a method for training clinical psychologists to recognize and "
                      "repair alliance ruptures: a pilot study focusing on trainee experiences",
             "journal": "BMC Psychology", "volume": 13, "article": 627,
             "doi": "10.1186/s40359-025-02882-y"}
DOI_LINK = "doi:[10.1186/s40359-025-02882-y](https://doi.org/10.1186/s40359-025-02882-y)"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_source_is_cited_in_title_block_published_section_and_reference_list(language):
    from alliance_pipeline.report.language import use_language

    study = {**study_settings(), "reference": REFERENCE}
    cohort = cohort_settings(published={"session_experience": {"hooked": {"post": 0.85}}})
    with use_language(language):
        fragments = report.build_fragments(tables(), study=study, cohort=cohort,
                                           provenance=provenance_dict())
    assert yaml.safe_load(fragments["meta.yml"])["has_reference"] is True
    for name in ("source.md", "published.md", "references.md"):
        assert DOI_LINK in fragments[name], name
    assert "Kawamura et al. (2025)" in fragments["source.md"]
    assert fragments["references.md"] == (
        "1. Kawamura A, Fukuda M, Aoki S, Jinnai A. Developing a method for training clinical "
        "psychologists to recognize and repair alliance ruptures: a pilot study focusing on "
        f"trainee experiences. *BMC Psychology*. 2025;13:627. {DOI_LINK}\n")
    published = fragments["published.md"]
    # hooked at post: 3/17 = 0.176; no k/17 rounds to 0.85: 14/17 = 0.824, 15/17 = 0.882
    assert "14/17 = 0.824" in published and "15/17 = 0.882" in published
    if language == "en":
        assert ("The synthetic cohort was built from these published shares, so agreement here "
                "checks the reconstruction, not the study.") in published
        assert "Source: Kawamura et al. (2025)" in fragments["source.md"]
    else:
        assert "再構成を確認するもの" in published and "出典：Kawamura et al. (2025)" in fragments["source.md"]


def test_a_cohort_without_a_reference_cites_nothing_but_names_unreachable_shares():
    cohort = cohort_settings()
    fragments = report.build_fragments(tables(), study=study_settings(), cohort=cohort,
                                       provenance=provenance_dict())
    assert fragments["source.md"] == fragments["references.md"] == ""
    assert yaml.safe_load(fragments["meta.yml"])["has_reference"] is False
    published = fragments["published.md"]
    assert "doi" not in published and "Kawamura" not in published
    assert "nearest reachable" in published  # n = 17: 0.65, 0.50 and 0.17 are out of reach
    assert ("built from these published shares" in published) == bool(cohort.get("synthetic"))
    plain = published_md(tables(), study=study_settings(), cohort={**cohort, "synthetic": False})
    assert "built from these published shares" not in plain and "nearest reachable" in plain


def test_nearest_fractions_of_an_unreachable_share():
    from alliance_pipeline.report.sections.published import nearest_fractions

    assert nearest_fractions(0.84, 23) == (19, 20)          # 0.826 and 0.870
    assert nearest_fractions(0.83, 23) is None              # 19/23 = 0.826 rounds to 0.83
    assert nearest_fractions(0.65, 23) is None              # 15/23 = 0.652


def lower_bounds(*bounds, alphas=None):
    rows = []
    for i, low in enumerate(bounds):
        a = (alphas or [0.9] * len(bounds))[i]
        rows.append(dict(cohort="pilot", question="session_experience",
                         code=["hooked", "engaged_well"][i], n_units=51, n_coders=2,
                         percent_agreement=0.95, cohen_kappa=0.9, fleiss_kappa=NAN,
                         krippendorff_alpha=a, alpha_ci_low=low, alpha_ci_high=1.0,
                         gwet_ac1=0.9, verdict="good", note=""))
    return pd.DataFrame(rows)


def test_the_reliability_verdict_reads_the_lower_bound_of_alpha():
    """Point estimates all good (verdict column "good"), one lower bound below 0.800: the summary
    and the Reliability section name it and the lowest bound; no blanket 'all good'."""
    study, cohort = study_settings(), cohort_settings()
    tentative = tables(agreement=lower_bounds(0.85, 0.72))
    summary = summary_md(tentative, study=study, cohort=cohort)
    sentence = ("The lower bound of α's 95% CI fell below 0.800 for *Engaged well* (lowest 0.720, "
                "*Engaged well*): tentative conclusions only (Krippendorff 2004).")
    assert sentence in summary and "all good" not in summary
    assert words(summary) <= SUMMARY_WORDS
    assert sentence in reliability_md(tentative, study=study, cohort=cohort)
    low = summary_md(tables(agreement=lower_bounds(0.6, 0.5)), study=study, cohort=cohort)
    assert ("fell below 0.800 for *Hooked* and *Engaged well* (lowest 0.500, *Engaged well*, "
            "below 0.667): not enough even for tentative conclusions") in low
    good = summary_md(tables(agreement=lower_bounds(0.85, 0.81)), study=study, cohort=cohort)
    assert "reached 0.800 for every code (lowest 0.810, *Engaged well*): reliable" in good
    no_ci = summary_md(tables(agreement=lower_bounds(NAN, NAN, alphas=[0.9, 0.75])),
                       study=study, cohort=cohort)
    assert "cannot be judged by its lower bound" in no_ci and "*Engaged well* fell below 0.800" in no_ci


def test_the_reliability_verdict_in_japanese():
    from alliance_pipeline.report.language import use_language

    with use_language("ja"):
        summary = summary_md(tables(agreement=lower_bounds(0.85, 0.72)), study=study_settings(),
                             cohort=cohort_settings())
    assert "αの95%信頼区間の下限は*Engaged well*で0.800を下回り" in summary
    assert "最低は*Engaged well*の0.720" in summary and "暫定的な結論のみ" in summary


def test_no_interval_prints_minus_zero():
    from alliance_pipeline.report.format import fmt_ci

    assert fmt_ci(-0.004, 0.3) == "[0.00, 0.30]"
    assert fmt_ci(-0.3, -0.0001) == "[-0.30, 0.00]"
    assert fmt_ci(-0.006, 0.3) == "[-0.01, 0.30]"
    assert fmt_num(-0.0049) == "0.00"
    tests = mcnemar_tests()
    tests.loc[tests["contrast"] == "training", "rd_ci_low"] = -0.001
    text = results_md(tables(tests=tests), study=study_settings(), cohort=cohort_settings(),
                      figures=set())
    assert "-0.00" not in text and "−0.00" not in text
