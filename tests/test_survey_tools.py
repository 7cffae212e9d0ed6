"""docs/survey-tools.md ("From your survey tool"): each recipe's config, run on the example the
seeded generator writes in that tool's layout (src/alliance_pipeline/examples/survey_tools.py),
gives the same shares as the same data written as the contract's long CSVs.

The reference is the long CSVs read through the responses.csv route; the participant counts
are also checked against a count taken straight from the generated study (an answer counts
when it holds a character other than white space).
"""
import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from alliance_pipeline.change.proportions import proportions_table
from alliance_pipeline.coding.consensus import final_codes
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config import settings
from alliance_pipeline.examples import survey_tools as survey_examples
from alliance_pipeline.intake.cohort import read_cohort

REPO = Path(__file__).resolve().parents[1]
CODEBOOK_RAW = study_config.load_yaml(REPO / "config/codebook.yaml")
CODEBOOK = settings.questions_settings(CODEBOOK_RAW)
DOC = (REPO / "docs/survey-tools.md").read_text(encoding="utf-8")
RECIPES = {m.group(1): yaml.safe_load(m.group(2))
           for m in re.finditer(r"```yaml\n# example: (\w+)\n(.*?)```", DOC, re.S)}
LAYOUTS = list(survey_examples.LAYOUTS)


def write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def shares(raw: Path, survey: dict | None, id_pattern: str) -> tuple[pd.DataFrame, dict]:
    tables = read_cohort(raw, cohort="example", encoding="utf-8", timepoints=survey_examples.TIMEPOINTS,
                         questions=CODEBOOK, id_pattern=id_pattern, survey=survey)
    final = final_codes(tables.responses, tables.codings, tables.adjudication, CODEBOOK)
    table = proportions_table(final, cohort="example", questions=CODEBOOK,
                              timepoints=survey_examples.TIMEPOINTS)
    return table, tables


def test_the_document_has_one_recipe_per_example():
    assert list(RECIPES) == survey_examples.LAYOUTS


@pytest.mark.parametrize("layout", survey_examples.LAYOUTS)
def test_each_recipe_is_its_examples_config_and_passes_the_config_checks(layout):
    config = survey_examples.example_config(layout)
    assert RECIPES[layout]["survey"] == config["cohorts"][layout]["survey"]
    assert RECIPES[layout].get("privacy") == config.get("privacy")
    committed = REPO / "examples/survey_tools" / layout / "config/config.yaml"
    assert yaml.safe_load(committed.read_text(encoding="utf-8")) == config
    study_config.check_config(config)  # schema (with the defaults filled in) and values
    assert study_config.cross_reference_problems(config, CODEBOOK_RAW) == []


@pytest.mark.parametrize("layout", survey_examples.LAYOUTS)
def test_the_committed_example_files_are_the_generators(layout):
    raw = REPO / "examples/survey_tools" / layout / "data/raw" / layout
    for name, data in survey_examples.example_files(layout).items():
        assert (raw / name).read_bytes() == data, f"{layout}/{name}: run scripts/make_survey_examples.py"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_recipe_gives_the_shares_of_the_long_csvs(tmp_path, layout):
    recipe = RECIPES[layout]
    pattern = recipe.get("privacy", {}).get("participant_id_pattern", "^[A-Za-z][A-Za-z0-9_-]{0,31}$")
    reference, _ = shares(write(tmp_path / "long", survey_examples.long_csv_files()), None, pattern)
    got, tables = shares(write(tmp_path / layout, survey_examples.example_files(layout)),
                         recipe["survey"], pattern)
    pd.testing.assert_frame_equal(got, reference)
    # n per time point counted straight from the generated study
    cells = survey_examples.study().cells
    for tp in survey_examples.TIMEPOINTS:
        answered = sum(1 for (p, t), a in cells.items() if t == tp and a["session_experience"].strip())
        assert set(got.query("question == 'session_experience' and timepoint == @tp")["n"]) == {answered}
    # the blank answers (" ", NBSP, U+3000, "") are listed as not answered
    assert len(tables.unanswered) == 4


@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_prompt_or_header_reaches_a_coding_workbook(tmp_path, layout):
    from alliance_pipeline.coding.sheets import coding_workbook

    raw = write(tmp_path / layout, survey_examples.example_files(layout))
    recipe = RECIPES[layout]
    pattern = recipe.get("privacy", {}).get("participant_id_pattern", "^[A-Za-z][A-Za-z0-9_-]{0,31}$")
    tables = read_cohort(raw, cohort="example", encoding="utf-8", timepoints=survey_examples.TIMEPOINTS,
                         questions=CODEBOOK, id_pattern=pattern, survey=recipe["survey"])
    headers = {q["prompt"] for q in CODEBOOK.values()}
    header_rows = 3 if layout.startswith("qualtrics") else 1
    for path in [p for p in raw.glob("*.*") if p.name != "adjudication.csv"]:
        if path.suffix == ".xlsx":
            sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
            rows = [[str(v) for v in row if v is not None]
                    for row in sheet.iter_rows(max_row=header_rows, values_only=True)]
        else:
            rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[:header_rows]
        headers |= {cell.strip() for row in rows for cell in row if cell.strip()}
    book = openpyxl.load_workbook(io.BytesIO(coding_workbook(
        tables.responses, cohort="example", coder="coder_a", questions=CODEBOOK, coding_key="k")))
    texts = []
    for qid in CODEBOOK:
        rows = list(book[qid].iter_rows(values_only=True))
        at = next((i, row.index("text")) for i, row in enumerate(rows) if "text" in row)
        texts += [row[at[1]] for row in rows[at[0] + 1:] if row[at[1]] is not None]
    assert sorted(texts) == sorted(tables.responses["text"]) and len(texts) == 43
    assert not {t.strip().casefold() for t in texts} & {h.casefold() for h in headers}


@pytest.mark.parametrize("layout", ["redcap_raw", "qualtrics_csv"])
def test_an_example_through_the_workflow_gives_the_shares_of_the_long_csvs(tmp_path, layout):
    """The committed example as a user runs it (config checked by the Snakefile, intake's log),
    against the same study as long CSVs in the same config: proportions.csv equal."""
    from conftest import run_workflow

    runs = {}
    for name, files in {"example": survey_examples.example_files(layout),
                        "long": survey_examples.long_csv_files()}.items():
        folder = tmp_path / name
        config = survey_examples.example_config(layout)
        config["codebook"] = str(REPO / "config/codebook.yaml")
        if name == "long":
            del config["cohorts"][layout]["survey"]
        (folder / "config").mkdir(parents=True)
        (folder / "config/config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        write(folder / "data/raw" / layout, files)
        result = run_workflow(folder, f"data/derived/{layout}/proportions.csv")
        assert result.returncode == 0, result.stderr[-3000:]
        runs[name] = folder
    derived = f"data/derived/{layout}/proportions.csv"
    assert (runs["example"] / derived).read_bytes() == (runs["long"] / derived).read_bytes()
    log = (runs["example"] / f"logs/{layout}/intake.log").read_text(encoding="utf-8")
    if layout == "qualtrics_csv":
        assert "pre1.csv: Qualtrics export with 3 header rows" in log
        assert "1 survey preview row(s) left out" in log and "1 spam row(s) left out" in log
    else:
        assert "values that map to no time point are ignored: 'followup_arm_1' (3 rows)" in log
