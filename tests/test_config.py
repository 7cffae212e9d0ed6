"""Config and codebook checks: every problem named by its key, YAML pitfalls caught."""
import copy
from pathlib import Path

import pytest
import yaml

from alliance_pipeline.common import cohort_files
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config.settings import cohort_settings, published_figures

REPO_CONFIG = "config/config.yaml"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root():
    return REPO


@pytest.fixture
def raw_config(repo_root):
    return yaml.safe_load((repo_root / REPO_CONFIG).read_text(encoding="utf-8"))


def problems_of(cfg):
    with pytest.raises(study_config.ConfigError) as info:
        study_config.check_config(cfg)
    return info.value.problems


def test_shipped_config_and_codebook_are_valid(repo_root, monkeypatch):
    monkeypatch.chdir(repo_root)
    cfg, codebook = study_config.load_study(REPO_CONFIG)
    assert cfg["study"]["timepoints"] == ["pre1", "pre2", "post"]
    assert codebook["questions"]["training_feedback"]["timepoints"] == ["post"]


def test_defaults_are_filled_in_by_the_schema(raw_config):
    cfg = copy.deepcopy(raw_config)
    del cfg["analysis"]
    study_config.check_config(cfg)
    study_config.fill_defaults(cfg, study_config.load_schema("config"))
    # the values the data contract gives as the defaults
    assert cfg["analysis"]["mcnemar"] == {"method": "auto", "continuity": False, "exact_below": 25}
    assert cfg["analysis"]["agreement"]["bootstrap"] == 2000
    assert cfg["analysis"]["consensus"]["unresolved"] == "fail"
    assert cfg["analysis"]["p_adjust"] == "holm"


def test_cochran_permutation_settings_default_and_are_validated(raw_config):
    cfg = copy.deepcopy(raw_config)
    cfg["analysis"].pop("cochran", None)
    study_config.check_config(cfg)
    study_config.fill_defaults(cfg, study_config.load_schema("config"))
    assert cfg["analysis"]["cochran"] == {"permutations": 10000, "seed": 20250601}
    raw_config["analysis"]["cochran"] = {"permutations": -1, "seeds": 3}
    problems = problems_of(raw_config)
    assert any(p.startswith("analysis.cochran: unknown key(s) seeds") for p in problems), problems
    assert any(p.startswith("analysis.cochran.permutations: -1") for p in problems), problems
    # a cohort may set its own
    raw_config["analysis"]["cochran"] = {"permutations": 0}
    raw_config["cohorts"]["pilot"]["analysis"] = {"cochran": {"permutations": 500}}
    study_config.check_config(raw_config)


def test_enum_typo_names_the_key_and_the_choices(raw_config):
    raw_config["analysis"]["mcnemar"]["method"] = "fisher"
    assert problems_of(raw_config) == [
        "analysis.mcnemar.method: 'fisher' is not one of auto | exact | midp | asymptotic"]


def test_unknown_key_is_named_with_the_allowed_ones(raw_config):
    raw_config["analysis"]["mcnemar"]["continuty"] = True
    (problem,) = problems_of(raw_config)
    assert problem.startswith("analysis.mcnemar: unknown key(s) continuty (allowed here: method, continuity")


def test_wrong_type_is_named(raw_config):
    raw_config["analysis"]["agreement"]["bootstrap"] = "many"
    assert problems_of(raw_config) == ["analysis.agreement.bootstrap: 'many' should be of type integer"]


def test_all_problems_are_listed_at_once(raw_config):
    raw_config["analysis"]["p_adjust"] = "fdr"
    raw_config["cohorts"]["pilot"]["synthetic"] = "yes"
    raw_config["study"]["timepoints"] = ["pre1"]
    assert len(problems_of(raw_config)) == 3


def test_yaml_boolean_code_id_is_caught_with_advice():
    codebook = yaml.safe_load("questions:\n  q1:\n    timepoints: [pre1]\n    codes:\n      no: {label: No}\n")
    with pytest.raises(study_config.ConfigError) as info:
        study_config.check_codebook(codebook, "config/codebook.yaml")
    (problem,) = info.value.problems
    assert problem.startswith("questions.q1.codes.False: the key False is not text")
    assert 'write the id in quotes (e.g. "no":' in problem


def test_yaml_boolean_value_gets_a_hint(raw_config):
    raw_config["study"]["timepoints"] = ["pre1", "pre2", False]  # `off` in YAML
    (problem,) = problems_of(raw_config)
    assert problem.startswith("study.timepoints.2: False should be of type string (YAML reads")


def test_cross_references_are_checked(raw_config, repo_root):
    codebook = yaml.safe_load((repo_root / "config/codebook.yaml").read_text(encoding="utf-8"))
    raw_config["study"]["contrasts"]["odd"] = ["pre1", "follow_up"]
    raw_config["published"]["pilot"]["session_experience"]["hooked"]["later"] = 0.1
    problems = study_config.cross_reference_problems(raw_config, codebook)
    assert "study.contrasts.odd: 'follow_up' is not one of study.timepoints (pre1, pre2, post)" in problems
    assert ("published.pilot.session_experience.hooked.later: question session_experience is not "
            "asked at 'later'") in problems


def test_compare_pairs_name_contrasts(raw_config, repo_root):
    codebook = yaml.safe_load((repo_root / "config/codebook.yaml").read_text(encoding="utf-8"))
    assert raw_config["study"]["compare"] == [["training", "baseline"]]
    assert study_config.cross_reference_problems(raw_config, codebook) == []
    # contrasts that share no time point are allowed
    raw_config["study"]["contrasts"]["late"] = ["pre2", "post"]
    raw_config["study"]["contrasts"]["early"] = ["pre1", "pre2"]
    raw_config["study"]["compare"] = [["late", "early"], ["Training", "baseline"],
                                      ["training", "training"], ["training", "control"]]
    problems = study_config.cross_reference_problems(raw_config, codebook)
    assert problems == [
        "study.compare[1]: 'Training' is not one of study.contrasts (baseline, training, overall, "
        "late, early) (did you mean 'training'?)",
        "study.compare[2]: compares contrast 'training' with itself (the difference is 0 by "
        "construction)",
        "study.compare[3]: 'control' is not one of study.contrasts (baseline, training, overall, "
        "late, early)"]
    # a pair is two names; compare and the sign-flip settings default when left out
    raw_config["study"]["compare"] = [["training"]]
    assert problems_of(raw_config)[0].startswith("study.compare.0: ")
    del raw_config["study"]["compare"]
    del raw_config["analysis"]["signflip"]
    study_config.check_config(raw_config)
    study_config.fill_defaults(raw_config, study_config.load_schema("config"))
    assert raw_config["study"]["compare"] == []
    assert raw_config["analysis"]["signflip"] == {"permutations": 10000, "seed": 20250601}


def test_cohort_analysis_override_is_laid_over_the_study_settings(raw_config):
    raw_config["cohorts"]["pilot"]["analysis"] = {"mcnemar": {"method": "midp"}}
    study_config.check_config(raw_config)
    study_config.fill_defaults(raw_config, study_config.load_schema("config"))
    settings = cohort_settings(raw_config, "pilot")
    assert settings["analysis"]["mcnemar"] == {"method": "midp", "continuity": False, "exact_below": 25}
    assert raw_config["analysis"]["mcnemar"]["method"] == "auto"  # the study value is untouched


def test_missing_cohort_folder_names_the_cohort(tmp_path, monkeypatch, raw_config):
    monkeypatch.chdir(tmp_path)
    raw_config["cohorts"]["site_b"] = {"raw": "data/raw/site_b"}
    (tmp_path / "data/raw/pilot").mkdir(parents=True)
    (tmp_path / "data/raw/pilot/responses.csv").write_text("x")
    with pytest.raises(study_config.ConfigError) as info:
        study_config.check_cohort_folders(raw_config)
    assert info.value.problems[0].startswith("cohorts.site_b.raw: folder data/raw/site_b does not exist")


def survey_block():
    return {"participant_column": "Participant code",
            "files": {"pre1": "pre1.xlsx", "pre2": {"file": "pre2.xlsx", "sheet": "Form Responses 1"},
                      "post": "post.csv"},
            "questions": {"session_experience": "How did you experience the interaction?",
                          "training_feedback": "What did the training change for you?"}}


def test_coders_coding_key_and_survey_block_are_accepted(raw_config, repo_root):
    raw_config["cohorts"]["pilot"].update(coders=["coder_a", "coder-b2"], coding_key="kept by the team",
                                          survey=survey_block())
    study_config.check_config(raw_config)
    codebook = yaml.safe_load((repo_root / "config/codebook.yaml").read_text(encoding="utf-8"))
    assert study_config.cross_reference_problems(raw_config, codebook) == []


def test_coder_ids_must_be_safe_file_names_and_the_key_not_blank(raw_config):
    raw_config["cohorts"]["pilot"].update(coders=["coder_a", "../coder_b"], coding_key="  ")
    pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
    assert problems_of(raw_config) == [
        f"cohorts.pilot.coders.1: '../coder_b' does not match {pattern} (a coder id, used as a "
        "file name (codes/<coder>.xlsx, coding_sheets/<coder>.xlsx))",
        "cohorts.pilot.coding_key: '  ' does not match \\S (Any text the team keeps (and does not "
        "give the coders): the opaque unit ids of the coding workbooks are derived from it, so it "
        "keeps the blinding and the ids stable.)"]


def test_survey_block_cross_references_are_checked(raw_config, repo_root):
    codebook = yaml.safe_load((repo_root / "config/codebook.yaml").read_text(encoding="utf-8"))
    survey = survey_block()
    survey["files"] = {"pre1": "pre1.xlsx", "Pre2": "pre2.xls", "post_": {"file": "post.csv", "sheet": "S"}}
    survey["questions"] = {"session_experience": "Participant code",
                           "training_feedbak": "What did the training change for you?"}
    raw_config["cohorts"]["pilot"]["survey"] = survey
    study_config.check_config(raw_config)
    assert study_config.cross_reference_problems(raw_config, codebook) == [
        "cohorts.pilot.survey.files.Pre2: not a study time point (pre1, pre2, post) (did you mean "
        "'pre2'?); name the export by its time point",
        "cohorts.pilot.survey.files.Pre2: 'pre2.xls' is not a .csv or .xlsx file; save the export "
        "as .xlsx (Excel workbook) or as CSV",
        "cohorts.pilot.survey.files.post_: not a study time point (pre1, pre2, post) (did you mean "
        "'post'?); name the export by its time point",
        "cohorts.pilot.survey.files.post_: a CSV file has no sheets; remove `sheet:` or give the "
        ".xlsx export",
        "cohorts.pilot.survey.questions.session_experience: 'Participant code' is the participant "
        "column; give the header of the question's own column",
        "cohorts.pilot.survey.questions.training_feedbak: not a question of the codebook "
        "(session_experience, training_feedback) (did you mean 'training_feedback'?)"]


def test_a_question_without_an_export_of_its_time_points_is_named(raw_config, repo_root):
    codebook = yaml.safe_load((repo_root / "config/codebook.yaml").read_text(encoding="utf-8"))
    survey = survey_block()
    del survey["files"]["post"]
    raw_config["cohorts"]["pilot"]["survey"] = survey
    assert study_config.cross_reference_problems(raw_config, codebook) == [
        "cohorts.pilot.survey.questions.training_feedback: the question is asked at post but "
        "survey.files has an export for none of them; add the export of its time point under files:"]
    survey["files"]["post"] = "post.csv"
    del survey["questions"]["training_feedback"]
    assert study_config.cross_reference_problems(raw_config, codebook) == [
        "cohorts.pilot.survey.questions: question training_feedback (asked at post) has no column "
        "header; add `training_feedback: \"<its column header>\"`"]


def test_missing_export_is_named_with_the_exports_present(tmp_path, monkeypatch, raw_config):
    monkeypatch.chdir(tmp_path)
    raw = tmp_path / "data/raw/pilot"
    raw.mkdir(parents=True)
    for name in ("pre1.xlsx", "pre2.xlsx", "Post.csv"):
        (raw / name).write_bytes(b"x")
    raw_config["cohorts"]["pilot"]["survey"] = survey_block()
    with pytest.raises(study_config.ConfigError) as info:
        study_config.check_cohort_folders(raw_config)
    assert info.value.problems == [
        "cohorts.pilot.survey.files.post: data/raw/pilot/post.csv does not exist (exports in "
        "data/raw/pilot: Post.csv, pre1.xlsx, pre2.xlsx) (did you mean 'Post.csv'?); put the "
        "export there or fix the file name"]
    (raw / "Post.csv").rename(raw / "post.csv")
    (raw / "codes").mkdir()
    (raw / "codes/coder_a.csv").write_bytes(b"x")
    study_config.check_cohort_folders(raw_config)  # responses.csv is not needed
    assert cohort_files.raw_files(raw_config["cohorts"]["pilot"]) == [
        "data/raw/pilot/pre1.xlsx", "data/raw/pilot/pre2.xlsx", "data/raw/pilot/post.csv",
        "data/raw/pilot/codes/coder_a.csv"]


def test_published_figures_may_name_their_basis(raw_config):
    """A published figure is a share of participants (a number: today's form) or
    {share, basis: participants | codes}; the shipped pilot has 6 + 3 figures."""
    feedback = raw_config["published"]["pilot"]["training_feedback"]
    assert feedback["noticing_captivity"] == {"post": {"share": 0.24, "basis": "codes"}}
    study_config.check_config(raw_config)
    rows = published_figures(raw_config["published"]["pilot"])
    assert len(rows) == 9
    assert rows[0] == {"question": "session_experience", "code": "hooked", "timepoint": "pre1",
                       "share": 0.65, "basis": "participants"}
    assert [(r["code"], r["share"], r["basis"]) for r in rows[6:]] == [
        ("noticing_captivity", 0.24, "codes"), ("relating_with_intention", 0.21, "codes"),
        ("not_being_upset", 0.14, "codes")]
    assert published_figures({"q": {"c": {"t": {"share": 0.5}}}})[0]["basis"] == "participants"


WHERE = "published.pilot.training_feedback.not_being_upset.post"


@pytest.mark.parametrize("figure, message", [
    ({"share": 0.24, "basis": "respondents"}, f"{WHERE}.basis: 'respondents' is not one of participants | codes"),
    ({"basis": "codes"}, f"{WHERE}: 'share' is a required property"),
    ({"share": 1.4, "basis": "codes"}, f"{WHERE}.share: 1.4 is greater than the maximum of 1"),
    ({"share": 0.2, "base": "codes"}, f"{WHERE}: unknown key(s) base (allowed here: share, basis)"),
    ("x", f"{WHERE}: 'x' should be of type number")])
def test_a_published_figure_with_a_bad_basis_or_share_is_refused(raw_config, figure, message):
    raw_config["published"]["pilot"]["training_feedback"]["not_being_upset"]["post"] = figure
    assert problems_of(raw_config) == [message]
