"""Several cohorts through config: each gets its chain and report, and the study report pools them.

The study folder of these tests (built in a temporary directory, run with
``snakemake -s <repo>/Snakefile -d <tmp>``) has three cohorts:

- ``pilot``: the shipped synthetic pilot;
- ``replica``: a byte copy of the pilot under another name;
- ``generated``: 40 generated participants (benchmarks/cohorts.py, seed 6) with other shares,
  its own analysis setting (``mcnemar.method: midp``) and its own published figures.

The pooled numbers of the study report are checked against a hand computation from the
cohorts' discordant pairs, which are known independently of the pipeline (the pilot's from
its documented reconstruction, the generated cohort's counted from the generator's truth).
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alliance_pipeline.common.tables import read_table
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config import settings
from conftest import REPO, derived_targets, pilot_copy, run_workflow

sys.path.insert(0, str(REPO / "benchmarks"))
from cohorts import generate_cohort, paired_counts, write_cohort  # noqa: E402

CHECK_CONTRACT = REPO.parent / "shared" / "tools" / "check-contract"
Z = 1.959963984540054
GENERATED_SHARES = {"session_experience": {
    "hooked": {"pre1": 0.55, "pre2": 0.50, "post": 0.30},
    "engaged_well": {"pre1": 0.25, "pre2": 0.30, "post": 0.55},
    "anxious": {"pre1": 0.40, "pre2": 0.35, "post": 0.30}}}
GENERATED_PUBLISHED = {"session_experience": {"hooked": {"pre1": 0.55, "post": 0.30}}}


def generated_frames():
    questions = settings.questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
    return generate_cohort(40, questions=questions, shares=GENERATED_SHARES, seed=6, missing=0.05,
                           stability=0.3, prefix="G")


def three_cohorts(root: Path) -> Path:
    pilot_copy(root, cohorts={"replica": "replica"})
    write_cohort(generated_frames(), root / "data/raw/generated")
    path = root / "config/config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["cohorts"]["generated"] = {"raw": "data/raw/generated", "label": "Generated cohort",
                                      "synthetic": True,
                                      "analysis": {"mcnemar": {"method": "midp"}}}
    config["published"]["generated"] = GENERATED_PUBLISHED
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return root


# ------------------------------------------------------------------ folder checks (fast)

def test_missing_or_empty_cohort_folder_names_the_cohort(tmp_path, monkeypatch):
    (tmp_path / "data/raw/empty").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    config = {"cohorts": {"absent": {"raw": "data/raw/absent"}, "empty": {"raw": "data/raw/empty"}}}
    with pytest.raises(study_config.ConfigError) as err:
        study_config.check_cohort_folders(config)
    message = str(err.value)
    assert "cohorts.absent.raw: folder data/raw/absent does not exist" in message
    assert "cohorts.empty.raw: folder data/raw/empty is empty" in message


@pytest.mark.workflow
def test_workflow_stops_on_a_missing_cohort_folder(tmp_path):
    root = pilot_copy(tmp_path / "study")
    path = root / "config/config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["cohorts"]["second_site"] = {"raw": "data/raw/second_site"}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    result = run_workflow(root, extra=("-n",))
    assert result.returncode != 0
    assert "cohorts.second_site.raw: folder data/raw/second_site does not exist" in result.stdout + result.stderr


@pytest.mark.workflow
def test_a_cohort_named_study_is_refused(tmp_path):
    root = pilot_copy(tmp_path / "study", cohorts={"study": "pilot"})
    result = run_workflow(root, extra=("-n",))
    assert result.returncode != 0
    assert "cohorts.study: the name `study` is reserved" in result.stdout + result.stderr


# ------------------------------------------------------------------ three cohorts, one run

@pytest.fixture(scope="module")
def study_run(tmp_path_factory):
    root = three_cohorts(tmp_path_factory.mktemp("cohorts") / "study")
    result = run_workflow(root, cores=2, timeout=900)
    assert result.returncode == 0, result.stderr[-5000:]
    return root


pytestmark = pytest.mark.xdist_group("study_cohorts")


@pytest.mark.workflow
@pytest.mark.parametrize("cohort", ["pilot", "replica", "generated"])
def test_every_cohort_gets_its_chain_and_report(study_run, cohort):
    for target in derived_targets(study_run, cohort):
        assert (study_run / target).is_file(), target
    for ext in ("html", "pdf"):
        assert (study_run / f"reports/{cohort}/report.{ext}").stat().st_size > 10_000


@pytest.mark.workflow
def test_derived_tables_keep_to_the_contract(study_run):
    if not CHECK_CONTRACT.exists():
        pytest.skip("../shared/tools/check-contract not present")
    result = subprocess.run([sys.executable, str(CHECK_CONTRACT), str(study_run / "data/derived")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "3 cohort(s), 0 problem(s)" in result.stdout     # the study tables are not a cohort


@pytest.mark.workflow
def test_cohort_analysis_override_and_published_figures(study_run):
    generated = read_table(study_run / "data/derived/generated/tests.csv")
    pilot = read_table(study_run / "data/derived/pilot/tests.csv")
    assert set(generated.query("test == 'mcnemar'")["method"]) == {"midp"}
    assert "midp" not in set(pilot["method"])                # the study's auto rule
    html = (study_run / "reports/generated/report.html").read_text(encoding="utf-8")
    replica = (study_run / "reports/replica/report.html").read_text(encoding="utf-8")
    assert "Published versus reproduced" in html
    assert "Published versus reproduced" not in replica        # published only where configured


@pytest.mark.workflow
def test_generated_cohort_contrasts_match_its_truth(study_run):
    # counted from the generator's true codes (consensus restores them), not by the pipeline
    truth = generated_frames()["truth"]
    assert paired_counts(truth, "session_experience", "hooked", "pre2", "post") == {"n": 34, "b": 10, "c": 4}
    tests = read_table(study_run / "data/derived/generated/tests.csv")
    row = tests.query("code == 'hooked' and contrast == 'training' and test == 'mcnemar'").iloc[0]
    assert (row["n"], row["b"], row["c"]) == (34, 10, 4)


@pytest.mark.workflow
def test_pooled_numbers_match_hand_computation(study_run):
    # hooked, training contrast (pre2 -> post):
    #   pilot     n 22, b 7, c 0   (the reconstruction: 7 of the 22 pairs lose "hooked")
    #   replica   n 22, b 7, c 0   (the same files)
    #   generated n 34, b 10, c 4  (counted from the truth, test above)
    # Σb = 24, Σc = 4, Σm = 28, N = 78
    # X²_MH = (Σ(b − c))² / Σ(b + c) = 20² / 28 = 14.2857; Σm = 28 >= 25: asymptotic,
    #   p = erfc(√(14.2857/2)) = 1.5705e-4
    # OR_MH = Σc / Σb = 4/24 = 0.1667
    # RD_MH = Σ(c − b) / N = −20/78 = −0.25641
    # Var = [2·(7 − 7²/22) + (14 − 6²/34)] / 78² = (9.54545 + 12.94118) / 6084 = 0.0036960
    #   CI = −0.25641 ± 1.959964·0.060795 = [−0.37557, −0.13725]
    # odds-ratio heterogeneity: π̂ = 4/28 = 1/7, expected c = (1, 1, 2):
    #   Q = 7/6 + 7/6 + 4/(14·(1/7)(6/7)) = 14/3 = 4.6667, 2 df, p = exp(−7/3) = 0.09697
    pooled = read_table(study_run / "reports/study/tables/pooled.csv")
    row = pooled.query("question == 'session_experience' and code == 'hooked' "
                       "and contrast == 'training'").iloc[0]
    assert row["cohorts"] == "pilot|replica|generated"
    assert (row["n"], row["b"], row["c"]) == (78, 24, 4)
    assert row["statistic"] == pytest.approx(400 / 28)
    assert row["method"] == "asymptotic"
    assert row["p_value"] == pytest.approx(math.erfc(math.sqrt(400 / 28 / 2)))
    assert row["odds_ratio"] == pytest.approx(4 / 24)
    variance = (2 * (7 - 49 / 22) + (14 - 36 / 34)) / 78 ** 2
    assert variance == pytest.approx(0.0036960, rel=1e-4)
    assert row["risk_difference"] == pytest.approx(-20 / 78)
    assert row["rd_ci_low"] == pytest.approx(-20 / 78 - Z * math.sqrt(variance))
    assert row["rd_ci_high"] == pytest.approx(-20 / 78 + Z * math.sqrt(variance))
    assert row["het_or_statistic"] == pytest.approx(14 / 3)
    assert row["het_or_p"] == pytest.approx(math.exp(-7 / 3))
    # the per-cohort inputs, with the MH weights n_k / N
    rows = read_table(study_run / "reports/study/tables/cohorts.csv").query(
        "code == 'hooked' and contrast == 'training'")
    assert list(rows["cohort"]) == ["pilot", "replica", "generated"]
    assert rows["mh_weight"].tolist() == pytest.approx([22 / 78, 22 / 78, 34 / 78])


@pytest.mark.workflow
def test_study_report_shows_pooled_numbers_and_shared_codebook(study_run):
    from bs4 import BeautifulSoup

    html = (study_run / "reports/study/report.html").read_text(encoding="utf-8")
    text = " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())
    assert "share the study's codebook" in text.replace("’", "'")
    assert "(pre1, pre2, post)" in text
    assert "14.29" in text                          # X²_MH of hooked, training
    assert "-0.26 [-0.38, -0.14]" in text           # RD_MH with its interval
    assert "Mantel–Haenszel" in text and "I²" in text
    assert 'src="data:image/png;base64' in html      # the forest plot, embedded
    for cohort in ("pilot", "replica", "generated"):
        assert f"({cohort})" in text or cohort in text
    assert (study_run / "reports/study/report.pdf").read_bytes()[:5] == b"%PDF-"
    from alliance_pipeline.common.outputs import study_figure_stems

    questions = settings.questions_settings(
        study_config.load_yaml(study_run / "config/codebook.yaml"))
    figures = sorted(p.name for p in (study_run / "reports/study/figures").iterdir() if p.is_file())
    assert figures == sorted(f"{stem}.{ext}" for stem in study_figure_stems(questions)
                             for ext in ("png", "svg"))
    # report.languages [en, ja] (the pilot's config): the Japanese figures beside them (#24)
    assert sorted(p.name for p in (study_run / "reports/study/figures/ja").iterdir()) == figures
    assert (study_run / "reports/study/report.ja.html").is_file()


@pytest.mark.workflow
def test_study_report_tables_fit_the_pdf_text_block_one_line_per_row(study_run):
    """Every row of every table of the study report (read from its HTML) lies on one line of
    the PDF, inside the A4 text block (poppler's word positions): the per-cohort shares and
    contrasts side by side wrapped their cells."""
    from pdf_layout import html_rows, layout_problems

    front = yaml.safe_load((REPO / "reports/study.qmd").read_text(encoding="utf-8").split("---\n")[1])
    margin = front["format"]["typst"]["margin"]["x"]
    rows = html_rows(study_run / "reports/study/report.html")
    assert any(name.endswith("-contrasts") for name, _ in rows)
    assert layout_problems(study_run / "reports/study/report.pdf", rows,
                           float(margin.removesuffix("cm")) / 2.54 * 72) == []


@pytest.mark.workflow
def test_study_rules_only_with_two_or_more_cohorts(tmp_path):
    root = pilot_copy(tmp_path / "study")
    result = run_workflow(root, extra=("-n",))
    assert result.returncode == 0, result.stderr
    assert "study_report" not in result.stdout
    assert "study_tables" not in result.stdout


# ------------------------------------------------------------------ study report builders (fast)

def test_banner_names_the_synthetic_cohorts():
    from alliance_pipeline.study.fragments import banner_md

    assert banner_md(cohorts={"a": {"synthetic": False}, "b": {"synthetic": False}}) == ""
    text = banner_md(cohorts={"a": {"synthetic": True, "label": "Pilot"}, "b": {"synthetic": False}})
    assert text.startswith("1 of the 2 cohorts is **synthetic**: *Pilot* (`a`)")
    assert banner_md(cohorts={"a": {"synthetic": True}, "b": {"synthetic": True}}).startswith(
        "Every cohort in this report is **synthetic**")


def test_agreement_side_by_side_turns_to_rows_with_many_cohorts():
    from alliance_pipeline.study.cohort_sections import WIDE_COHORTS, agreement_md

    study = {"questions": {"q": {"prompt": "Q", "timepoints": ["pre1", "post"], "codes": ["x"],
                                 "labels": {"x": "Code X"}}}}
    def table(n):
        return pd.DataFrame([{"cohort": f"c{i}", "question": "q", "code": code,
                              "krippendorff_alpha": 0.9, "alpha_ci_low": 0.8, "alpha_ci_high": 1.0,
                              "verdict": "good"} for i in range(n) for code in ("x", "*")])
    few = agreement_md({"agreement": table(2)}, study=study, cohorts={"c0": {}, "c1": {}})
    assert "| Code | `c0` | `c1` |" in few and "0.90 [0.80, 1.00] good" in few
    n = WIDE_COHORTS + 1
    many = agreement_md({"agreement": table(n)}, study=study, cohorts={f"c{i}": {} for i in range(n)})
    assert "| Cohort | Code X | whole question |" in many
    assert many.count("| `c") == n


@pytest.mark.workflow
def test_study_report_carries_its_manifest_and_verifies(study_run):
    import json

    from pypdf import PdfReader

    from alliance_pipeline.report.manifest import problems, read_html
    from alliance_pipeline.verify.check import verify

    found = json.loads((study_run / "reports/study/manifest.json").read_text(encoding="utf-8"))
    assert problems(found) == []
    assert read_html((study_run / "reports/study/report.html").read_bytes()) == found
    attached = PdfReader(study_run / "reports/study/report.pdf").attachments["manifest.json"][0]
    assert json.loads(attached) == found
    assert found["report"] == "study" and found["cohorts"] == ["pilot", "replica", "generated"]
    pooled = next(t for t in found["tables"] if t["table"] == "pooled")
    # X²_MH of hooked, training: 20² / 28 (hand computation above)
    assert pooled["numbers"]["session_experience/hooked/training"]["statistic"] == pytest.approx(400 / 28)
    lines: list[str] = []
    assert verify(study_run / "reports/study/report.html", data_dir=study_run, echo=lines.append) == 0, \
        "\n".join(lines)
    assert any(line.startswith("tables  ok") and "reports/study/tables/pooled.csv" in line for line in lines)
