"""examples/survey: from the form exports to the report, through the blinded workbooks.

The example's exports (written by ``make synthetic``) hold the synthetic pilot's responses.
The round trip here is the team's: ``snakemake coding_sheets`` writes each coder's blinded
workbook; the pilot's codes are ticked into those generated files with openpyxl (unit ids
computed independently: HMAC-SHA256 of the response id, as tests/test_workbooks.py does);
the workflow writes the adjudication workbook, the pilot's agreed codes and rationales are
ticked into it; then the whole workflow runs to the report. Its ``final_codes.csv``,
``proportions.csv`` and ``tests.csv`` must equal a pilot run's. Literal byte equality is
impossible where a column holds the cohort name or a response id, so those files are
compared after replacing the cohort name (``pilot_survey`` -> ``pilot``) and mapping
response ids through (participant, time point, question); both runs sort rows the same way,
so row order is compared as it is. Every other byte is compared as is.
"""
import csv
import shutil
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import REPO, pilot_copy, run_workflow, tick_workbook
from test_workbooks import ref_unit_id

EXAMPLE = REPO / "examples/survey"
COHORT = "pilot_survey"
# one worker runs the module's workflow (the runs fixture) for all its tests
pytestmark = pytest.mark.xdist_group("survey_example")
RAW = f"data/raw/{COHORT}"
COMPARED = ["final_codes", "proportions", "tests"]


def read_rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def survey_id(row: dict) -> str:
    """The survey id of a pilot response: <participant>.<timepoint>.<question> (pseudonyms
    P01..P23 hold no character that needs escaping)."""
    return f"{row['participant_id']}.{row['timepoint']}.{row['question']}"


def pilot_id_map() -> dict[str, str]:
    return {r["response_id"]: survey_id(r) for r in read_rows(REPO / "data/raw/pilot/responses.csv")}


def coding_key() -> str:
    import yaml

    return yaml.safe_load((EXAMPLE / "config/config.yaml").read_text(encoding="utf-8"))[
        "cohorts"][COHORT]["coding_key"]


def tick(workbook: Path, rel: str) -> None:
    """Tick the pilot's ``rel`` (a coder CSV or adjudication.csv) into a generated workbook,
    each row found by the unit id of its survey response id."""
    ids, key = pilot_id_map(), coding_key()
    tick_workbook(workbook, {ref_unit_id(ids[r["response_id"]], key): (r["codes"], r.get("rationale"))
                             for r in read_rows(REPO / "data/raw/pilot" / rel)})


def example_copy(dest: Path, coded: bool = False) -> Path:
    """The example's config and exports (with ``coded``, also its filled workbooks)."""
    shutil.copytree(EXAMPLE / "config", dest / "config")
    shutil.copytree(EXAMPLE / RAW, dest / RAW)
    if not coded:
        shutil.rmtree(dest / RAW / "codes")
        (dest / RAW / "adjudication.xlsx").unlink()
    config = (dest / "config/config.yaml").read_text(encoding="utf-8")
    (dest / "config/config.yaml").write_text(
        config.replace("../../config/codebook.yaml", str(REPO / "config/codebook.yaml")), encoding="utf-8")
    return dest


def export_values(column: str) -> set[str]:
    """The values of one ignored column across the example's three exports (read independently)."""
    from openpyxl import load_workbook

    values = set()
    for name, sheet in (("pre1.xlsx", None), ("pre2.xlsx", "Form Responses 1")):
        book = load_workbook(EXAMPLE / RAW / name, read_only=True)
        rows = list((book[sheet] if sheet else book.worksheets[0]).iter_rows(values_only=True))
        book.close()
        at = rows[0].index(column)
        values |= {r[at] for r in rows[1:]}
    values |= {r[column] for r in read_rows(EXAMPLE / RAW / "post.csv")}
    return values


def written_text(path: Path) -> str:
    """A written file's text as a reader would see it: PDF text, the members of a zip
    (.xlsx), everything else decoded as UTF-8 with undecodable bytes replaced."""
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(path) as archive:
            data = b"\n".join(archive.read(name) for name in archive.namelist())
    return data.decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, pilot_run):
    """The survey example with the mapped coder files (full default target, report included)
    and the pilot (the shared full run, read only), each in its own data directory."""
    survey = example_copy(tmp_path_factory.mktemp("survey"))
    derived = survey / f"data/derived/{COHORT}"
    result = run_workflow(survey, "coding_sheets", cores=1)
    assert result.returncode == 0, result.stderr[-3000:]
    (survey / RAW / "codes").mkdir()
    for coder in ("coder_a", "coder_b"):
        shutil.copy(derived / f"coding_sheets/{coder}.xlsx", survey / RAW / f"codes/{coder}.xlsx")
        tick(survey / RAW / f"codes/{coder}.xlsx", f"codes/{coder}.csv")
    result = run_workflow(survey, f"data/derived/{COHORT}/adjudication_sheet.xlsx", cores=1)
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.copy(derived / "adjudication_sheet.xlsx", survey / RAW / "adjudication.xlsx")
    tick(survey / RAW / "adjudication.xlsx", "adjudication.csv")
    result = run_workflow(survey, cores=1)  # make run: everything, the report included
    assert result.returncode == 0, result.stderr[-3000:]
    for table in COMPARED:
        assert (pilot_run / f"data/derived/pilot/{table}.csv").is_file(), table
    return {"survey": survey, "pilot": pilot_run}


def test_the_example_exports_are_what_the_generator_writes():
    # the same check as `python scripts/make_synthetic_pilot.py --check`, for the exports
    from alliance_pipeline.examples.synthetic import survey_files

    for name, data in survey_files().items():
        assert (EXAMPLE / RAW / name).read_bytes() == data, name


def test_the_examples_filled_workbooks_read_as_the_round_trips(runs, monkeypatch):
    """The generator's filled workbooks (committed) give what the workbooks filled here give."""
    import yaml

    from alliance_pipeline.common.tables import read_table
    from alliance_pipeline.config import load as study_config
    from alliance_pipeline.config import settings
    from alliance_pipeline.intake.cohort import read_cohort

    entry = yaml.safe_load((EXAMPLE / "config/config.yaml").read_text(encoding="utf-8"))["cohorts"][COHORT]
    questions = settings.questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
    monkeypatch.chdir(EXAMPLE)
    tables = read_cohort(RAW, cohort=COHORT, encoding="utf-8", timepoints=["pre1", "pre2", "post"],
                         questions=questions, id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$",
                         survey=entry["survey"], coding_key=entry["coding_key"])
    derived = runs["survey"] / f"data/derived/{COHORT}"
    for name in ("codings", "adjudication", "coder_files"):
        assert getattr(tables, name).astype(str).values.tolist() == \
            read_table(derived / f"{name}.csv").astype(str).values.tolist(), name


def test_the_report_says_the_coders_coded_blind(runs):
    html = (runs["survey"] / f"reports/{COHORT}/report.html").read_text(encoding="utf-8")
    assert "Coders coded blind to participant and time point, in a randomised order" in html
    assert "Coders were not documented as blind" not in html


@pytest.mark.parametrize("table", COMPARED)
def test_final_codes_shares_and_tests_equal_the_pilots(runs, table):
    ids = pilot_id_map()
    pilot = (runs["pilot"] / f"data/derived/pilot/{table}.csv").read_text(encoding="utf-8")
    survey = (runs["survey"] / f"data/derived/{COHORT}/{table}.csv").read_text(encoding="utf-8")
    lines = survey.splitlines(keepends=True)
    if table == "final_codes":  # response_id is the first column: map the pilot's ids
        expected = "".join([pilot.splitlines(keepends=True)[0]] + [
            ids[line.split(",", 1)[0]] + "," + line.split(",", 1)[1]
            for line in pilot.splitlines(keepends=True)[1:]])
        assert survey == expected
    else:  # cohort is the first column
        assert lines[0].startswith("cohort,")
        replaced = lines[:1] + ["pilot," + line[len(COHORT) + 1:] for line in lines[1:]
                                if line.startswith(COHORT + ",")]
        assert len(replaced) == len(lines)
        assert "".join(replaced) == pilot


def test_empty_answer_is_a_missing_participant_in_the_flow(runs):
    flow = read_rows(runs["survey"] / f"data/derived/{COHORT}/flow.csv")
    pre2 = next(r for r in flow if r["question"] == "session_experience" and r["name"] == "pre2")
    assert (pre2["n_cohort"], pre2["n"], pre2["missing"]) == ("23", "22", "P17")
    log = (runs["survey"] / f"logs/{COHORT}/intake.log").read_text(encoding="utf-8")
    assert "pre2, session_experience: 1 participant(s) did not answer (empty in the export): P17" in log


@pytest.mark.parametrize("column", ["Email Address", "Timestamp"])
def test_ignored_columns_appear_in_no_written_file(runs, column):
    values = export_values(column)
    assert len(values) == {"Timestamp": 23 * 3, "Email Address": 23}[column]
    written = [p for p in runs["survey"].rglob("*")
               if p.is_file() and not p.is_relative_to(runs["survey"] / "data/raw")
               and not p.is_relative_to(runs["survey"] / "config")]
    assert any(p.name == "report.pdf" for p in written) and any(p.name == "intake.log" for p in written)
    leaks = set()
    for path in written:
        text = written_text(path)
        leaks |= {(str(path.relative_to(runs["survey"])), v) for v in values if v in text}
    assert leaks == set()


def two_cohorts(dest: Path) -> Path:
    """The pilot (coded) and the survey example (exports only) as two cohorts of one study."""
    import yaml

    pilot_copy(dest)
    shutil.copytree(EXAMPLE / RAW, dest / RAW, ignore=shutil.ignore_patterns("codes", "adjudication.xlsx"))
    config = yaml.safe_load((dest / "config/config.yaml").read_text(encoding="utf-8"))
    example = yaml.safe_load((EXAMPLE / "config/config.yaml").read_text(encoding="utf-8"))
    config["cohorts"][COHORT] = example["cohorts"][COHORT]
    (dest / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                                             encoding="utf-8")
    return dest


def test_a_cohort_without_codes_gets_next_steps_and_the_others_are_built(tmp_path):
    """make run's command: no coder files yet -> intake only, the next steps, exit 0; then
    codes without the adjudication -> consensus stops that cohort with what to do, the
    other cohort is built, and the run ends with a summary by cohort (no traceback)."""
    study = two_cohorts(tmp_path / "study")
    result = run_workflow(study, cores=1, extra=("--keep-going",))
    assert result.returncode == 0, result.stderr[-3000:]
    assert (study / "reports/pilot/report.html").is_file()
    assert (study / f"data/derived/{COHORT}/responses.csv").is_file()
    assert not (study / f"data/derived/{COHORT}/final_codes.csv").exists()
    assert not (study / "reports/study").exists()  # pooled only when every cohort is coded
    assert (f"Cohort {COHORT}: the responses are in (data/derived/{COHORT}/responses.csv); waiting "
            "for coder_a, coder_b. Next:\n"
            f"  1. send data/derived/{COHORT}/coding_sheets/coder_a.xlsx to coder_a; "
            f"data/derived/{COHORT}/coding_sheets/coder_b.xlsx to coder_b (the blinded coding "
            "workbooks; alliance coding-sheets writes them again);\n"
            f"  2. save each filled workbook as {RAW}/codes/<coder>.xlsx ({RAW}/codes/coder_a.xlsx, "
            f"{RAW}/codes/coder_b.xlsx);\n") in result.stderr
    for coder in ("coder_a", "coder_b"):  # written by the same run
        assert (study / f"data/derived/{COHORT}/coding_sheets/{coder}.xlsx").is_file()
    assert "Traceback" not in result.stderr

    shutil.copytree(EXAMPLE / RAW / "codes", study / RAW / "codes")  # the filled workbooks are back
    # ... but the consensus meeting has not happened yet: no adjudication.xlsx
    result = run_workflow(study, cores=1, extra=("--keep-going",))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert ("ERROR in consensus: 9 response(s) have no agreed codes: the coders differ (or fewer "
            "than two coded them), and adjudication.csv has no row for them:") in result.stderr
    assert (f"Open the worksheet data/derived/{COHORT}/disagreements.csv, agree the codes and fill "
            f"in the adjudication workbook data/derived/{COHORT}/adjudication_sheet.xlsx and save it "
            f"as {RAW}/adjudication.xlsx, or add them to {RAW}/adjudication.csv (response_id,codes,"
            "rationale), or set analysis.consensus.unresolved: majority") in result.stderr
    assert (study / f"data/derived/{COHORT}/adjudication_sheet.xlsx").is_file()
    assert "Summary by cohort:\n  pilot: done (reports/pilot/report.html)\n" in result.stderr
    assert (f"  {COHORT}: stopped at consensus (logs/{COHORT}/consensus.log): 9 response(s) have "
            "no agreed codes") in result.stderr
    # the other cohort's outputs stand, and so does the coded cohort's worksheet for the meeting
    assert (study / f"data/derived/{COHORT}/disagreements.csv").is_file()
    assert (study / f"data/derived/{COHORT}/agreement.csv").is_file()
