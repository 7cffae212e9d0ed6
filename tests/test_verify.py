"""The report's manifest and the reviewer's check against a rerun (issue 15).

One workflow run of a pilot copy (shared by the tests of this module) makes the report; each
test then verifies it, or a copy of its data folder or of the checkout with one thing edited.
Expected values come from the run's own CSV files read with the csv module, from the raw files
(which response was edited) and from hand formulas (Bonferroni: 3 × p for three contrasts;
Wilson's interval written out), never from alliance_pipeline.report.manifest itself.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from statistics import NormalDist

import jsonschema
import pytest
import yaml

from alliance_pipeline.report import manifest as manifests
from alliance_pipeline.verify.check import verify
from alliance_pipeline.verify.compare import compare_numbers, config_differences
from conftest import once_per_session, pilot_copy, run_workflow, sha256_tree

REPO = Path(__file__).resolve().parents[1]
EPOCH = "1767225600"  # 2026-01-01

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("verify")]


def build(folder: Path) -> dict:
    study = pilot_copy(folder / "study")
    config_path = study / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["analysis"]["agreement"]["bootstrap"] = 200  # quicker reruns; the report states it
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    done = run_workflow(study, "reports/pilot/report.html",
                        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})
    assert done.returncode == 0, done.stderr[-4000:]
    return {"study": str(study)}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return Path(once_per_session(tmp_path_factory, "verify_pilot", build)["study"])


def copy_data(study: Path, dest: Path) -> Path:
    """config/, data/raw/ and reports/ of the run (not data/derived/), as a reviewer gets them."""
    for part in ("config", "data/raw", "reports"):
        shutil.copytree(study / part, dest / part)
    return dest


def run_verify(report: Path, **kw) -> tuple[int, str]:
    lines: list[str] = []
    status = verify(report, echo=lines.append, **kw)
    return status, "\n".join(lines)


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def reported_number(output: str, label: str, column: str) -> tuple[float, float]:
    """(report, rerun) of the line that names ``label column``."""
    match = re.search(re.escape(f"{label} {column}: report ") + r"(\S+), rerun (\S+)", output)
    assert match, f"no line names {label} {column}:\n{output}"
    return float(match.group(1)), float(match.group(2))


# ---------------------------------------------------------------- the manifest

def test_manifest_validates_and_is_in_html_and_pdf(study):
    from pypdf import PdfReader

    text = (study / "reports/pilot/manifest.json").read_text(encoding="utf-8")
    found = json.loads(text)
    schema = yaml.safe_load((REPO / "schemas/manifest.schema.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(found)

    html = (study / "reports/pilot/report.html").read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="manifest">(.*?)</script>', html, re.S)
    assert match and json.loads(match.group(1)) == found
    assert "alliance verify " in html  # the appendix tells the reader how to check it
    attached = PdfReader(study / "reports/pilot/report.pdf").attachments["manifest.json"][0]
    assert json.loads(attached) == found

    assert found["date"] == "2026-01-01" and found["cohorts"] == ["pilot"]
    raw = {e["file"]: e["sha256"] for e in found["inputs"]["raw"]}
    for name in ("responses.csv", "codes/coder_a.csv", "codes/coder_b.csv", "adjudication.csv"):
        path = study / "data/raw/pilot" / name
        assert raw[f"data/raw/pilot/{name}"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert found["inputs"]["codebook"]["sha256"] == hashlib.sha256(
        (study / "config/codebook.yaml").read_bytes()).hexdigest()
    assert found["code"]["lock"]["sha256"] == hashlib.sha256(
        (REPO / "requirements.lock").read_bytes()).hexdigest()
    init = (REPO / "src/alliance_pipeline/__init__.py").read_text(encoding="utf-8")
    assert f'__version__ = "{found["code"]["version"]}"' in init   # alliance --version's
    assert f"Pipeline version: {found['code']['version']}." in html
    assert found["inputs"]["config"]["effective"]["analysis"]["agreement"]["bootstrap"] == 200

    tables = {e["table"]: e for e in found["tables"]}
    for name, entry in tables.items():
        assert entry["sha256"] == hashlib.sha256((study / entry["file"]).read_bytes()).hexdigest(), name
    # the key numbers, read independently from the CSV files
    for row in rows(study / "data/derived/pilot/proportions.csv"):
        label = f"pilot/{row['question']}/{row['code']}/{row['timepoint']}"
        assert tables["proportions"]["numbers"][label]["proportion"] == float(row["proportion"])
    for row in rows(study / "data/derived/pilot/tests.csv"):
        got = tables["tests"]["numbers"][f"pilot/{row['question']}/{row['code']}/{row['test']}/{row['contrast']}"]
        for column in ("statistic", "p_value", "p_adjusted", "risk_difference", "rd_ci_low", "rd_ci_high"):
            assert got[column] == (float(row[column]) if row[column] else None), column
    for row in rows(study / "data/derived/pilot/agreement.csv"):
        got = tables["agreement"]["numbers"][f"pilot/{row['question']}/{row['code']}"]
        assert got["krippendorff_alpha"] == float(row["krippendorff_alpha"])
    assert "numbers" not in tables["final_codes"]  # one row per response: its hash only


def test_schema_refuses_a_manifest_with_a_bad_hash_or_a_timestamp(study):
    found = json.loads((study / "reports/pilot/manifest.json").read_text(encoding="utf-8"))
    assert manifests.problems(found) == []
    broken = json.loads(json.dumps(found))
    broken["inputs"]["raw"][0]["sha256"] = "not-a-hash"
    broken["generated_at"] = "2026-11-29T03:00:00Z"
    problems = manifests.problems(broken)
    assert any("sha256" in p for p in problems) and any("generated_at" in p for p in problems)


# ---------------------------------------------------------------- verification

def test_the_pilots_own_report_verifies(study):
    before = sha256_tree(study / "data")
    status, output = run_verify(study / "reports/pilot/report.html", data_dir=study)
    assert status == 0, output
    assert output.splitlines()[-1].startswith("verdict VERIFIED"), output
    for table in ("agreement", "proportions", "tests", "power", "flow", "models", "final_codes",
                  "responses"):
        assert re.search(rf"^tables\s+ok\s+data/derived/pilot/{table}\.csv", output, re.M), table
    assert "inputs  ok            config: the effective config here is the report's" in output
    assert sha256_tree(study / "data") == before  # the reviewer's raw/ and derived/ untouched


def test_an_edited_raw_code_fails_naming_the_file_and_the_numbers(study, tmp_path):
    data = copy_data(study, tmp_path / "data")
    adjudication = data / "data/raw/pilot/adjudication.csv"
    text = adjudication.read_text(encoding="utf-8")
    assert "\nR032,hooked," in text
    adjudication.write_text(text.replace("\nR032,hooked,", "\nR032,,"), encoding="utf-8")
    # R032 is P09's pre2 answer: one participant fewer is hooked at pre2
    response = next(r for r in rows(data / "data/raw/pilot/responses.csv") if r["response_id"] == "R032")
    assert response["timepoint"] == "pre2"
    share = next(r for r in rows(study / "data/derived/pilot/proportions.csv")
                 if r["code"] == "hooked" and r["timepoint"] == "pre2")

    status, output = run_verify(data / "reports/pilot/report.html", data_dir=data)
    assert status == 1, output
    assert re.search(r"^inputs\s+FAIL\s+data/raw/pilot/adjudication\.csv: differs", output, re.M), output
    assert reported_number(output, "proportions pilot/session_experience/hooked/pre2", "k") == \
        (float(share["k"]), float(share["k"]) - 1)
    assert re.search(r"^tables\s+FAIL\s+data/derived/pilot/final_codes\.csv: differs", output, re.M)
    assert output.splitlines()[-1].startswith("verdict NOT VERIFIED"), output


def test_an_edited_config_value_fails_naming_the_key_and_the_numbers(study, tmp_path):
    data = copy_data(study, tmp_path / "data")
    path = data / "config/config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["analysis"]["p_adjust"] = "bonferroni"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    row = next(r for r in rows(study / "data/derived/pilot/tests.csv")
               if r["code"] == "hooked" and r["contrast"] == "training")

    status, output = run_verify(data / "reports/pilot/report.html", data_dir=data)
    assert status == 1, output
    assert "analysis.p_adjust: report 'holm', here 'bonferroni'" in output
    # Bonferroni over the three contrasts of a code: min(1, 3 p)
    report, rerun = reported_number(output, "tests pilot/session_experience/hooked/mcnemar/training",
                                    "p_adjusted")
    assert report == float(row["p_adjusted"])
    assert rerun == pytest.approx(min(1.0, 3 * float(row["p_value"])), rel=1e-12)


def test_an_edited_package_function_fails_naming_the_numbers(study, tmp_path):
    checkout = tmp_path / "checkout"
    for part in ("Snakefile", "rules", "scripts", "src", "schemas", "reports/report.qmd",
                 "reports/study.qmd", "reports/_quarto.yml", "requirements.lock", "environment.yml"):
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, checkout / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (checkout / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, checkout / part)
    module = checkout / "src/alliance_pipeline/change/cohort_tables.py"
    text = module.read_text(encoding="utf-8")
    edited = text.replace('proportions_table(codes, cohort=cohort["cohort"], confidence=analysis["confidence"],',
                          'proportions_table(codes, cohort=cohort["cohort"], confidence=0.90,')
    assert edited != text
    module.write_text(edited, encoding="utf-8")
    share = next(r for r in rows(study / "data/derived/pilot/proportions.csv")
                 if r["code"] == "hooked" and r["timepoint"] == "pre1")

    status, output = run_verify(study / "reports/pilot/report.html", data_dir=study, checkout=checkout)
    assert status == 1, output
    assert "this checkout has no git history" in output or "does not record its commit" in output
    # Wilson's 90% interval by hand: (p + z²/2n − z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)
    n, k = int(share["n"]), int(share["k"])
    p, z = k / n, NormalDist().inv_cdf(0.95)
    low = (p + z * z / (2 * n) - z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    report, rerun = reported_number(output, "proportions pilot/session_experience/hooked/pre1", "ci_low")
    assert report == float(share["ci_low"])
    assert rerun == pytest.approx(low, rel=1e-9)
    assert re.search(r"^tables\s+ok\s+data/derived/pilot/agreement\.csv", output, re.M)  # not touched


def test_final_codes_alone_verify_the_change_numbers(study, tmp_path):
    data = tmp_path / "reviewer"
    shutil.copytree(study / "config", data / "config")  # the code's config; no raw files
    final_codes = tmp_path / "final_codes.csv"
    shutil.copyfile(study / "data/derived/pilot/final_codes.csv", final_codes)
    done = subprocess.run([sys.executable, "-m", "alliance_pipeline.verify.check",
                           str(study / "reports/pilot/report.html"), "--final-codes", str(final_codes),
                           "--data-dir", str(data)], capture_output=True, text=True)
    output = done.stdout
    assert done.returncode == 0, output + done.stderr
    assert re.search(r"^inputs\s+not available\s+data/raw/pilot/responses\.csv", output, re.M), output
    for table in ("proportions", "tests", "power", "flow", "models"):
        assert re.search(rf"^tables\s+ok\s+data/derived/pilot/{table}\.csv", output, re.M), table
    assert "agreement and intake were not re-checked" in output
    assert "not re-checked: data/derived/pilot/agreement.csv" in output
    assert output.splitlines()[-1].startswith("verdict VERIFIED")

    # one code flipped in the final codes: the change numbers that depend on it differ
    table = rows(final_codes)
    hit = next(r for r in table if r["response_id"] == "R032" and r["code"] == "hooked")
    assert hit["present"] == "1"
    hit["present"] = "0"
    with open(final_codes, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    status, output = run_verify(study / "reports/pilot/report.html", data_dir=data, final_codes=final_codes)
    assert status == 1
    assert re.search(r"final_codes\.csv: not the report's final_codes\.csv", output)
    share = next(r for r in rows(study / "data/derived/pilot/proportions.csv")
                 if r["code"] == "hooked" and r["timepoint"] == "pre2")
    assert reported_number(output, "proportions pilot/session_experience/hooked/pre2", "k") == \
        (float(share["k"]), float(share["k"]) - 1)


def test_snakemake_verify_checks_one_report_with_final_codes(study):
    final_codes = study / "data/derived/pilot/final_codes.csv"
    done = run_workflow(study, extra=(  # the target first: --config takes every word after it
        "verify", "--config", "verify_report=reports/pilot/report.pdf", f"verify_final_codes={final_codes}"))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "verdict VERIFIED" in output and "agreement and intake were not re-checked" in output
    # the verify keys are options of the check: the report's own jobs are not rerun
    assert "rule render_report" not in output and "rule change" not in output


def test_without_raw_files_or_final_codes_nothing_is_verified(study, tmp_path):
    data = tmp_path / "reviewer"
    shutil.copytree(study / "config", data / "config")
    status, output = run_verify(study / "reports/pilot/report.pdf", data_dir=data)
    assert status == 1
    assert "raw file(s) are not here" in output and "FINAL_CODES" in output
    assert output.splitlines()[-1] == "verdict NOT VERIFIED: no table could be rerun here; " \
                                      "not everything was available (inputs, tables)"


# ---------------------------------------------------------------- pure parts

def test_numbers_agree_exactly_or_within_1e12_relative():
    report = {"a/b": {"p_value": 0.03125, "n": 22, "ci_low": None}}
    assert compare_numbers(report, {"a/b": {"p_value": 0.03125 * (1 + 5e-13), "n": 22, "ci_low": None}}) == []
    assert compare_numbers(report, {"a/b": {"p_value": 0.03125 * (1 + 5e-12), "n": 22, "ci_low": None}}) == [
        f"a/b p_value: report 0.03125, rerun {0.03125 * (1 + 5e-12)!r}"]
    assert compare_numbers(report, {"a/b": {"p_value": 0.03125, "n": 22, "ci_low": 0.1}}) == [
        "a/b ci_low: report None, rerun 0.1"]
    assert compare_numbers(report, {}) == ["a/b: in the report, not in the rerun"]


def test_the_manifest_holds_the_gee_t_rows_and_a_changed_one_fails():
    """models.csv's gee_bias_reduced_t rows are keyed apart from the gee_bias_reduced rows, so
    a t interval made with another quantile (df off by one) is named, and only it."""
    import numpy as np
    import pandas as pd

    from alliance_pipeline.change.gee import saturated_gee
    from alliance_pipeline.change.models import models_table, wald_row

    rng = np.random.default_rng(7)
    records = [(f"P{i:02d}", tp, "q", "x", int(rng.random() < [0.3, 0.4, 0.7][t]))
               for i in range(12) for t, tp in enumerate(["pre1", "pre2", "post"])]
    records[0:2] = [("P00", "pre1", "q", "x", 1), ("P00", "pre2", "q", "x", 0)]
    codes = pd.DataFrame(records, columns=["participant_id", "timepoint", "question", "code", "present"])
    frame = models_table(codes, cohort="c", questions={"q": {"codes": ["x"]}},
                         timepoints=["pre1", "pre2", "post"],
                         contrasts={"training": ["pre2", "post"]})
    numbers = manifests.table_numbers("models", frame)
    assert set(numbers) == {"c/q/x/training/gee_bias_reduced", "c/q/x/training/gee_bias_reduced_t"}
    t_row = numbers["c/q/x/training/gee_bias_reduced_t"]
    assert t_row["ci_low"] < numbers["c/q/x/training/gee_bias_reduced"]["ci_low"]
    # the same row with t(K − p − 1): a plausible off-by-one
    y = codes.pivot(index="participant_id", columns="timepoint", values="present")[["pre1", "pre2", "post"]]
    fit = saturated_gee(np.ones(y.shape, dtype=bool), y.to_numpy(), ["pre1", "pre2", "post"])
    off = wald_row(fit, ["pre1", "pre2", "post"], {"pre2": -1, "post": 1}, 0.95,
                   t_reference=True)
    assert off["ci_low"] == pytest.approx(t_row["ci_low"], rel=1e-12)  # the same fit
    shifted = fit.__class__(**{**fit.__dict__, "n_participants": fit.n_participants - 1})
    wrong = wald_row(shifted, ["pre1", "pre2", "post"], {"pre2": -1, "post": 1}, 0.95, t_reference=True)
    rerun = {**numbers, "c/q/x/training/gee_bias_reduced_t": {**t_row, "ci_low": wrong["ci_low"],
                                                             "ci_high": wrong["ci_high"],
                                                             "p_value": wrong["p_value"]}}
    diffs = compare_numbers(numbers, rerun)
    assert len(diffs) == 3 and all(d.startswith("c/q/x/training/gee_bias_reduced_t ") for d in diffs)


def test_config_differences_name_dotted_keys():
    assert config_differences({"analysis": {"p_adjust": "holm", "confidence": 0.95}},
                              {"analysis": {"p_adjust": "none", "confidence": 0.95}, "extra": 1}) == [
        "analysis.p_adjust: report 'holm', here 'none'", "extra: not in the report's config, here 1"]


def test_html_embedding_survives_a_closing_script_tag_in_a_value():
    html = b"<html><body><p>x</p></body></html>"
    value = {"renderer": "</script><script>alert(1)</script>", "n": 1}
    out = manifests.embed_html(html, json.dumps(value))
    assert out.count(b"</script>") == 1 and out.endswith(b"</script>\n</body></html>")
    assert manifests.read_html(out) == value


def test_installed_versions_other_than_the_reports_are_named():
    from alliance_pipeline.verify.levels import installed_differences

    assert installed_differences({"pyyaml": yaml.__version__, "not-a-package-here": "1.0"}) == []
    assert installed_differences({"pyyaml": "0.0.1"}) == [f"pyyaml: report 0.0.1, installed {yaml.__version__}"]


def test_the_manifest_withholds_a_coding_key():
    config = {"cohorts": {"a": {"raw": "data/raw/a", "coding_key": "s3cret-key"}}, "analysis": {}}
    built = manifests.build_manifest(report="cohort", cohorts=["a"], provenance={}, config=config,
                                     codebook=("config/codebook.yaml", "0" * 64),
                                     lock=("requirements.lock", "0" * 64), tables=[])
    assert "s3cret-key" not in manifests.to_json(built)
    assert built["inputs"]["config"]["effective"]["cohorts"]["a"]["raw"] == "data/raw/a"


def test_another_commit_is_a_warning_counting_the_files_that_differ(study):
    from alliance_pipeline.verify.levels import check_code

    found = json.loads((study / "reports/pilot/manifest.json").read_text(encoding="utf-8"))
    parent = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD~1"], capture_output=True, text=True)
    if parent.returncode != 0:
        pytest.skip("the checkout has no parent commit here (a shallow clone)")
    found["code"]["commit"] = parent.stdout.strip()
    differ = subprocess.run(["git", "-C", str(REPO), "diff", "--name-only", parent.stdout.strip(), "--"],
                            capture_output=True, text=True, check=True).stdout.split()
    checks = check_code(found, REPO)
    commit = checks[0]
    assert commit.status == "warning", commit
    assert f"the report was made from commit {parent.stdout.strip()[:12]}" in commit.message
    assert f"{len(differ)} file(s) differ from it here" in commit.message
    assert all(c.status != "FAIL" for c in checks), checks


def test_another_lock_fails_naming_the_package_versions(study):
    from alliance_pipeline.verify.levels import check_code

    found = json.loads((study / "reports/pilot/manifest.json").read_text(encoding="utf-8"))
    found["code"]["lock"]["sha256"] = "0" * 64
    pinned = found["code"]["packages"]["numpy"]
    found["code"]["packages"]["numpy"] = "1.0.0"
    lock = [c for c in check_code(found, REPO) if "requirements.lock" in c.message]
    assert [c.status for c in lock] == ["FAIL"]
    assert lock[0].details == [f"numpy: report 1.0.0, here {pinned}"]


def test_without_a_config_here_the_reports_own_config_is_used(study, tmp_path):
    data = tmp_path / "reviewer"
    (data / "config").mkdir(parents=True)
    shutil.copyfile(study / "config/codebook.yaml", data / "config/codebook.yaml")  # from the checkout
    status, output = run_verify(study / "reports/pilot/report.html", data_dir=data,
                                final_codes=study / "data/derived/pilot/final_codes.csv")
    assert status == 0, output
    assert re.search(r"^inputs\s+not available\s+config: .*config\.yaml is not here; the rerun uses the "
                     r"report's own effective config", output, re.M), output
    assert re.search(r"^tables\s+ok\s+data/derived/pilot/tests\.csv", output, re.M)
