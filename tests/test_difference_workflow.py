"""The difference of changes end to end (#22): the pilot twice (cohorts ``pilot`` and
``second``, the same raw files) with ``study.compare: [[training, baseline]]``, each cohort's
models.csv written by the independent tests/models_reference.py (until the change step writes
it, the workflow takes a models.csv that is there), then the whole workflow: the cohort report's
section, summary and manifest, and the study report's pooled difference.

Two identical cohorts give an independent check of the pooling: the inverse-variance estimate
of two equal estimates with equal standard errors se is that estimate, with se / √2 and Q = 0.
"""
import json
import warnings

import numpy as np
import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup
from scipy import stats

from conftest import REPO, pilot_copy, require_component, run_workflow
from models_reference import reference_models

# one worker runs the module's workflow (the run fixture) for all its tests
pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("difference_workflow")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from alliance_pipeline.common.tables import read_table
    from alliance_pipeline.config import load as study_config
    from alliance_pipeline.config import settings

    root = pilot_copy(tmp_path_factory.mktemp("difference"), cohorts={"second": "pilot"})
    config_file = root / "config/config.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["study"]["compare"] = [["training", "baseline"]]
    config_file.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    first = run_workflow(root, "data/derived/pilot/final_codes.csv", "data/derived/second/final_codes.csv",
                         cores=2)
    assert first.returncode == 0, first.stderr[-3000:]
    config, codebook = study_config.load_study(str(config_file))
    study = settings.study_settings(config, codebook)
    models = {}
    for cohort in ("pilot", "second"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            models[cohort] = reference_models(
                read_table(root / f"data/derived/{cohort}/final_codes.csv"), cohort=cohort,
                questions=study["questions"], contrasts=study["contrasts"], compare=study["compare"])
        models[cohort].to_csv(root / f"data/derived/{cohort}/models.csv", index=False)
    result = run_workflow(root, cores=2, timeout=1200)
    assert result.returncode == 0, result.stderr[-4000:]
    return {"root": root, "models": models}


def text_of(html) -> str:
    return BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser").get_text(" ", strip=True)


def num(x) -> str:
    """Two decimals, with the minus sign Pandoc's HTML keeps (a hyphen-minus)."""
    return f"{float(x):.2f}"


def test_cohort_report_has_the_section_with_the_reference_numbers(run):
    html = run["root"] / "reports/pilot/report.html"
    text = text_of(html)
    assert "Did the training change more than time alone?" in text
    cc = run["models"]["pilot"].query("code == 'hooked' and method == 'signflip'").iloc[0]
    gee = run["models"]["pilot"].query("code == 'hooked' and method == 'gee_bias_reduced' "
                                       "and term == 'training - baseline'").iloc[0]
    assert (f"the difference was {num(cc.estimate)} (95% CI {num(cc.ci_low)} to {num(cc.ci_high)}; "
            f"p = {cc.p_value:.3f})") in text
    soup = BeautifulSoup(html.read_text(encoding="utf-8"), "html.parser")
    table = soup.find("table", id="tbl-model-session-experience-training-baseline")
    rows = [[c.get_text(" ", strip=True) for c in tr.find_all("td")] for tr in table.find_all("tr")]
    assert ["Hooked", "training − baseline", "z",
            f"{num(gee.estimate)} [{num(gee.ci_low)}, {num(gee.ci_high)}]",
            f"{gee.p_value:.3f}", str(gee.n_participants), str(gee.n_observations)] in rows
    # the t row from the reference's SE: t(K − p), K participants, p = 3 time points
    se, df = (gee.ci_high - gee.ci_low) / (2 * stats.norm.ppf(0.975)), gee.n_participants - 3
    half = stats.t.ppf(0.975, df) * se
    assert ["Hooked", "training − baseline", f"t ({df} df)",
            f"{num(gee.estimate)} [{num(gee.estimate - half)}, {num(gee.estimate + half)}]",
            f"{2 * stats.t.sf(abs(gee.estimate) / se, df):.3f}", str(gee.n_participants),
            str(gee.n_observations)] in rows
    assert "The change across training minus the change over baseline (" in text   # summary
    assert "assumes that answers are missing completely at random" in text          # limitations


def test_cohort_manifest_lists_models_like_the_other_tables(run):
    manifest = json.loads((run["root"] / "reports/pilot/manifest.json").read_text(encoding="utf-8"))
    entry = next(t for t in manifest["tables"] if t["table"] == "models")
    assert entry["file"] == "data/derived/pilot/models.csv"
    assert entry["key"] == ["cohort", "question", "code", "term", "method"]
    cc = run["models"]["pilot"].query("code == 'hooked' and method == 'signflip'").iloc[0]
    row = entry["numbers"]["pilot/session_experience/hooked/training - baseline/signflip"]
    assert row["estimate"] == pytest.approx(cc.estimate, rel=1e-12)


def test_study_pools_two_identical_cohorts_to_their_estimate_with_se_over_root_two(run):
    pooled = pd.read_csv(run["root"] / "reports/study/tables/differences.csv")
    z = stats.norm.ppf(0.975)
    for _, row in pooled.iterrows():
        ref = run["models"]["pilot"].query(f"code == '{row['code']}' and method == 'gee_bias_reduced' "
                                           f"and term == '{row['term']}'").iloc[0]
        se = (ref.ci_high - ref.ci_low) / (2 * z)
        assert row["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
        assert row["std_error"] == pytest.approx(se / np.sqrt(2), rel=1e-9)
        assert row["het_statistic"] == pytest.approx(0, abs=1e-9) and row["n_cohorts"] == 2
    text = text_of(run["root"] / "reports/study/report.html")
    assert "Did the training change more than time alone?" in text
    hooked = pooled.query("code == 'hooked'").iloc[0]
    assert f"pooled over 2 cohorts, the change across training minus the change over baseline was " \
           f"{num(hooked.estimate)}" in text
    manifest = json.loads((run["root"] / "reports/study/manifest.json").read_text(encoding="utf-8"))
    assert {"differences", "models"} <= {t["table"] for t in manifest["tables"]}


@pytest.mark.parametrize("report, qmd", [("pilot", "report.qmd"), ("study", "study.qmd")])
def test_new_tables_fit_the_pdf_text_block_one_line_per_row(run, report, qmd):
    require_component("pdftotext", "the PDF layout check", "apt-get install poppler-utils")
    from pdf_layout import html_rows, layout_problems

    front = yaml.safe_load((REPO / "reports" / qmd).read_text(encoding="utf-8").split("---\n")[1])
    margin = float(front["format"]["typst"]["margin"]["x"].removesuffix("cm")) / 2.54 * 72
    rows = [(name, cells) for name, cells in html_rows(run["root"] / f"reports/{report}/report.html")
            if "difference" in name or "model" in name]
    assert rows
    assert layout_problems(run["root"] / f"reports/{report}/report.pdf", rows, margin) == []
