"""Config and codebook checks: every problem named by its key, YAML pitfalls caught."""
import copy
from pathlib import Path

import pytest
import yaml

from alliance_pipeline import config as study_config

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


def test_cohort_analysis_override_is_laid_over_the_study_settings(raw_config):
    raw_config["cohorts"]["pilot"]["analysis"] = {"mcnemar": {"method": "midp"}}
    study_config.check_config(raw_config)
    study_config.fill_defaults(raw_config, study_config.load_schema("config"))
    settings = study_config.cohort_settings(raw_config, "pilot")
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
