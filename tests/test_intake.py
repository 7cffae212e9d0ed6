"""Intake: every rule of the data contract with a failing fixture and its exact message.

Messages name the file, the row as a spreadsheet shows it (the header is row 1), the column,
the value and what to do. The fixtures are a small cohort of two participants written as
bytes (so encodings and line endings are exactly what a test says).
"""
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from alliance_pipeline.config import load as study_config
from alliance_pipeline.config import settings
from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.intake.problems import IntakeError
from alliance_pipeline.intake.read.csv_parser import read_csv_text

REPO = Path(__file__).resolve().parents[1]
CODEBOOK = settings.questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
TIMEPOINTS = ["pre1", "pre2", "post"]
ID_PATTERN = "^[A-Za-z][A-Za-z0-9_-]{0,31}$"
SE_CODES = "hooked, engaged_well, anxious"

RESPONSES = """response_id,participant_id,timepoint,question,text
R1,P01,pre1,session_experience,I got pulled into reassuring her.
R2,P02,pre1,session_experience,"I named the strain, and we went on."
R3,P01,pre2,session_experience,I was tense and kept apologising.
R4,P02,pre2,session_experience,I stayed with her.
R5,P01,post,training_feedback,I pause before I answer.
"""
CODER_A = """response_id,codes
R1,hooked
R2,engaged_well
R3,anxious;hooked
R4,engaged_well
R5,mindful_pause
"""
CODER_B = """response_id,codes
R1,hooked
R2,engaged_well
R3,hooked
R4,engaged_well
R5,mindful_pause
"""
ADJUDICATION = """response_id,codes,rationale
R3,hooked;anxious,"Meeting: anxious applies; coder_b agreed."
"""


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


@pytest.fixture
def raw(tmp_path) -> Path:
    """A valid raw folder: 2 participants, 2 coders, one adjudicated disagreement (R3)."""
    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES)
    write(folder / "codes/coder_a.csv", CODER_A)
    write(folder / "codes/coder_b.csv", CODER_B)
    write(folder / "adjudication.csv", ADJUDICATION)
    return folder


def read(folder, encoding="utf-8", questions=CODEBOOK):
    return read_cohort(folder, cohort="pilot", encoding=encoding, timepoints=TIMEPOINTS,
                       questions=questions, id_pattern=ID_PATTERN)


def problems(folder, **kwargs) -> list[str]:
    with pytest.raises(IntakeError) as info:
        read(folder, **kwargs)
    return [str(p) for p in info.value.problems]


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode("utf-8")
    assert text.count(old) == 1, old
    path.write_bytes(text.replace(old, new).encode("utf-8"))


# --- a clean cohort ------------------------------------------------------------------------

def test_a_valid_cohort_is_read_into_the_normalised_tables(raw):
    tables = read(raw)
    responses = tables.responses
    # sorted by question, time point (study order), participant, item, response_id
    assert responses["response_id"].tolist() == ["R1", "R2", "R3", "R4", "R5"]
    assert list(responses.columns) == ["response_id", "participant_id", "timepoint", "question",
                                       "item", "text", "identifying"]
    assert responses.loc[1, "text"] == "I named the strain, and we went on."
    assert (responses["item"] == "").all()
    codings = tables.codings
    assert list(codings.columns) == ["response_id", "question", "coder", "codes"]
    assert len(codings) == 10
    # codes in codebook order: coder_a wrote anxious;hooked
    assert codings.query("response_id == 'R3' and coder == 'coder_a'")["codes"].item() == "hooked;anxious"
    assert tables.adjudication[["response_id", "codes"]].values.tolist() == [["R3", "hooked;anxious"]]
    assert tables.coverage.to_dict("records") == [
        {"coder": "coder_a", "n_coded": 5, "n_missing": 0, "missing": ""},
        {"coder": "coder_b", "n_coded": 5, "n_missing": 0, "missing": ""}]


def test_raw_files_are_byte_identical_after_reading(raw):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.rglob("*.csv")}
    mtimes = {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")}
    read(raw)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in raw.rglob("*.csv")} == before
    assert {p: p.stat().st_mtime_ns for p in raw.rglob("*.csv")} == mtimes


def test_raw_files_are_untouched_when_reading_fails(raw):
    replace(raw / "responses.csv", "R4,P02,pre2", "R4,P02,pre9")
    before = {p: p.read_bytes() for p in raw.rglob("*.csv")}
    problems(raw)
    assert {p: p.read_bytes() for p in raw.rglob("*.csv")} == before


# --- columns -------------------------------------------------------------------------------

def test_a_missing_required_column_is_named_with_the_header(raw):
    write(raw / "responses.csv", "response_id,participant_id,timepoint,text\nR1,P01,pre1,x\n")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 1, column question: required column is missing; the header "
        "has response_id, participant_id, timepoint, text"]


def test_a_renamed_column_gets_the_near_name_hint(raw):
    replace(raw / "responses.csv", "participant_id,", "participant,")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 1, column participant_id: required column is missing; the "
        "header has response_id, participant, timepoint, question, text "
        "(is 'participant' meant to be 'participant_id'? rename it)"]


def test_a_column_name_with_other_case_and_spaces_gets_the_hint(raw):
    replace(raw / "codes/coder_b.csv", "response_id,codes", "Response ID,codes")
    assert problems(raw) == [
        f"{raw}/codes/coder_b.csv, row 1, column response_id: required column is missing; the "
        "header has Response ID, codes (is 'Response ID' meant to be 'response_id'? rename it)"]


def test_a_column_twice_in_the_header(raw):
    write(raw / "codes/coder_b.csv", "response_id,codes,codes\nR1,hooked,hooked\n")
    assert problems(raw) == [
        f"{raw}/codes/coder_b.csv, row 1, column codes: column appears more than once in the "
        "header; keep one"]


def test_excel_trailing_empty_columns_are_ignored(raw):
    lines = RESPONSES.splitlines()
    write(raw / "responses.csv", "\n".join([lines[0] + ",,"] + [line + ",," for line in lines[1:]]) + "\n")
    assert read(raw).responses["text"].tolist()[0] == "I got pulled into reassuring her."


def test_a_column_without_a_name_but_with_values_is_a_problem(raw):
    write(raw / "codes/coder_b.csv", "response_id,codes,\nR1,hooked,\nR2,engaged_well,check\n")
    assert problems(raw) == [
        f"{raw}/codes/coder_b.csv, row 1: column 3 has no name in the header but has values "
        "(first in row 3); give it a name or delete it"]


# --- ids, time points, questions -----------------------------------------------------------

def test_response_ids_must_be_unique(raw):
    replace(raw / "responses.csv", "R2,P02,pre1", "R1,P02,pre1")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 3, column response_id: 'R1' is a duplicate of row 2; ids must "
        "be unique, give one of them a new id"]


def test_every_further_copy_of_a_response_id_points_to_the_first_row(raw):
    # three copies of R1 (rows 2, 3 and 4): the second and the third both name row 2, the
    # first occurrence, not the copy before them
    replace(raw / "responses.csv", "R2,P02,pre1", "R1,P02,pre1")
    replace(raw / "responses.csv", "R3,P01,pre2", "R1,P01,pre2")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 3, column response_id: 'R1' is a duplicate of row 2; ids must "
        "be unique, give one of them a new id",
        f"{raw}/responses.csv, row 4, column response_id: 'R1' is a duplicate of row 2; ids must "
        "be unique, give one of them a new id"]


def test_every_further_coding_of_a_response_points_to_the_first_row(raw):
    # coder_a codes R1 three times (rows 2, 7 and 8): both later rows name row 2, the third
    # copy says how many times it is coded by then
    write(raw / "codes/coder_a.csv", CODER_A + "R1,engaged_well\nR1,anxious\n")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 7, column response_id: 'R1' is coded twice "
        "(first in row 2); keep one row",
        f"{raw}/codes/coder_a.csv, row 8, column response_id: 'R1' is coded 3 times "
        "(first in row 2); keep one row"]


def test_an_empty_response_id(raw):
    replace(raw / "responses.csv", "R2,P02,pre1", ",P02,pre1")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 3, column response_id: '' is empty; every response needs a "
        "unique id"]


def test_an_unknown_time_point(raw):
    replace(raw / "responses.csv", "R3,P01,pre2", "R3,P01,pre3")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 4, column timepoint: 'pre3' is not a study time point (pre1, "
        "pre2, post); correct it, or add it to study.timepoints in config/config.yaml"]


def test_a_time_point_in_other_case_gets_a_hint(raw):
    replace(raw / "responses.csv", "R3,P01,pre2", "R3,P01,Pre2")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 4, column timepoint: 'Pre2' is not a study time point (pre1, "
        "pre2, post) (did you mean 'pre2'?); correct it, or add it to study.timepoints in "
        "config/config.yaml"]


def test_an_unknown_question(raw):
    replace(raw / "responses.csv", "pre1,session_experience,I got", "pre1,session_experiences,I got")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 2, column question: 'session_experiences' is not a question of "
        "the codebook (session_experience, training_feedback) (did you mean "
        "'session_experience'?); correct it, or add the question to the codebook"]


def test_a_question_at_a_time_point_it_is_not_asked(raw):
    replace(raw / "responses.csv", "R5,P01,post,training_feedback", "R5,P01,pre2,training_feedback")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 6, column timepoint: 'pre2' is not a time point of question "
        "training_feedback (asked only at post); correct the time point or the question, or add "
        "the time point to the question's timepoints in the codebook"]


def test_two_responses_of_a_participant_to_one_question_and_time_point(raw):
    replace(raw / "responses.csv", "R4,P02,pre2", "R4,P02,pre1")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 5, column participant_id: 'P02' has a second response for the "
        "same participant, question, time point as row 3; add an `item` column if participants "
        "answered several items, or remove the duplicate"]


def test_items_allow_several_responses_per_time_point(raw):
    lines = RESPONSES.replace("R4,P02,pre2", "R4,P02,pre1").splitlines()
    write(raw / "responses.csv", "\n".join([lines[0] + ",item"] + [line + ",1" for line in lines[1:3]]
                                           + [lines[3] + ",1", lines[4] + ",2", lines[5] + ",1"]) + "\n")
    assert read(raw).responses.query("participant_id == 'P02'")["item"].tolist() == ["1", "2"]


@pytest.mark.parametrize("value, shown, why", [  # addresses and numbers masked in the message (#21)
    ("taro.yamada@example.ac.jp", "t***@e***.jp",
     "looks like an e-mail address; replace it with a pseudonym such as P01"),
    ("090-1234-5678", "***-****-**78", "looks like a phone number; replace it with a pseudonym such as P01"),
    ("20231234", "20231234", "looks like a student or staff number (digits only) and does not match the "
                 f"pseudonym pattern {ID_PATTERN}; replace it with a pseudonym such as P01"),
    ("Yamada Taro", "Yamada Taro", f"does not match the pseudonym pattern {ID_PATTERN}; use a "
                    "pseudonym such as P01, or change privacy.participant_id_pattern in config/config.yaml"),
])
def test_participant_ids_must_be_pseudonyms(raw, value, shown, why):
    replace(raw / "responses.csv", "R2,P02,", f"R2,{value},")
    assert problems(raw) == [f"{raw}/responses.csv, row 3, column participant_id: {shown!r} {why}"]


def test_an_empty_participant_id(raw):
    replace(raw / "responses.csv", "R2,P02,", "R2,,")
    assert problems(raw) == [f"{raw}/responses.csv, row 3, column participant_id: '' is empty; "
                             "give every response its participant's pseudonym"]


def test_ids_are_compared_without_surrounding_spaces(raw):
    replace(raw / "responses.csv", "R2,P02,pre1", " R2 , P02 , pre1 ")
    replace(raw / "codes/coder_b.csv", "R2,engaged_well", "R2 ,engaged_well")
    assert read(raw).responses["response_id"].tolist()[1] == "R2"


# --- coder files and adjudication ----------------------------------------------------------

def test_a_code_of_another_question(raw):
    replace(raw / "codes/coder_a.csv", "R1,hooked", "R1,mindful_pause")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 2, column codes: 'mindful_pause' "
        "belongs to question training_feedback, not session_experience (codes of "
        f"session_experience: {SE_CODES})"]


def test_an_unknown_code_gets_the_nearest_code(raw):
    replace(raw / "codes/coder_a.csv", "R1,hooked", "R1,hookd")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 2, column codes: 'hookd' is not a code of "
        f"question session_experience ({SE_CODES}) (did you mean 'hooked'?)"]


def test_a_bad_code_among_several_is_named(raw):
    replace(raw / "codes/coder_a.csv", "R3,anxious;hooked", "R3,anxious;hookd")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 4, column codes: 'anxious;hookd' code 'hookd' is not a "
        f"code of question session_experience ({SE_CODES}) (did you mean 'hooked'?)"]


def test_codes_separated_by_commas_get_the_separator_hint(raw):
    replace(raw / "codes/coder_a.csv", "R3,anxious;hooked", 'R3,"anxious,hooked"')
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 4, column codes: 'anxious,hooked' is not a code "
        f"of question session_experience ({SE_CODES}); separate several codes with a "
        "semicolon, e.g. hooked;anxious"]


def test_the_same_code_twice(raw):
    replace(raw / "codes/coder_a.csv", "R3,anxious;hooked", "R3,hooked;hooked")
    assert problems(raw) == [f"{raw}/codes/coder_a.csv, row 4, column codes: 'hooked;hooked' "
                             "lists the same code twice; keep it once"]


def test_two_codes_on_a_single_label_question(raw):
    single = {**CODEBOOK, "session_experience": {**CODEBOOK["session_experience"], "multi_label": False}}
    assert problems(raw, questions=single) == [
        f"{raw}/codes/coder_a.csv, row 4, column codes: 'anxious;hooked' question "
        "session_experience is single-label: give at most one code (settle on one in the "
        "consensus meeting)",
        f"{raw}/adjudication.csv, row 2, column codes: 'hooked;anxious' question "
        "session_experience is single-label: give at most one code (settle on one in the "
        "consensus meeting)"]


def test_a_coder_file_naming_an_unknown_response(raw):
    write(raw / "codes/coder_b.csv", CODER_B + "R99,hooked\n")
    assert problems(raw) == [f"{raw}/codes/coder_b.csv, row 7, column response_id: 'R99' is not "
                             "a response_id of responses.csv; fix the id or remove the row"]


def test_a_response_coded_twice_by_one_coder(raw):
    write(raw / "codes/coder_b.csv", CODER_B + "R1,engaged_well\n")
    assert problems(raw) == [f"{raw}/codes/coder_b.csv, row 7, column response_id: 'R1' is coded "
                             "twice (first in row 2); keep one row"]


def test_a_coder_missing_responses_is_reported_in_coverage_not_as_an_error(raw):
    replace(raw / "codes/coder_b.csv", "R2,engaged_well\n", "")
    replace(raw / "codes/coder_b.csv", "R4,engaged_well\n", "")
    tables = read(raw)
    assert tables.coverage.to_dict("records")[1] == {
        "coder": "coder_b", "n_coded": 3, "n_missing": 2, "missing": "R2;R4"}
    assert "R2" not in tables.codings.query("coder == 'coder_b'")["response_id"].tolist()


def test_adjudication_naming_an_unknown_response(raw):
    write(raw / "adjudication.csv", ADJUDICATION + "R77,hooked,typo\n")
    assert problems(raw) == [f"{raw}/adjudication.csv, row 3, column response_id: 'R77' is not "
                             "a response_id of responses.csv; fix the id or remove the row"]


def test_adjudication_for_a_response_the_coders_agreed_on(raw):
    write(raw / "adjudication.csv", ADJUDICATION + "R1,engaged_well,second thoughts\n")
    assert problems(raw) == [
        f"{raw}/adjudication.csv, row 3, column response_id: 'R1' is a response the coders "
        "agreed on; adjudication is only for disagreements, so remove the row (or correct a "
        "coder file)"]


@pytest.mark.parametrize("content", ["", "response_id,codes,rationale\n"])
def test_an_empty_or_header_only_adjudication_means_none(raw, content):
    write(raw / "adjudication.csv", content)
    tables = read(raw)
    assert tables.adjudication.empty
    assert list(tables.adjudication.columns) == ["response_id", "codes", "rationale"]


def test_adjudication_without_rationale_column(raw):
    write(raw / "adjudication.csv", "response_id,codes\nR3,hooked\n")
    assert read(raw).adjudication.to_dict("records") == [
        {"response_id": "R3", "codes": "hooked", "rationale": ""}]


def test_fewer_than_two_coder_files(raw):
    (raw / "codes/coder_b.csv").unlink()
    assert problems(raw) == [f"{raw}/codes: has 1 coder file(s); agreement and consensus need "
                             "two or more (codes/<coder_id>.csv)"]


def test_editor_lock_files_are_ignored_and_spreadsheets_are_reported(raw):
    write(raw / "codes/~$coder_a.csv", b"\x00\x01lock")
    write(raw / "codes/.~lock.coder_b.csv#", "lock")
    assert len(read(raw).coverage) == 2
    write(raw / "codes/coder_c.tsv", b"response_id\tcodes\n")
    write(raw / "codes/coder_d.ods", b"PK\x03\x04")
    # .xlsx coder files are read since the coding workbooks (tests/test_workbooks.py)
    assert problems(raw) == [
        f"{raw}/codes/coder_c.tsv: is not read: coder files must be CSV files named "
        "<coder_id>.csv; save it as 'CSV UTF-8 (Comma delimited)' named coder_c.csv",
        f"{raw}/codes/coder_d.ods: is an OpenDocument spreadsheet (.ods), which is not read; "
        "save it as .xlsx (File > Save As > Excel Workbook) named coder_d.xlsx"]


def test_a_missing_cohort_folder(tmp_path):
    assert problems(tmp_path / "nowhere") == [
        f"{tmp_path}/nowhere: cohort folder does not exist; create it or fix cohorts.pilot.raw "
        "in config/config.yaml"]


# --- file shape: delimiters, empty files, cells --------------------------------------------

def test_a_semicolon_delimited_file(raw):
    write(raw / "responses.csv", RESPONSES.replace(",", ";"))
    assert problems(raw) == [
        f"{raw}/responses.csv, row 1: 'response_id;participant_id;timepoint;question;text' is "
        "semicolon-separated; save it as comma-separated CSV (in Excel: File > Save As > "
        "'CSV UTF-8 (Comma delimited)')"]


def test_a_tab_delimited_file(raw):
    write(raw / "codes/coder_a.csv", CODER_A.replace(",", "\t"))
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 1: 'response_id\\tcodes' is tab-separated; save it as "
        "comma-separated CSV (in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')"]


def test_an_empty_file(raw):
    write(raw / "responses.csv", "")
    assert problems(raw) == [f"{raw}/responses.csv: is empty; it needs a header row (response_id, "
                             "participant_id, timepoint, question, text) and data rows"]


def test_a_header_only_file(raw):
    write(raw / "codes/coder_b.csv", "response_id,codes\n")
    assert problems(raw) == [f"{raw}/codes/coder_b.csv: has a header but no data rows"]


def test_blank_rows_above_the_header(raw):
    write(raw / "responses.csv", "\n" + RESPONSES)
    assert problems(raw) == [f"{raw}/responses.csv, row 1: row 1 must be the header row "
                             "(response_id, participant_id, timepoint, question, text); delete "
                             "the empty rows above it"]


def test_too_many_cells_in_a_row(raw):
    replace(raw / "responses.csv", '"I named the strain, and we went on."',
            "I named the strain, and we went on.")
    assert problems(raw) == [f"{raw}/responses.csv, row 3: has 6 cells but the header has 5 "
                             "columns; check for an unquoted comma or a missing quote"]


def test_a_quote_that_is_never_closed(raw):
    replace(raw / "responses.csv", '"I named the strain, and we went on."',
            '"I named the strain, and we went on.')
    assert problems(raw) == [
        f"{raw}/responses.csv, row 3, column text: 'I named the strain, and we went on.\\nR3,P01,"
        "pre2,session_e...' a quote (\") opens a cell here but is never closed, "
        "so the rest of the file would be read as one cell; close the quote"]


def test_text_after_a_closing_quote(raw):
    replace(raw / "responses.csv", "I stayed with her.", '"I stayed" with her.')
    assert problems(raw) == [
        f"{raw}/responses.csv, row 5: has a quote (\") that does not end its cell: a quote left "
        "open (then a later quote closes it) or text after a closing quote; put the whole cell in "
        "quotes and double every quote inside it (\"\")"]


def test_a_quote_closed_by_the_quote_of_a_later_row(raw):
    replace(raw / "responses.csv", "R1,P01,pre1,session_experience,I got",
            'R1,P01,pre1,session_experience,"I got')
    (problem,) = problems(raw)
    assert problem.startswith(f"{raw}/responses.csv, row 2: has a quote")


def test_blank_rows_are_skipped_and_counted_in_row_numbers(raw):
    text = RESPONSES.replace("R3,P01,pre2", "\n\nR3,P01,pre9")
    write(raw / "responses.csv", text)
    (problem,) = problems(raw)
    assert problem.startswith(f"{raw}/responses.csv, row 6, column timepoint: 'pre9'")


def test_all_problems_of_a_file_are_listed_at_once(raw):
    text = (RESPONSES.replace("R2,P02,pre1", "R2,P02,pre0").replace("R4,P02,pre2", "R4,p 02,pre2")
            .replace("R5,P01,post,training_feedback", "R5,P01,post,feedback"))
    write(raw / "responses.csv", text + "R6,P03,post,training_feedback,too,many\n")
    found = problems(raw)
    assert [p.split(":")[0] for p in found] == [
        f"{raw}/responses.csv, row 3, column timepoint",
        f"{raw}/responses.csv, row 5, column participant_id",
        f"{raw}/responses.csv, row 6, column question",
        f"{raw}/responses.csv, row 7"]
    with pytest.raises(IntakeError) as info:
        read(raw)
    message = str(info.value)
    assert message.startswith("cohort 'pilot': 4 problem(s) in the raw files:\n  - ")
    assert all(p in message for p in found)


def test_all_problems_of_a_coder_file_are_listed_at_once(raw):
    write(raw / "codes/coder_b.csv", "response_id,codes\nR1,hooked\nR2,hookd\nR3,x,y\nR9,hooked\n"
                                     "R4,engaged_well\nR5,anxious\n")
    assert [p.split(":")[0] for p in problems(raw)] == [
        f"{raw}/codes/coder_b.csv, row 3, column codes",
        f"{raw}/codes/coder_b.csv, row 4",
        f"{raw}/codes/coder_b.csv, row 5, column response_id",
        f"{raw}/codes/coder_b.csv, row 7, column codes"]


def test_a_long_list_of_problems_is_cut_with_a_count(raw):
    rows = "".join(f"X{i},P{i:02d},pre7,session_experience,t\n" for i in range(60))
    write(raw / "responses.csv", RESPONSES + rows)
    with pytest.raises(IntakeError) as info:
        read(raw)
    assert len(info.value.problems) == 60
    assert str(info.value).endswith(f"  ... and 10 more in {raw}/responses.csv")


# --- encodings, line endings, awkward text -------------------------------------------------

JAPANESE = "クライアントの怒りに巻き込まれ、謝ってばかりいた。"


def test_utf8_with_bom_is_read(raw):
    write(raw / "responses.csv", RESPONSES, encoding="utf-8-sig")
    write(raw / "codes/coder_a.csv", CODER_A, encoding="utf-8-sig")
    tables = read(raw)
    assert tables.responses["response_id"].tolist()[0] == "R1"
    assert len(tables.codings) == 10


def test_cp932_is_read_when_configured(raw):
    write(raw / "responses.csv", RESPONSES.replace("I stayed with her.", JAPANESE), encoding="cp932")
    assert read(raw, encoding="cp932").responses["text"].tolist()[3] == JAPANESE


def test_cp932_bytes_with_the_default_encoding_say_to_set_cp932(raw):
    write(raw / "responses.csv", RESPONSES.replace("I stayed with her.", JAPANESE), encoding="cp932")
    offset = RESPONSES.index("I stayed with her.")  # all ASCII before it: bytes = characters
    assert JAPANESE.encode("cp932")[:3] == b"\x83\x4e\x83"
    assert problems(raw) == [
        f"{raw}/responses.csv, row 5, column text: contains bytes that are not valid utf-8 text "
        f"(0x83 0x4e 0x83 at byte {offset}); the whole file decodes as cp932: if the file was saved "
        "by Excel on Japanese Windows, set `encoding: cp932` for this cohort in config/config.yaml"]


def test_utf8_text_read_as_cp932_is_refused_rather_than_garbled(raw):
    write(raw / "responses.csv", RESPONSES.replace("I stayed with her.", JAPANESE))
    assert problems(raw, encoding="cp932") == [
        f"{raw}/responses.csv: is UTF-8 text but the cohort's encoding is cp932; set `encoding: "
        "utf-8` for this cohort in config/config.yaml (all files of a cohort share one encoding)"]


def test_utf16_is_refused(raw):
    write(raw / "responses.csv", RESPONSES, encoding="utf-16")
    assert problems(raw) == [f"{raw}/responses.csv: is UTF-16 text (Excel's 'Unicode Text'); save "
                             "it as 'CSV UTF-8 (Comma delimited)'"]


def test_an_unknown_encoding_name(raw):
    assert problems(raw, encoding="utf-9") == [
        f"{raw}/responses.csv: 'utf-9' is not an encoding Python knows; set the cohort's "
        "`encoding:` in config/config.yaml to e.g. utf-8 or cp932"]


def test_crlf_line_endings(raw):
    for name, text in [("responses.csv", RESPONSES), ("codes/coder_a.csv", CODER_A),
                       ("codes/coder_b.csv", CODER_B), ("adjudication.csv", ADJUDICATION)]:
        write(raw / name, text.replace("\n", "\r\n"))
    tables = read(raw)
    assert tables.responses["text"].tolist()[0] == "I got pulled into reassuring her."
    assert tables.codings["codes"].tolist()[:2] == ["hooked", "hooked"]


def test_quoted_newlines_and_quotes_inside_text_are_kept_unchanged(raw):
    text = 'She said "you never listen",\nand I froze.\r\n  Then — I apologised. '
    quoted = '"' + text.replace('"', '""') + '"'
    replace(raw / "responses.csv", '"I named the strain, and we went on."', quoted)
    replace(raw / "responses.csv", "R3,P01,pre2", "R3,P01,pre9")  # row numbers count records
    (problem,) = problems(raw)
    assert problem.startswith(f"{raw}/responses.csv, row 4, column timepoint: 'pre9'")
    replace(raw / "responses.csv", "R3,P01,pre9", "R3,P01,pre2")
    assert read(raw).responses["text"].tolist()[1] == text


def test_a_100_kb_text_is_read_whole(raw):
    long = ("私は緊張していた, \"and\" I kept apologising.\n" * 3000)[:100_000]
    replace(raw / "responses.csv", '"I named the strain, and we went on."',
            '"' + long.replace('"', '""') + '"')
    assert read(raw).responses["text"].tolist()[1] == long


def test_formula_like_text_is_kept_exactly(raw):
    replace(raw / "responses.csv", "I stayed with her.", '"=HYPERLINK(""http://x"",""y"")"')
    replace(raw / "responses.csv", "I pause before I answer.", "-I pause; +1 @me")
    texts = read(raw).responses["text"].tolist()
    assert texts[3:] == ['=HYPERLINK("http://x","y")', "-I pause; +1 @me"]


def test_texts_with_e_mails_or_phone_numbers_are_flagged(raw):
    replace(raw / "responses.csv", "I stayed with her.", "write to taro@example.jp")
    replace(raw / "responses.csv", "I pause before I answer.", "電話０９０ー１２３４ー５６７８まで")
    assert read(raw).responses["identifying"].tolist() == ["", "", "", "email", "phone"]


def test_read_csv_text_numbers_rows_as_a_spreadsheet_does():
    frame, found = read_csv_text('a,b\n1,"x\ny"\n\n2,z\n', "f.csv", ["a", "b"])
    assert found == []
    assert frame["spreadsheet_row"].tolist() == [2, 4]
    assert frame["b"].tolist() == ["x\ny", "z"]
    assert isinstance(frame, pd.DataFrame)
