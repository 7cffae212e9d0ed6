"""Exports laid out as the survey tools write them (issue #21): Qualtrics as downloaded (three
header rows, or two), one long REDCap export for every wave (raw and labels), wording per wave,
header rows read as data, answers of only spaces.

Each fixture is written here by hand from the tool's documented layout (Qualtrics' "Understanding
your dataset": row 1 column ids, row 2 question texts, row 3 ``{"ImportId":...}``, Status
"Survey Preview"/"Spam" or 1/8 in numeric exports; REDCap's record export: ``record_id``,
``redcap_event_name``, ``redcap_repeat_instrument``, ``redcap_repeat_instance``, the fields,
``<instrument>_complete``; the labels export with field labels and event labels). Expected
responses and messages are written out by hand.
"""
import csv
import io
import logging
from pathlib import Path

import openpyxl
import pytest
import yaml

from alliance_pipeline.common.cohort_files import response_files
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config import settings
from alliance_pipeline.intake.cohort import CohortTables, read_cohort
from alliance_pipeline.intake.log_lines import log_cohort
from alliance_pipeline.intake.problems import IntakeError

REPO = Path(__file__).resolve().parents[1]
CODEBOOK = settings.questions_settings(study_config.load_yaml(REPO / "config/codebook.yaml"))
TIMEPOINTS = ["pre1", "pre2", "post"]
ID_PATTERN = "^[A-Za-z][A-Za-z0-9_-]{0,31}$"
DIGITS = "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
SE = "How did you experience the interaction with the client?"
TF = "What did the training change for you?"
CODE_TEXT = "Please enter your participant code"

META = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
        "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail",
        "ExternalReference", "LocationLatitude", "LocationLongitude", "DistributionChannel", "UserLanguage"]
LABELS = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)",
          "Finished", "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name",
          "Recipient Email", "External Data Reference", "Location Latitude", "Location Longitude",
          "Distribution Channel", "User Language"]
IMPORTS = ['{"ImportId":"startDate","timeZone":"America/Denver"}',
           '{"ImportId":"endDate","timeZone":"America/Denver"}', '{"ImportId":"status"}',
           '{"ImportId":"ipAddress"}', '{"ImportId":"progress"}', '{"ImportId":"duration"}',
           '{"ImportId":"finished"}', '{"ImportId":"recordedDate","timeZone":"America/Denver"}',
           '{"ImportId":"_recordId"}', '{"ImportId":"recipientLastName"}', '{"ImportId":"recipientFirstName"}',
           '{"ImportId":"recipientEmail"}', '{"ImportId":"externalDataReference"}',
           '{"ImportId":"locationLatitude"}', '{"ImportId":"locationLongitude"}',
           '{"ImportId":"distributionChannel"}', '{"ImportId":"userLanguage"}']


def meta(status, n: int) -> list:
    return ["2026-04-06 10:00:00", "2026-04-06 10:05:00", status, f"192.0.2.{n}", "100", "300",
            "True", "2026-04-06 10:05:01", f"R_3kX8aB{n:09d}", "", "", "", "", "35.6895",
            "139.6917", "anonymous", "EN"]


def qualtrics_rows(*, numeric: bool = False, rows: int = 3) -> list[list]:
    """A pre1 Qualtrics export: participant code Q1, the question Q2; P01, P02, a preview
    (row 5), P03 whose answer is only non-breaking spaces, a spam row repeating P01."""
    status = (lambda label, code: code) if numeric else (lambda label, code: label)
    header = [META + ["Q1", "Q2"], LABELS + [CODE_TEXT, SE], IMPORTS + ['{"ImportId":"QID1_TEXT"}',
                                                                       '{"ImportId":"QID2_TEXT"}']]
    body = [meta(status("IP Address", 0), 1) + ["P01", "I got pulled into reassuring her."],
            meta(status("IP Address", 0), 2) + ["P02", "I named the strain, and we went on."],
            meta(status("Survey Preview", 1), 3) + ["", "testing the form"],
            meta(status("IP Address", 0), 4) + ["P03", "\u00a0\u00a0"],
            meta(status("Spam", 8), 5) + ["P01", "cheap watches"]]
    return header[:rows] + body


def qualtrics_csv(rows: list[list]) -> bytes:
    """As Qualtrics' "CSV" download writes it: UTF-8 with BOM, every cell quoted, CRLF."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(path: Path, rows: list[list], sheet: str = "Sheet0") -> None:
    book = openpyxl.Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    book.save(path)


def read(raw: Path, survey: dict, id_pattern: str = ID_PATTERN) -> CohortTables:
    return read_cohort(raw, cohort="spring", encoding="utf-8", timepoints=TIMEPOINTS,
                       questions=CODEBOOK, id_pattern=id_pattern, survey=survey, require_coders=False)


def problems(raw: Path, survey: dict, id_pattern: str = ID_PATTERN) -> list[str]:
    with pytest.raises(IntakeError) as info:
        read(raw, survey, id_pattern)
    return [str(p) for p in info.value.problems]


def answers(tables: dict) -> list[list[str]]:
    return tables.responses[["response_id", "text"]].values.tolist()


QUALTRICS = {"participant_column": "Q1", "files": {"pre1": "pre1.csv"},
             "questions": {"session_experience": "Q2"}}
EXPECTED = [["P01.pre1.session_experience", "I got pulled into reassuring her."],
            ["P02.pre1.session_experience", "I named the strain, and we went on."]]


@pytest.mark.parametrize("by", ["id", "question text"])
def test_qualtrics_csv_as_downloaded_is_read_with_previews_and_spam_left_out(tmp_path, by):
    (tmp_path / "pre1.csv").write_bytes(qualtrics_csv(qualtrics_rows()))
    survey = QUALTRICS if by == "id" else {**QUALTRICS, "participant_column": CODE_TEXT,
                                           "questions": {"session_experience": SE}}
    tables = read(tmp_path, survey)
    assert answers(tables) == EXPECTED
    # P03 answered only non-breaking spaces: no answer
    assert tables.unanswered.values.tolist() == [["pre1", "session_experience", "P03"]]
    assert tables.notes == [
        f"{tmp_path}/pre1.csv: Qualtrics export with 3 header rows (column ids, question texts, "
        "ImportIds); rows 2-3 skipped",
        f"{tmp_path}/pre1.csv: 1 survey preview row(s) left out (Status column Status): row(s) 6",
        f"{tmp_path}/pre1.csv: 1 spam row(s) left out (Status column Status): row(s) 8"]


def test_qualtrics_numeric_xlsx_is_read_and_the_intake_log_names_the_layout(tmp_path, caplog):
    write_xlsx(tmp_path / "pre1.xlsx", qualtrics_rows(numeric=True))  # Status 0, 1, 8 as numbers
    tables = read(tmp_path, {**QUALTRICS, "files": {"pre1": "pre1.xlsx"}})
    assert answers(tables) == EXPECTED
    caplog.set_level(logging.INFO)
    log_cohort(tables, logging.getLogger("intake-test"))
    assert (f"{tmp_path}/pre1.xlsx: Qualtrics export with 3 header rows (column ids, question "
            "texts, ImportIds); rows 2-3 skipped") in caplog.messages
    assert f"{tmp_path}/pre1.xlsx: 1 spam row(s) left out (Status column Status): row(s) 8" in caplog.messages


def test_qualtrics_with_the_importid_row_deleted_is_recognised(tmp_path):
    rows = qualtrics_rows(rows=2)
    (tmp_path / "pre1.csv").write_bytes(qualtrics_csv(rows))
    tables = read(tmp_path, QUALTRICS)
    assert answers(tables) == EXPECTED
    assert tables.notes[0] == (
        f"{tmp_path}/pre1.csv: Qualtrics export with 2 header rows (column ids, question texts; "
        "the legacy exporter, or the ImportId row deleted); row 2 skipped")


def test_qualtrics_legacy_exporter_is_recognised_and_its_status_column_read(tmp_path):
    # the legacy exporter: row 1 V1..V10 and question ids, row 2 the old names and question texts
    header = [f"V{i}" for i in range(1, 11)] + ["Q1", "Q2"]
    texts = ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress",
             "IPAddress", "Status", "StartDate", "EndDate", "Finished", "Code", "Experience"]
    row = ["R_1", "Default Response Set", "Anonymous", "", "", "192.0.2.1"]
    rows = [header, texts,
            row + ["0", "2026-04-06 10:00:00", "2026-04-06 10:05:00", "1", "P01", "Pulled in."],
            row + ["1", "2026-04-06 10:00:00", "2026-04-06 10:05:00", "1", "Code", "Experience"],
            row + ["0", "2026-04-06 10:00:00", "2026-04-06 10:05:00", "1", "P02", "Named it."]]
    (tmp_path / "pre1.csv").write_bytes(qualtrics_csv(rows))
    tables = read(tmp_path, {**QUALTRICS, "participant_column": "Code",
                             "questions": {"session_experience": "Experience"}})
    assert answers(tables) == [["P01.pre1.session_experience", "Pulled in."],
                               ["P02.pre1.session_experience", "Named it."]]
    assert tables.notes[1] == f"{tmp_path}/pre1.csv: 1 survey preview row(s) left out (Status column V7): row(s) 4"


def test_a_header_row_pasted_twice_is_refused_not_read_as_a_participant(tmp_path):
    text = (f'"Timestamp","Email Address","Participant code","{SE}"\r\n'
            f'"Timestamp","Email Address","Participant code","{SE}"\r\n'
            '"2026/04/06 10:02:11 AM GMT+9","a@example.ac.jp","P01","Pulled in."\r\n')
    (tmp_path / "pre1.csv").write_text(text, encoding="utf-8")
    survey = {"participant_column": "Participant code", "files": {"pre1": "pre1.csv"},
              "questions": {"session_experience": SE}}
    assert problems(tmp_path, survey) == [
        f"{tmp_path}/pre1.csv, row 2, column Participant code: 'Participant code' is a column "
        "header, not a participant: this row looks like a second header row (for example the "
        "question texts of a Qualtrics export, or a header pasted twice), not a participant's "
        "answers; delete the row, or download the export again as the survey tool writes it"]


def test_a_question_text_row_without_qualtrics_metadata_is_refused_at_the_answer(tmp_path):
    # ids and question texts only (metadata columns left out of the export): the one-word
    # participant question's text looks like a pseudonym, the answer is the codebook prompt
    text = f'"Q1","Q2"\r\n"Code","{SE}"\r\n"P01","Pulled in."\r\n'
    (tmp_path / "pre1.csv").write_text(text, encoding="utf-8")
    assert problems(tmp_path, QUALTRICS) == [
        f"{tmp_path}/pre1.csv, row 2, column Q2: '{SE}' is the column's header or the "
        "question's prompt, not an answer: this row looks like a second header row (for example "
        "the question texts of a Qualtrics export, or a header pasted twice), not a "
        "participant's answers; delete the row, or download the export again as the survey tool "
        "writes it"]


REDCAP_HEADER = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance",
                 "sess_exp", "session_complete", "train_fb", "feedback_complete"]
REDCAP_ROWS = [["1", "pre1_arm_1", "", "", "Pulled in.", "2", "", ""],
               ["1", "pre2_arm_1", "", "", "Tense.", "2", "", ""],
               ["1", "post_arm_1", "", "", "Slowed down.", "2", "I pause.", "2"],
               ["1", "followup_arm_1", "", "", "", "0", "", ""],
               ["2", "pre1_arm_1", "", "", "Named it.", "2", "", ""],
               ["2", "post_arm_1", "", "", "\u3000", "0", "\u200b", "0"],
               ["2", "followup_arm_1", "", "", "", "0", "", ""]]
REDCAP = {"file": "export.csv", "participant_column": "record_id", "timepoint_column": "redcap_event_name",
          "timepoints": {"pre1": "pre1_arm_1", "pre2": "pre2_arm_1", "post": "post_arm_1"},
          "questions": {"session_experience": "sess_exp", "training_feedback": "train_fb"}}


def redcap_csv(rows: list[list]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8")


def test_redcap_long_export_raw_is_split_by_event(tmp_path):
    (tmp_path / "export.csv").write_bytes(redcap_csv([REDCAP_HEADER, *REDCAP_ROWS]))
    tables = read(tmp_path, REDCAP, DIGITS)
    assert answers(tables) == [["1.pre1.session_experience", "Pulled in."],
                               ["2.pre1.session_experience", "Named it."],
                               ["1.pre2.session_experience", "Tense."],
                               ["1.post.session_experience", "Slowed down."],
                               ["1.post.training_feedback", "I pause."]]
    # record 2 answered post with an ideographic space and a zero-width space: no answers
    assert tables.unanswered.values.tolist() == [["post", "session_experience", "2"],
                                                    ["post", "training_feedback", "2"]]
    assert [str(w) for w in tables.warnings] == [
        f"{tmp_path}/export.csv, column redcap_event_name: values that map to no time point are "
        "ignored: 'followup_arm_1' (2 rows); if one is a time point, map it under "
        "cohorts.spring.survey.timepoints"]


def test_redcap_labels_export_works_with_labels_in_config(tmp_path):
    header = ["Record ID", "Event Name", "Repeat Instrument", "Repeat Instance", SE, "Complete?", TF, "Complete?"]
    events = {"pre1_arm_1": "Pre-training 1", "pre2_arm_1": "Pre-training 2", "post_arm_1": "Post-training",
              "followup_arm_1": "Follow-up"}
    done = {"2": "Complete", "0": "Incomplete", "": ""}
    rows = [[r[0], events[r[1]], "", "", r[4], done[r[5]], r[6], done[r[7]]] for r in REDCAP_ROWS]
    (tmp_path / "export.csv").write_bytes(b"\xef\xbb\xbf" + redcap_csv([header, *rows]))
    survey = {"file": "export.csv", "participant_column": "Record ID", "timepoint_column": "Event Name",
              "timepoints": {"pre1": "Pre-training 1", "pre2": "Pre-training 2", "post": "Post-training"},
              "questions": {"session_experience": SE, "training_feedback": TF}}
    tables = read(tmp_path, survey, DIGITS)
    assert answers(tables)[-1] == ["1.post.training_feedback", "I pause."]
    assert len(tables.responses) == 5


def test_a_duplicate_record_and_event_names_the_wave(tmp_path):
    rows = [REDCAP_HEADER, *REDCAP_ROWS, ["1", "pre2_arm_1", "", "", "Again.", "2", "", ""]]
    (tmp_path / "export.csv").write_bytes(redcap_csv(rows))
    assert problems(tmp_path, REDCAP, DIGITS) == [
        f"{tmp_path}/export.csv, row 9, column record_id: '1' appears twice for time point pre2 "
        "(redcap_event_name 'pre2_arm_1'), in rows 3 and 9; both rows are the same wave: keep the "
        "participant's one pre2 submission and delete the other row"]


def test_rows_of_a_repeating_instrument_without_the_questions_are_refused(tmp_path):
    rows = [REDCAP_HEADER, *REDCAP_ROWS, ["1", "pre1_arm_1", "medications", "1", "", "", "", ""],
            ["1", "pre1_arm_1", "medications", "2", "", "", "", ""]]
    (tmp_path / "export.csv").write_bytes(redcap_csv(rows))
    assert problems(tmp_path, REDCAP, DIGITS) == [
        f"{tmp_path}/export.csv, row 9, column redcap_repeat_instrument: 'medications' is a "
        "repeating instrument (2 row(s), first in row 9) that holds none of the questions' fields "
        "(sess_exp, train_fb); its rows are not a participant's answers. Export the records "
        "without that instrument (REDCap: Data Exports, a report of the events and the "
        "instruments that hold the questions) and point survey.file at it"]


def test_a_repeating_instrument_holding_the_question_is_read_once_per_wave(tmp_path):
    rows = [REDCAP_HEADER, ["1", "post_arm_1", "", "", "Slowed down.", "2", "", ""],
            ["1", "post_arm_1", "feedback", "1", "", "", "I pause.", "2"]]
    (tmp_path / "export.csv").write_bytes(redcap_csv(rows))
    tables = read(tmp_path, REDCAP, DIGITS)
    assert answers(tables) == [["1.post.session_experience", "Slowed down."],
                               ["1.post.training_feedback", "I pause."]]
    rows.append(["1", "post_arm_1", "feedback", "2", "", "", "I breathe.", "2"])
    (tmp_path / "export.csv").write_bytes(redcap_csv(rows))
    assert problems(tmp_path, REDCAP, DIGITS) == [
        f"{tmp_path}/export.csv, row 4, column train_fb: is a second answer of 1 to question "
        "training_feedback for time point post (redcap_event_name 'post_arm_1'; instance 2 of the "
        "repeating instrument 'feedback'); the first is in row 3. The pipeline reads one answer "
        "per participant and time point: clear the field of the instance that does not count "
        "(in the survey tool) and export again"]


def test_wording_per_wave(tmp_path):
    post_se = SE + " (after the training)"
    (tmp_path / "pre1.csv").write_text(f'Participant code,"{SE}"\nP01,Pulled in.\n', encoding="utf-8")
    (tmp_path / "post.csv").write_text(f'Participant code,"{post_se}","{TF}"\nP01,Slowed down.,I pause.\n',
                                       encoding="utf-8")
    survey = {"participant_column": "Participant code", "files": {"pre1": "pre1.csv", "post": "post.csv"},
              "questions": {"session_experience": {"pre1": SE, "post": post_se}, "training_feedback": TF}}
    assert answers(read(tmp_path, survey)) == [["P01.pre1.session_experience", "Pulled in."],
                                               ["P01.post.session_experience", "Slowed down."],
                                               ["P01.post.training_feedback", "I pause."]]


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_answers_of_only_spaces_are_no_answer(tmp_path, suffix):
    rows = [["Participant code", SE], ["P01", " "], ["P02", "\u00a0"], ["P03", "\u3000\u3000"],
            ["P04", "\u200b"], ["P05", "Named it."]]
    if suffix == "csv":
        (tmp_path / "pre1.csv").write_bytes(redcap_csv(rows))
    else:
        write_xlsx(tmp_path / "pre1.xlsx", rows)
    survey = {"participant_column": "Participant code", "files": {"pre1": f"pre1.{suffix}"},
              "questions": {"session_experience": SE}}
    tables = read(tmp_path, survey)
    assert answers(tables) == [["P05.pre1.session_experience", "Named it."]]
    assert tables.unanswered["participant_id"].tolist() == ["P01", "P02", "P03", "P04"]


def config_problems(survey: dict) -> list[str]:
    raw_config = yaml.safe_load((REPO / "config/config.yaml").read_text(encoding="utf-8"))
    codebook = yaml.safe_load((REPO / "config/codebook.yaml").read_text(encoding="utf-8"))
    cohort = next(iter(raw_config["cohorts"]))
    raw_config["cohorts"] = {cohort: {**raw_config["cohorts"][cohort], "survey": survey}}
    study_config.check_config(raw_config)
    return [p for p in study_config.cross_reference_problems(raw_config, codebook) if ".survey" in p]


def test_the_long_export_config_is_checked():
    assert config_problems(REDCAP) == []
    both = {**REDCAP, "files": {"pre1": "pre1.csv"}}
    assert config_problems(both) == [
        "cohorts.pilot.survey: give either files: (one export per time point) or file: (one long "
        "export of every wave, with timepoint_column: and timepoints:), not both"]
    no_waves = {k: v for k, v in REDCAP.items() if k != "timepoints"}
    assert config_problems(no_waves) == [
        "cohorts.pilot.survey.timepoints: missing; a long export (file:) needs timepoint_column: "
        "(the column of the wave) and timepoints: (time point -> its value in that column)"]
    shared = {**REDCAP, "timepoints": {"pre1": "a", "pre2": "a", "post": "b"}}
    assert config_problems(shared) == [
        "cohorts.pilot.survey.timepoints: pre1, pre2 share the value 'a'; give each time point its own wave"]


def test_wording_per_wave_config_is_checked():
    survey = {"participant_column": "Participant code", "files": {tp: f"{tp}.csv" for tp in TIMEPOINTS},
              "questions": {"session_experience": {"pre1": SE, "post": SE + "!", "pre3": SE},
                            "training_feedback": TF}}
    assert config_problems(survey) == [
        "cohorts.pilot.survey.questions.session_experience.pre3: the question is not asked at "
        "'pre3' (its time points: pre1, pre2, post)",
        "cohorts.pilot.survey.questions.session_experience: no header for pre2 (the question is "
        "asked there); add `pre2: \"<its column header>\"`, or give one header for every wave"]


def test_a_long_export_is_the_cohorts_response_file(tmp_path):
    entry = {"raw": str(tmp_path), "survey": REDCAP}
    assert response_files(entry) == [str(tmp_path / "export.csv")]


def test_a_missing_long_export_is_named_at_start_up(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw/Export.csv").write_bytes(b"x")
    config = {"cohorts": {"autumn": {"raw": "raw", "survey": REDCAP}}}
    with pytest.raises(study_config.ConfigError) as info:
        study_config.check_cohort_folders(config)
    assert info.value.problems == [
        "cohorts.autumn.survey.file: raw/export.csv does not exist (exports in raw: Export.csv) "
        "(did you mean 'Export.csv'?); put the export there or fix the file name"]


def test_qualtrics_response_types_left_out():
    from alliance_pipeline.intake.read.export_layout import left_out

    # Qualtrics' response types, as choice text and as numbers: 0 IP Address, 1 Survey Preview,
    # 2 Survey Test, 4 Imported, 8 Spam, 16 Offline; 9 = preview + spam, 12 = imported + spam,
    # 17 = offline preview
    kept = ["IP Address", "0", "Imported", "4", "Offline", "16", ""]
    assert [left_out(v) for v in kept] == [None] * len(kept)
    assert [left_out(v) for v in ["Survey Preview", "1", "17", " survey preview "]] == ["survey preview"] * 4
    assert [left_out(v) for v in ["Survey Test", "2"]] == ["survey test"] * 2
    assert [left_out(v) for v in ["Spam", "8", "9", "12"]] == ["spam"] * 4


def test_a_header_row_inside_a_long_export_is_refused_not_ignored(tmp_path):
    # two downloads joined by hand: the second one's header row sits among the records
    rows = [REDCAP_HEADER, *REDCAP_ROWS[:3], REDCAP_HEADER, *REDCAP_ROWS[3:]]
    (tmp_path / "export.csv").write_bytes(redcap_csv(rows))
    assert problems(tmp_path, REDCAP, DIGITS) == [
        f"{tmp_path}/export.csv, row 5, column redcap_event_name: 'redcap_event_name' is a column "
        "header, not a wave: this row looks like a second header row (for example the question "
        "texts of a Qualtrics export, or a header pasted twice), not a participant's answers; "
        "delete the row, or download the export again as the survey tool writes it"]
