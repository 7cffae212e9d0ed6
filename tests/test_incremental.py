"""Incremental reruns across cohorts, read from Snakemake's dry run.

One full run of a two-cohort study (the pilot and a copy named ``replica``) in a temporary
folder; each scenario works on a copy of that folder (mtimes and .snakemake metadata kept)
and asks ``snakemake --dry-run`` which jobs it would run:

- nothing changed: nothing to do;
- a cohort added to the config: only that cohort's jobs and the study report's;
- one raw file of one cohort edited: only that cohort's jobs and the study report's.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import REPO, pilot_copy, run_workflow

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("study_incremental")]

STUDY_RULES = {"study_tables", "study_figures", "study_report", "all"}
TABLE_RULES = {"intake", "disagreements", "consensus", "agreement", "change"}


def planned(root: Path) -> set[tuple[str, str | None]]:
    """(rule, cohort or None) of every job a dry run would execute."""
    result = run_workflow(root, cores=2, extra=("--dry-run",))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return set()
    jobs = set()
    for match in re.finditer(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S|\Z)", text, re.M | re.S):
        cohort = re.search(r"wildcards: cohort=([\w-]+)", match.group(2))
        jobs.add((match.group(1), cohort.group(1) if cohort else None))
    assert jobs, text[-3000:]
    return jobs


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> Path:
    root = pilot_copy(tmp_path_factory.mktemp("incremental") / "study", cohorts={"replica": "replica"})
    result = run_workflow(root, cores=2, timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]
    return root


@pytest.fixture
def scenario(ran, tmp_path) -> Path:
    """A copy of the finished run (copy2 keeps mtimes, so nothing looks newer than it was)."""
    return Path(shutil.copytree(ran, tmp_path / "study", symlinks=True))


def add_cohort(root: Path, name: str) -> None:
    shutil.copytree(REPO / "data/raw/pilot", root / "data/raw" / name)
    path = root / "config/config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["cohorts"][name] = {"raw": f"data/raw/{name}", "label": "Third site", "synthetic": True}
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_no_op_rerun_plans_nothing(scenario):
    assert planned(scenario) == set()


def test_adding_a_cohort_runs_its_tables_and_the_study_only(scenario):
    add_cohort(scenario, "third")
    jobs = planned(scenario)
    tables = {(rule, cohort) for rule, cohort in jobs if rule in TABLE_RULES}
    assert tables == {(rule, "third") for rule in TABLE_RULES}
    assert {rule for rule, _ in jobs} >= STUDY_RULES


def test_adding_a_cohort_runs_its_jobs_and_the_study_only(scenario):
    add_cohort(scenario, "third")
    jobs = planned(scenario)
    others = {(rule, cohort) for rule, cohort in jobs if cohort not in (None, "third")}
    assert others == set()
    assert {rule for rule, cohort in jobs if cohort is None} == STUDY_RULES


def test_editing_one_raw_file_reruns_that_cohort_and_the_study_only(scenario):
    path = scenario / "data/raw/replica/responses.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("only afterwards I saw it", "only later I saw it", 1), encoding="utf-8")
    jobs = planned(scenario)
    assert {cohort for _, cohort in jobs} == {"replica", None}
    assert {rule for rule, cohort in jobs if cohort == "replica"} >= TABLE_RULES | {"figures", "render_report"}
    assert {rule for rule, cohort in jobs if cohort is None} == STUDY_RULES
