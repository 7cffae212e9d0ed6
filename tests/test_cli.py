"""The ``alliance`` command (src/alliance_pipeline/app/cli.py): every subcommand, its help, its
refusals, and the exit statuses docs/user-guide.md documents (0 done, 1 failed or NOT
VERIFIED, 2 refused). Each command runs as a user runs it, in its own process
(``python -m alliance_pipeline.app.cli``, what the console script ``alliance`` calls).
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import REPO, pilot_copy

EXAMPLE = REPO / "examples" / "survey"
SUBCOMMANDS = ["run", "coding-sheets", "status", "verify", "new-cohort"]


def alliance(*args: str, cwd: Path | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"),
                                                                     os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "alliance_pipeline.app.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_version_is_the_one_in_the_package_and_pyproject_reads_it_from_there():
    source = (REPO / "src/alliance_pipeline/__init__.py").read_text(encoding="utf-8")
    version = re.search(r'^__version__ = "([^"]+)"$', source, re.M).group(1)
    done = alliance("--version")
    assert (done.returncode, done.stdout) == (0, f"alliance {version}\n")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "alliance_pipeline.__version__"}
    assert project["project"]["scripts"] == {"alliance": "alliance_pipeline.app.cli:main"}


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_every_command_has_help_with_the_exit_statuses(command):
    done = alliance(*filter(None, [command]), "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: alliance {command}".rstrip())
    text = " ".join(done.stdout.split())
    assert "exit status: 0 done" in text and "; 2 usage error" in text


@pytest.mark.parametrize(("args", "message"), [
    ((), "the following arguments are required: COMMAND"),
    (("start",), "invalid choice: 'start'"),
    (("run", "--cores", "0"), "argument --cores: '0' is not a positive whole number or 'all'"),
    (("run", "--cores", "two"), "argument --cores: 'two' is not a positive whole number or 'all'"),
    (("run", "-d", "no/such/folder"), "no/such/folder: no config/config.yaml in this folder"),
    (("coding-sheets", "-d", "no/such/folder"), "no config/config.yaml in this folder"),
    (("status", "-d", "no/such/folder"), "no config/config.yaml in this folder"),
    (("verify",), "the following arguments are required: REPORT"),
    (("new-cohort",), "the following arguments are required: NAME"),
    (("new-cohort", "spring", "--survey", "ods"), "argument --survey: invalid choice: 'ods'"),
])
def test_bad_arguments_are_refused_with_status_2_before_anything_runs(tmp_path, args, message):
    done = alliance(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert list(tmp_path.iterdir()) == []   # nothing written


def test_verify_refuses_a_file_that_is_no_report(tmp_path):
    (tmp_path / "report.html").write_text("<html>no manifest</html>", encoding="utf-8")
    done = alliance("verify", str(tmp_path / "report.html"), "--data-dir", str(tmp_path))
    assert done.returncode == 2
    assert done.stdout.startswith("ERROR ") and "manifest" in done.stdout


# ---------------------------------------------------------------- new-cohort and status

def study_folder(tmp_path: Path) -> Path:
    return pilot_copy(tmp_path / "study")


def test_new_cohort_adds_a_commented_block_and_keeps_every_other_line(tmp_path):
    study = study_folder(tmp_path)
    before = (study / "config/config.yaml").read_text(encoding="utf-8")
    done = alliance("new-cohort", "spring", "-d", str(study))
    assert done.returncode == 0, done.stderr
    after = (study / "config/config.yaml").read_text(encoding="utf-8")
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    # the file is the old one with the block inserted: every old line, comments included, in order
    assert [line for line in after.splitlines() if line not in added] == before.splitlines()
    assert added[0].startswith("  spring:") and "# added by alliance new-cohort" in added[0]
    assert any(line.lstrip().startswith("# coders:") for line in added)          # commented hints
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    assert new["cohorts"].pop("spring") == {"raw": "data/raw/spring", "label": "spring",
                                            "encoding": "utf-8"}
    assert new == old
    readme = (study / "data/raw/spring/README.md").read_text(encoding="utf-8")
    assert "`responses.csv`" in readme and "`codes/<coder>.csv`" in readme
    assert (study / "data/raw/spring/codes").is_dir()


def test_status_after_new_cohort_says_what_to_put_in_its_raw_folder(tmp_path):
    study = study_folder(tmp_path)
    assert alliance("new-cohort", "spring", "-d", str(study)).returncode == 0
    done = alliance("status", "-d", str(study))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "Cohort spring: waiting for its responses. Next:\n"
        "  1. put responses.csv (columns response_id, participant_id, timepoint, question, text; "
        "UTF-8, or set the cohort's encoding) in data/raw/spring/;\n"
        "  2. two or more coders' files later in data/raw/spring/codes/ (<coder>.csv or <coder>.xlsx);\n")
    assert "  pilot: no report yet: alliance run builds it" in done.stdout
    # until the responses are there, a run stops at start-up naming the cohort and what to do
    run = alliance("run", "--cores", "1", "-d", str(study))
    assert run.returncode == 1
    assert ("cohorts.spring.raw: data/raw/spring/responses.csv is missing; put the cohort's "
            "responses there") in run.stderr and "alliance status says" in run.stderr


def test_new_cohort_refuses_existing_and_invalid_names_and_writes_nothing(tmp_path):
    study = study_folder(tmp_path)
    before = (study / "config/config.yaml").read_bytes()
    for name, why in [("pilot", "cohort 'pilot' exists already"),
                      ("Pilot", "names differing only in upper/lower case"),
                      ("study", "'study' is reserved"),
                      ("2026spring", "'2026spring' is not a cohort name"),
                      ("spring/b", "is not a cohort name"), ("spring b", "is not a cohort name")]:
        done = alliance("new-cohort", name, "-d", str(study))
        assert done.returncode == 2, name
        assert why in done.stderr, (name, done.stderr)
    assert (study / "config/config.yaml").read_bytes() == before
    assert sorted(p.name for p in (study / "data/raw").iterdir()) == ["pilot"]


def test_new_cohort_with_survey_exports_is_a_valid_survey_block(tmp_path):
    study = study_folder(tmp_path)
    done = alliance("new-cohort", "autumn", "--survey", "xlsx", "--label", "Autumn cohort, 2026",
                    "-d", str(study))
    assert done.returncode == 0, done.stderr
    entry = yaml.safe_load((study / "config/config.yaml").read_text(encoding="utf-8"))["cohorts"]["autumn"]
    assert entry["label"] == "Autumn cohort, 2026"
    assert entry["survey"]["files"] == {"pre1": "pre1.xlsx", "pre2": "pre2.xlsx", "post": "post.xlsx"}
    codebook = yaml.safe_load((study / "config/codebook.yaml").read_text(encoding="utf-8"))
    assert set(entry["survey"]["questions"]) == set(codebook["questions"])
    status = alliance("status", "-d", str(study)).stdout
    assert "Cohort autumn: waiting for its responses" in status
    assert "data/raw/autumn/pre1.xlsx, data/raw/autumn/pre2.xlsx, data/raw/autumn/post.xlsx" in status
    assert "`pre1.xlsx`, `pre2.xlsx`, `post.xlsx`" in (study / "data/raw/autumn/README.md").read_text()


def test_new_cohort_keeps_windows_line_endings_and_a_byte_order_mark(tmp_path):
    study = study_folder(tmp_path)
    path = study / "config/config.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert alliance("new-cohort", "spring", "-d", str(study)).returncode == 0
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\n") == data.count(b"\r\n")
    assert "spring" in yaml.safe_load(data.decode("utf-8-sig"))["cohorts"]


def test_new_cohort_when_cohorts_is_the_last_key_and_yaml_would_read_the_name_as_true(tmp_path):
    study = study_folder(tmp_path)
    path = study / "config/config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    cohorts = config.pop("cohorts")
    text = yaml.safe_dump(config, sort_keys=False) + "cohorts:\n    pilot:\n        raw: data/raw/pilot\n        # the end\n"
    path.write_text(text, encoding="utf-8")
    assert cohorts["pilot"]["raw"] == "data/raw/pilot"
    done = alliance("new-cohort", "yes", "-d", str(study))   # YAML 1.1 reads a bare yes as true
    assert done.returncode == 0, done.stderr
    after = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert after["cohorts"]["yes"]["raw"] == "data/raw/yes"
    assert path.read_text(encoding="utf-8").startswith(text)   # inserted after the block's last line
    assert '    "yes":' in path.read_text(encoding="utf-8")      # 4-space indentation followed


def test_new_cohort_refuses_a_flow_style_cohorts_block(tmp_path):
    study = study_folder(tmp_path)
    path = study / "config/config.yaml"
    shipped = path.read_text(encoding="utf-8")
    block = re.search(r"^cohorts:.*?(?=^analysis:)", shipped, re.S | re.M).group(0)
    text = shipped.replace(block, "cohorts: {pilot: {raw: data/raw/pilot, synthetic: true}}\n")
    path.write_text(text, encoding="utf-8")
    assert yaml.safe_load(text)["cohorts"] == {"pilot": {"raw": "data/raw/pilot", "synthetic": True}}
    done = alliance("new-cohort", "spring", "-d", str(study))
    assert done.returncode == 2 and "flow style" in done.stderr
    assert path.read_text(encoding="utf-8") == text


def test_status_refuses_a_config_that_does_not_check(tmp_path):
    study = study_folder(tmp_path)
    path = study / "config/config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("p_adjust: holm", "p_adjust: holmes"),
                    encoding="utf-8")
    done = alliance("status", "-d", str(study))
    assert done.returncode == 2
    assert "analysis.p_adjust: 'holmes' is not one of holm | bonferroni | none" in done.stderr


# ---------------------------------------------------------------- the workflow commands

def survey_without_codes(tmp_path: Path) -> Path:
    """The survey example's config and exports, before the coders have coded."""
    from test_survey_example import example_copy

    return example_copy(tmp_path / "survey")


@pytest.mark.workflow
def test_coding_sheets_writes_the_blinded_workbooks_and_status_says_the_run_s_next_steps(tmp_path):
    study = survey_without_codes(tmp_path)
    config = yaml.safe_load((study / "config/config.yaml").read_text(encoding="utf-8"))
    (cohort, entry), = config["cohorts"].items()
    done = alliance("coding-sheets", "--cores", "1", "-d", str(study))
    assert done.returncode == 0, done.stderr[-3000:]
    for coder in entry["coders"]:
        assert (study / f"data/derived/{cohort}/coding_sheets/{coder}.xlsx").is_file()
    assert not (study / f"data/derived/{cohort}/final_codes.csv").exists()
    # the run prints the next steps at its end; status prints the same lines, before any run
    run = alliance("run", "--cores", "1", "-d", str(study))
    assert run.returncode == 0, run.stderr[-3000:]
    steps = run.stderr[run.stderr.index(f"Cohort {cohort}: the responses are in"):].splitlines()[:4]
    status = alliance("status", "-d", str(study))
    assert status.returncode == 0
    assert status.stdout.splitlines()[:4] == steps
    assert steps[0].endswith(f"waiting for {', '.join(entry['coders'])}. Next:")
    assert f"  {cohort}: waiting for {', '.join(entry['coders'])}" in status.stdout
    assert run.stdout.endswith("Reports:\n  (none yet)\n")


@pytest.mark.workflow
def test_run_builds_the_pilot_report_and_verify_checks_it(tmp_path):
    study = study_folder(tmp_path)
    done = alliance("run", "--cores", "2", "-d", str(study))
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.endswith("Reports:\n  reports/pilot/report.html\n  reports/pilot/report.ja.html\n"
                                "  reports/pilot/report.ja.pdf\n  reports/pilot/report.pdf\n")
    status = alliance("status", "-d", str(study))
    assert status.stdout == "Summary by cohort:\n  pilot: done (reports/pilot/report.html)\n"

    reviewer = tmp_path / "reviewer"
    shutil.copytree(study / "config", reviewer / "config")
    final_codes = tmp_path / "final_codes.csv"
    shutil.copyfile(study / "data/derived/pilot/final_codes.csv", final_codes)
    report = study / "reports/pilot/report.html"
    verified = alliance("verify", str(report), "--final-codes", str(final_codes), "--data-dir", str(reviewer))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.splitlines()[-1].startswith("verdict VERIFIED")

    with open(final_codes, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    hit = next(r for r in rows if r["present"] == "1")
    hit["present"] = "0"                                   # one code taken away
    with open(final_codes, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    refused = alliance("verify", str(report), "--final-codes", str(final_codes), "--data-dir", str(reviewer))
    assert refused.returncode == 1
    assert refused.stdout.splitlines()[-1].startswith("verdict NOT VERIFIED")

    # a workflow that fails: exit status 1 and the summary by cohort
    (study / "data/raw/pilot/responses.csv").write_text("response_id\n", encoding="utf-8")
    failed = alliance("run", "--cores", "1", "-d", str(study))
    assert failed.returncode == 1
    assert "Summary by cohort:" in failed.stderr


def test_the_slurm_profile_without_the_cluster_extra_is_refused_with_how_to_install_it(
        tmp_path, monkeypatch, capsys):
    import importlib.util

    from alliance_pipeline.app import cli

    study = study_folder(tmp_path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == cli.SLURM_PLUGIN else real(name, *a))
    with pytest.raises(SystemExit) as stop:
        cli.main(["run", "--profile", str(REPO / "profiles/slurm"), "-d", str(study)])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "the SLURM executor plugin is not installed" in error
    assert "pip install --require-hashes -r requirements-cluster.lock (make cluster-env)" in error
    assert not (study / ".snakemake").exists()   # Snakemake never started


def test_nothing_assumes_a_posix_shell_or_a_venv_bin_folder():
    """The route without make must work on Windows: no rule runs a shell command, no module
    or script starts a shell or names a venv's bin/ folder, and Snakemake is started by the
    interpreter itself (README, "Without make")."""
    import ast

    rules = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    shell_rules = [f"{p.name}:{n}" for p in rules
                   for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
                   if re.match(r"\s+(shell|run):", line)]
    assert shell_rules == []
    sources = [*sorted((REPO / "src").rglob("*.py")), *sorted((REPO / "scripts").glob("*.py"))]
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.keyword) and node.arg == "shell" and getattr(node.value, "value", False):
                found.append(f"{path.name}: shell=True")
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "system":
                found.append(f"{path.name}: os.system")
        if re.search(r"\.venv/bin|[\"']/bin/(ba)?sh", text):
            found.append(f"{path.name}: a venv's bin/ or /bin/sh")
    assert found == []
    from alliance_pipeline.app import cli

    command = cli.snakemake_command(REPO, "1")
    assert command[:3] == [sys.executable, "-m", "snakemake"]
