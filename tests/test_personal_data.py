"""No personal data in messages (#21): values from e-mail, phone and name columns are masked,
addresses and phone numbers anywhere in a message too, and a participant column of e-mail
addresses is refused as a whole without naming one. The workflow run on the survey example
with the e-mail column chosen as the participant column shows that no address of the
fixtures reaches stdout, stderr or any log; its end-of-run summary names the cohort that
stopped at intake and its log, and points at no coding workbook (none was written).

The masked forms are written out by hand: first character, ``***``, and for an address the
first character of the domain and its top-level domain; of a number its last two digits.
"""
import re
import shutil
from pathlib import Path

import pytest

from alliance_pipeline.intake.problems import Problem
from conftest import REPO, run_workflow
from test_intake import RESPONSES, write
from test_survey import EMAILS, SURVEY, TF
from test_survey import problems as survey_problems
from test_survey import raw as survey_raw  # noqa: F401 (the fixture of the survey exports)

ADDRESS = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.mark.parametrize("column, value, shown", [
    ("Email Address", "taro@example.org", "'t***@e***.org'"),
    ("RecipientEmail", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "'t***@e***.jp'"),  # full width, as typed in Japanese
    ("Phone", "090-1234-5678", "'***-****-**78'"),
    ("電話番号", "０９０ー１２３４ー５６７８", "'***ー****ー**７８'"),  # as typed in Japanese
    ("participant_id", "電話090ー1234ー5678まで", "'電話***-****-**78まで'"),
    ("Your name", "Taro Yamada", "'T*** Y***'"),
    ("RecipientLastName", "Yamada", "'Y***'"),
    ("氏名", "山田 太郎", "'山*** 太***'"),
    ("participant_id", "reach me at taro@example.org", "'reach me at t***@e***.org'"),
    ("participant_id", "P05", "'P05'"),  # a pseudonym is shown as it is
])
def test_values_of_personal_columns_are_masked_in_messages(column, value, shown):
    assert str(Problem("f.csv", 3, column, value, "is wrong")) == f"f.csv, row 3, column {column}: {shown} is wrong"


def test_an_address_inside_a_message_is_masked():
    problem = Problem("f.csv", 3, "participant_id", "P05", "differs from 'hanako@uni.example.jp'")
    assert str(problem) == "f.csv, row 3, column participant_id: 'P05' differs from 'h***@u***.jp'"


def test_a_participant_id_column_of_addresses_in_responses_csv_is_refused_whole(tmp_path):
    from test_intake import problems, replace

    raw = tmp_path / "raw"
    write(raw / "responses.csv", RESPONSES)
    write(raw / "codes/coder_a.csv", "response_id,codes\n")
    write(raw / "codes/coder_b.csv", "response_id,codes\n")
    replace(raw / "responses.csv", "R1,P01,", f"R1,{EMAILS[0]},")
    replace(raw / "responses.csv", "R3,P01,", f"R3,{EMAILS[0]},")
    replace(raw / "responses.csv", "R5,P01,", f"R5,{EMAILS[0]},")
    assert problems(raw) == [
        f"{raw}/responses.csv, column participant_id: holds e-mail addresses (3 of 5 values), "
        "not pseudonyms; replace each with the participant's pseudonym (such as P01) and keep "
        "the list linking pseudonyms to addresses outside the study's folders (the addresses "
        "are not shown here or in the log)"]


def test_the_e_mail_column_named_as_participant_column_is_refused_per_export(survey_raw):  # noqa: F811
    survey = {**SURVEY, "participant_column": "Email Address"}
    fix = ("holds e-mail addresses (2 of 2 values), not pseudonyms; set "
           "cohorts.spring.survey.participant_column in config/config.yaml to the column of the "
           "participants' pseudonyms (such as P01) (the addresses are not shown here or in the log)")
    assert survey_problems(survey_raw, survey) == [
        f"{survey_raw}/pre1.xlsx, column Email Address: {fix}",
        f"{survey_raw}/pre2.csv, column Email Address: {fix}",
        f"{survey_raw}/post.csv, column Email Address: {fix}"]
    assert TF  # the exports' questions are those of test_survey


def test_no_address_reaches_stdout_stderr_or_a_log(tmp_path):
    """The survey example with the e-mail column as participant column, coders not yet back."""
    shutil.copytree(REPO / "examples/survey/data", tmp_path / "data")
    shutil.copytree(REPO / "config", tmp_path / "config")
    raw = tmp_path / "data/raw/pilot_survey"
    shutil.rmtree(raw / "codes")
    (raw / "adjudication.xlsx").unlink()
    config = (REPO / "examples/survey/config/config.yaml").read_text(encoding="utf-8")
    config = (config.replace("../../config/codebook.yaml", "config/codebook.yaml")
              .replace('participant_column: "Participant code"', 'participant_column: "Email Address"'))
    (tmp_path / "config/config.yaml").write_text(config, encoding="utf-8")
    addresses = set(ADDRESS.findall((raw / "post.csv").read_text(encoding="utf-8")))
    assert len(addresses) >= 20  # the fixture really has the addresses

    result = run_workflow(tmp_path, extra=("--keep-going",))  # as make run does
    assert result.returncode != 0
    logs = {str(p.relative_to(tmp_path)): p.read_text(encoding="utf-8", errors="replace")
            for p in tmp_path.rglob("*.log")}
    # intake and the coding workbooks both read the exports (and both stop)
    stopped = re.search(r"stopped at intake \((logs/pilot_survey/(intake|coding_sheet_coder_[ab])\.log)\)",
                        result.stderr)
    assert stopped, result.stderr[-3000:]
    log = stopped.group(1)
    seen = {"stdout": result.stdout, "stderr": result.stderr, **logs}
    assert log == "logs/pilot_survey/intake.log" and len(logs) >= 4  # + the coders' and Snakemake's
    for where, text in seen.items():
        leaked = sorted(a for a in addresses if a in text)
        assert not leaked, f"{where} shows {leaked[:3]}"
        assert not ADDRESS.findall(text), where
    assert "column Email Address: holds e-mail addresses (23 of 23 values)" in logs[log]
    # the end-of-run summary: the cohort stopped at intake, with its log; no coding workbook
    assert (f"Cohort pilot_survey: stopped at intake ({log}): its raw files in "
            "data/raw/pilot_survey have problems (listed in the log and below); correct them "
            "and alliance run again. The coding workbooks for coder_a, coder_b are written once "
            "intake passes.") in result.stderr
    assert (f"  pilot_survey: stopped at intake ({log}): cohort 'pilot_survey': 3 problem(s) "
            "in the raw files:") in result.stderr
    advice = result.stderr[result.stderr.index("Cohort pilot_survey:"):]  # after Snakemake's job list
    assert "coding_sheets/" not in advice and "the responses are in" not in advice
    assert not Path(tmp_path / "data/derived/pilot_survey/coding_sheets").exists()

    # the right column: intake passes, and its log (warnings, unanswered, counts) shows no address
    (tmp_path / "config/config.yaml").write_text(config.replace(
        'participant_column: "Email Address"', 'participant_column: "Participant code"'), encoding="utf-8")
    result = run_workflow(tmp_path, "data/derived/pilot_survey/responses.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    intake_log = (tmp_path / "logs/pilot_survey/intake.log").read_text(encoding="utf-8")
    assert "INFO done:" in intake_log
    for where, text in {"stdout": result.stdout, "stderr": result.stderr, "intake.log": intake_log}.items():
        assert not ADDRESS.findall(text), where


def test_columns_that_name_a_thing_are_not_masked():
    # REDCap's wave column and kin hold event or file names, not a person's
    from alliance_pipeline.common.privacy import personal_column
    assert not personal_column("redcap_event_name")
    assert not personal_column("File name")
    assert personal_column("RecipientFirstName") and personal_column("氏名")
    assert personal_column("Email Address") and personal_column("event_name_mail")
