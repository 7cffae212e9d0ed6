"""The SLURM profile (profiles/slurm/config.yaml): valid for snakemake, and a dry run with it.

The SLURM executor plugin is the cluster extra (requirements-cluster.lock, make cluster-env;
.ci/run installs it). The profile holds one of the plugin's own settings
(``slurm-init-seconds-before-status-checks``), which snakemake only accepts with the plugin
installed: so Snakemake's own settings are checked without it, and what reads the whole
profile needs the plugin (skipped locally without it, failing in CI). The first dry run takes
every setting of the profile but the executor (``--executor dryrun``; command-line options win
over a profile's); the last one is the profile as it is. A real cluster runs the profile in
tests/test_slurm.py.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, pilot_copy, require_cluster_plugin, run_workflow, workflow_rules

PROFILE = REPO / "profiles" / "slurm"
PLUGIN_PREFIX = "slurm-"  # the SLURM executor plugin's own settings
TABLE_RULES = {"intake", "disagreements", "consensus", "agreement", "change"}
HEAVY_RULES = TABLE_RULES | {"render_report", "study_report"}
LIGHT_RULES = {"all", "study_tables", "study_figures"}


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return pilot_copy(tmp_path_factory.mktemp("profile") / "study", cohorts={"replica": "replica"})


def test_profile_is_yaml_with_snakemake_options():
    from snakemake.cli import get_argument_parser
    from snakemake.profiles import ProfileConfigFileParser

    settings = profile()
    assert settings["executor"] == "slurm"
    options = {s for action in get_argument_parser()._actions for s in action.option_strings}
    unknown = [key for key in settings if not key.startswith(PLUGIN_PREFIX) and f"--{key}" not in options]
    assert unknown == []
    # snakemake's own profile reader turns the mappings into its command-line forms
    stream = io.StringIO((PROFILE / "config.yaml").read_text(encoding="utf-8"))
    stream.name = str(PROFILE / "config.yaml")
    parsed = ProfileConfigFileParser().parse(stream)
    assert "intake:mem_mb=4000" in parsed["set-resources"]
    assert "intake=cohort_tables" in parsed["groups"]
    assert "cohort_tables=5" in parsed["group-components"]
    # the plugin's own settings are options only with the plugin installed
    require_cluster_plugin("the SLURM plugin's settings in the profile")
    options = {s for action in get_argument_parser()._actions for s in action.option_strings}
    assert [key for key in settings if f"--{key}" not in options] == []


@pytest.mark.workflow
def test_profile_names_only_rules_of_the_workflow(study):
    rules = set(workflow_rules(study))
    settings = profile()
    assert set(settings["set-resources"]) <= rules
    assert set(settings["groups"]) == TABLE_RULES
    assert set(settings["set-resources"]) >= HEAVY_RULES


@pytest.mark.workflow
def test_dry_run_with_the_profile_lists_the_jobs(study):
    require_cluster_plugin("a dry run with the SLURM profile's settings (one is the plugin's)")
    result = run_workflow(study, extra=("--profile", str(PROFILE), "--executor", "dryrun", "-n"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout + result.stderr
    assert f"Using profile {PROFILE}" in text
    stats = text.split("Job stats:")[1].split("\n\n")[0]
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats, re.M)}
    for rule in TABLE_RULES | {"figures", "render_report"}:
        assert counts[rule] == 2, (rule, counts)
    for rule in ("study_tables", "study_figures", "study_report", "all"):
        assert counts[rule] == 1
    # the profile's per-rule resources reach the jobs
    intake = re.search(r"rule intake:\n(.*?)\n\n", text, re.S).group(1)
    assert "mem_mb=4000" in intake and "runtime=30" in intake
    agreement = re.search(r"rule agreement:\n(.*?)\n\n", text, re.S).group(1)
    assert "runtime=60" in agreement


def local_rules(study: Path) -> set[str]:
    """Rules the workflow runs on the submit host under a cluster executor (localrule/norun)."""
    return {name for name, rule in workflow_rules(study).items() if rule["local"]}


@pytest.mark.workflow
def test_light_rules_stay_local_heavy_rules_go_to_the_cluster(study):
    local = local_rules(study)
    assert local >= LIGHT_RULES
    assert not (HEAVY_RULES & local)


@pytest.mark.workflow
def test_cohort_figures_stay_local(study):
    assert "figures" in local_rules(study)


@pytest.mark.workflow
def test_dry_run_with_the_slurm_plugin_groups_cohort_tables(study):
    require_cluster_plugin("a dry run with the SLURM profile")
    result = run_workflow(study, extra=("--profile", str(PROFILE), "-n"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Group job cohort_tables" in result.stdout + result.stderr
