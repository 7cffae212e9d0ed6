"""Survey exports as raw input: form exports (one per time point) -> the normalised responses.

The fixtures are small exports written here as a form tool writes them (timestamp and e-mail
columns included): the expected responses, ids and messages are written out by hand.
"""
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from alliance_pipeline.config import load as study_config
from alliance_pipeline.config import settings
from alliance_pipeline.intake.cohort import CohortTables, read_cohort
from alliance_pipeline.intake.problems import IntakeError
from alliance_pipeline.intake.sources.waves import response_id

REPO = Path(__file__).resolve().parents[1]
CODEBOOK = settings.questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
TIMEPOINTS = ["pre1", "pre2", "post"]
ID_PATTERN = "^[A-Za-z][A-Za-z0-9_-]{0,31}$"
SE = "How did you experience the interaction with the client?"
TF = "What did the training change for you?"
SURVEY = {"participant_column": "Participant code",
          "files": {"pre1": {"file": "pre1.xlsx", "sheet": "Form Responses 1"},
                    "pre2": "pre2.csv", "post": "post.csv"},
          "questions": {"session_experience": SE, "training_feedback": TF}}
EMAILS = ["taro.yamada@uni.example.jp", "hanako@uni.example.jp"]

PRE1 = [["Timestamp", "Email Address", "Participant code", SE, "I agree to take part"],
        ["2026/04/01 10:02:11", EMAILS[0], "P01", "I got pulled into reassuring her.", "Yes"],
        ["2026/04/01 10:05:40", EMAILS[1], "P02", "I named the strain, and we went on.", "Yes"]]
PRE2 = (f'Timestamp,Email Address,Participant code,"{SE}"\n'
        f'2026/04/08 10:01:00,{EMAILS[0]},P01,"I was tense, and kept apologising."\n'
        f"2026/04/08 10:03:00,{EMAILS[1]},P02,\n")  # P02 left the question empty
POST = (f'Timestamp,Email Address,Participant code,"{SE}","{TF}"\n'
        f"2026/05/20 11:00:00,{EMAILS[0]},P01,I noticed it and slowed down.,I pause before I answer.\n"
        f"2026/05/20 11:02:00,{EMAILS[1]},P02,I stayed with her.,\n")


def write_xlsx(path: Path, rows: list[list], sheet: str = "Form Responses 1") -> Path:
    book = openpyxl.Workbook()
    book.active.title = "Summary"
    book.active["A1"] = "not the responses"
    ws = book.create_sheet(sheet)
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


@pytest.fixture
def raw(tmp_path) -> Path:
    folder = tmp_path / "raw"
    write_xlsx(folder / "pre1.xlsx", PRE1)
    (folder / "pre2.csv").write_text(PRE2, encoding="utf-8")
    (folder / "post.csv").write_text(POST, encoding="utf-8")
    return folder


def read(raw: Path, survey=SURVEY, encoding="utf-8") -> CohortTables:
    return read_cohort(raw, cohort="spring", encoding=encoding, timepoints=TIMEPOINTS,
                       questions=CODEBOOK, id_pattern=ID_PATTERN, survey=survey,
                       require_coders=False)


def problems(raw: Path, survey=SURVEY, encoding="utf-8") -> list[str]:
    with pytest.raises(IntakeError) as info:
        read(raw, survey, encoding)
    return [str(p) for p in info.value.problems]


def test_exports_become_the_normalised_responses(raw):
    tables = read(raw)
    expected = pd.DataFrame([
        ["P01.pre1.session_experience", "P01", "pre1", "session_experience", "", "I got pulled into reassuring her."],
        ["P02.pre1.session_experience", "P02", "pre1", "session_experience", "", "I named the strain, and we went on."],
        ["P01.pre2.session_experience", "P01", "pre2", "session_experience", "", "I was tense, and kept apologising."],
        ["P01.post.session_experience", "P01", "post", "session_experience", "", "I noticed it and slowed down."],
        ["P02.post.session_experience", "P02", "post", "session_experience", "", "I stayed with her."],
        ["P01.post.training_feedback", "P01", "post", "training_feedback", "", "I pause before I answer."],
    ], columns=["response_id", "participant_id", "timepoint", "question", "item", "text"])
    got = tables.responses.drop(columns="identifying")
    assert got.columns.tolist() == expected.columns.tolist()
    assert got.values.tolist() == expected.values.tolist()
    # an empty answer is "did not answer": no response, listed for the log
    assert tables.unanswered.values.tolist() == [["pre2", "session_experience", "P02"],
                                                    ["post", "training_feedback", "P02"]]
    assert tables.codings.empty and tables.coverage.empty


def test_other_columns_never_reach_the_tables(raw):
    tables = read(raw)
    text = "".join(frame.to_csv() for frame in (tables.responses, tables.unanswered))
    for value in [*EMAILS, "2026/04/01", "I agree", "Yes"]:
        assert value not in text


def test_response_ids_are_stable_when_reread_and_when_a_participant_is_added(raw):
    first = read(raw).responses
    assert read(raw).responses.equals(first)
    write_xlsx(raw / "pre1.xlsx", [PRE1[0], ["2026/04/01 09:00:00", "x@example.com", "P00", "New.", "Yes"],
                                   *PRE1[1:]])
    again = read(raw).responses
    assert set(first["response_id"]) < set(again["response_id"])
    merged = first.merge(again, on="response_id", suffixes=("", "_again"))
    assert len(merged) == len(first)
    assert (merged["text"] == merged["text_again"]).all()
    assert (merged["participant_id"] == merged["participant_id_again"]).all()


def test_response_id_scheme_and_character_set():
    assert response_id("P01", "pre1", "session_experience") == "P01.pre1.session_experience"
    # "." and "~" are written as ~ + the hex of their UTF-8 byte; 参 is three bytes
    assert response_id("P.1~参", "post", "q") == "P~2e1~7e~e5~8f~82.post.q"


def test_missing_question_column_names_file_header_row_and_near_miss(raw):
    (raw / "post.csv").write_text(POST.replace(TF, "What did the training change for you"), encoding="utf-8")
    assert problems(raw) == [
        f"{raw}/post.csv, row 1, column {TF}: the column of question training_feedback is not in "
        "the header row (row 1) of the post export; the header has Timestamp, Email Address, "
        f"Participant code, {SE}, What did the training change for you (did you mean 'What did "
        "the training change for you'?); correct cohorts.spring.survey.questions.training_feedback "
        "in config/config.yaml (it must equal the header exactly) or the export's header"]


def test_missing_participant_column_in_a_named_sheet(raw):
    write_xlsx(raw / "pre1.xlsx", [["Timestamp", "participant Code", SE], ["t", "P01", "x"]])
    assert problems(raw) == [
        f"{raw}/pre1.xlsx, sheet Form Responses 1, row 1, column Participant code: the column of "
        "the participant is not in the header row (row 1) of the pre1 export; the header has "
        f"Timestamp, participant Code, {SE} (did you mean 'participant Code'?); correct "
        "cohorts.spring.survey.participant_column in config/config.yaml (it must equal the header "
        "exactly) or the export's header"]


def test_an_unknown_sheet_lists_the_sheets(raw):
    survey = {**SURVEY, "files": {**SURVEY["files"], "pre1": {"file": "pre1.xlsx", "sheet": "Form responses 1"}}}
    assert problems(raw, survey) == [
        f"{raw}/pre1.xlsx: has no sheet 'Form responses 1' (its sheets: Summary, Form Responses 1) "
        "(did you mean 'Form Responses 1'?); correct the `sheet:` of this export in config/config.yaml"]


def test_without_a_sheet_name_the_first_sheet_is_read(raw):
    book = openpyxl.load_workbook(raw / "pre1.xlsx")
    book.move_sheet("Form Responses 1", offset=-1)
    book.save(raw / "pre1.xlsx")
    survey = {**SURVEY, "files": {**SURVEY["files"], "pre1": "pre1.xlsx"}}
    assert read(raw, survey).responses["response_id"].tolist()[:2] == [
        "P01.pre1.session_experience", "P02.pre1.session_experience"]


def test_a_duplicate_participant_names_both_rows(raw):
    (raw / "pre2.csv").write_text(PRE2 + f"2026/04/09 09:00:00,{EMAILS[0]},P01,Second try.\n", encoding="utf-8")
    assert problems(raw) == [
        f"{raw}/pre2.csv, row 4, column Participant code: 'P01' appears twice in this export "
        "(time point pre2), in rows 2 and 4; keep the participant's one submission and delete "
        "the other row"]


def test_participant_ids_are_checked_for_pseudonymity_in_the_cell(raw):
    rows = [PRE1[0], ["t", "x", EMAILS[0], "text", "Yes"], ["t", "x", "P02", "text", "Yes"]]
    write_xlsx(raw / "pre1.xlsx", rows)
    assert problems(raw) == [
        f"{raw}/pre1.xlsx, sheet Form Responses 1, cell C2, column Participant code: "
        "'t***@u***.jp' looks like an e-mail address; replace it with a pseudonym such as P01"]  # masked (#21)


def test_ids_differing_in_zero_padding_across_exports_are_refused(raw):
    (raw / "post.csv").write_text(POST.replace(",P02,", ",P2,"), encoding="utf-8")
    assert problems(raw) == [
        f"{raw}/post.csv, row 3, column Participant code: 'P2' differs from 'P02' (in "
        f"{raw}/pre1.xlsx) only in upper/lower case or leading zeros, so the two would be taken "
        "as different people; write the same id for the same person, or set "
        "privacy.allow_similar_participant_ids: true in config/config.yaml if they really are "
        "different people"]


def test_a_cp932_csv_export_is_read_in_the_cohorts_encoding(raw):
    survey = {**SURVEY, "files": {**SURVEY["files"], "pre1": "pre1.csv"}}
    text = f'タイムスタンプ,メールアドレス,Participant code,"{SE}"\n2026/04/01,{EMAILS[0]},P01,引き込まれて、安心させようとした。\n'
    (raw / "pre1.csv").write_bytes(text.encode("cp932"))
    for name in ("pre2.csv", "post.csv"):
        (raw / name).write_bytes((raw / name).read_text(encoding="utf-8").encode("cp932"))
    responses = read(raw, survey, encoding="cp932").responses
    assert responses.loc[0].tolist()[:6] == ["P01.pre1.session_experience", "P01", "pre1",
                                             "session_experience", "", "引き込まれて、安心させようとした。"]


def test_an_xls_file_renamed_to_xlsx_is_refused_with_the_fix(raw):
    (raw / "pre1.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)  # OLE2 (.xls) header
    assert problems(raw) == [
        f"{raw}/pre1.xlsx: is not a readable .xlsx workbook (an .xls or .ods file, or a "
        "password-protected one, renamed?); open it and save it as 'Excel Workbook (.xlsx)' "
        "without a password"]


def test_malformed_csv_never_quotes_a_cell_of_an_ignored_column(raw):
    (raw / "pre2.csv").write_text(f'Timestamp,Email Address,Participant code,"{SE}"\n'
                                  f't,"{EMAILS[0]},P01,text\n', encoding="utf-8")
    (message,) = problems(raw)
    assert EMAILS[0] not in message and message.startswith(f"{raw}/pre2.csv, row 2")


def test_answers_without_a_participant_code_are_refused(raw):
    (raw / "pre2.csv").write_text(PRE2 + "2026/04/09 09:00:00,a@b.jp,,An answer.\n", encoding="utf-8")
    assert problems(raw) == [
        f"{raw}/pre2.csv, row 4, column Participant code: '' is empty but the row has answers; "
        "fill in the participant's pseudonym (or delete the row if it is a test submission)"]


def test_a_question_column_is_read_only_in_the_exports_of_its_own_time_points(raw):
    # training_feedback is asked at post only: the same header in the pre1 export is ignored
    rows = [PRE1[0] + [TF]] + [row + ["Not asked at pre1."] for row in PRE1[1:]]
    write_xlsx(raw / "pre1.xlsx", rows)
    responses = read(raw).responses
    assert responses[responses["question"] == "training_feedback"]["response_id"].tolist() == [
        "P01.post.training_feedback"]
    assert "Not asked at pre1." not in responses["text"].tolist()
