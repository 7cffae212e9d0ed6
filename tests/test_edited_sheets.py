"""Messages that match the cause (#21): what a coder or a spreadsheet program did to a file,
named as it is, with the fix that keeps the coder's work.

Fixtures are the generated coding workbooks edited with openpyxl as a coder would (a column
inserted for notes, a row deleted), a workbook sheet saved as CSV, a coder file written as
Excel's "Unicode Text" (UTF-16 with BOM, tab-separated), and the status files a failed run
leaves (logs/<cohort>/intake.log); the expected messages are written out by hand.
"""
from pathlib import Path

import pytest
from openpyxl import load_workbook

from alliance_pipeline.app import status
from test_intake import CODER_A, CODER_B, RESPONSES, write
from test_workbooks import cell_of, fill, make_sheet, problems, read_wb, ref_unit_id


@pytest.fixture
def raw(tmp_path) -> Path:
    """The small cohort of test_intake with both coders' codes as filled workbooks."""
    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES)
    for coder, text in (("coder_a", CODER_A), ("coder_b", CODER_B)):
        fill(make_sheet(folder / "codes" / f"{coder}.xlsx", coder), text)
    return folder


# ------------------------------------------------------------------ an inserted column

def test_a_column_inserted_for_notes_is_named_with_its_letter(raw):
    path = raw / "codes/coder_a.xlsx"
    control = read_wb(raw).codings
    book = load_workbook(path)
    sheet = book["session_experience"]
    sheet.insert_cols(3)  # column C, between text and the first code, as Excel's Insert does
    sheet["C1"] = "note"
    sheet["C4"] = "not sure between hooked and anxious"
    book.save(path)
    assert problems(raw) == [
        f"{path}, sheet session_experience, cell C1: column C ('note') is not a column of the "
        "generated sheet and holds notes (first in cell C4), so it was inserted; delete column "
        "C ('note') (copy the notes elsewhere first) and keep the other columns as they are"]
    sheet.delete_cols(3)
    book.save(path)
    assert read_wb(raw).codings.equals(control)  # the fix the message names works


def test_a_column_of_ticks_under_an_unknown_code_is_still_another_codebook(raw):
    path = raw / "codes/coder_a.xlsx"
    book = load_workbook(path)
    sheet = book["session_experience"]
    sheet["F1"] = "withdrawn"
    sheet["F3"] = "x"
    book.save(path)
    (message,) = problems(raw)
    assert message.startswith(f"{path}, sheet session_experience, cell F3: 'x' is under column "
                              "'withdrawn', which is not a code of question session_experience")
    assert "made with another codebook" in message


# ------------------------------------------------------------------ a deleted row

def test_a_deleted_row_is_named_with_its_unit_and_how_to_restore_it(raw):
    path = raw / "codes/coder_a.xlsx"
    unit = ref_unit_id("R3")
    row = int(cell_of(path, "session_experience", unit, "unit_id")[1:])
    book = load_workbook(path)
    book["session_experience"].delete_rows(row)
    book.save(path)
    assert problems(raw) == [
        f"{path}, sheet session_experience: unit {unit} is missing from sheet "
        "session_experience: restore the row from data/derived/pilot/coding_sheets/coder_a.xlsx "
        "(copy the whole row back, then fill it in)"]


def test_a_row_left_empty_is_only_not_coded(raw):
    path = raw / "codes/coder_a.xlsx"
    row = int(cell_of(path, "session_experience", ref_unit_id("R3"), "unit_id")[1:])
    book = load_workbook(path)
    for cell in book["session_experience"][row][2:]:
        cell.value = None
    book.save(path)
    coverage = read_wb(raw).coverage.set_index("coder")
    assert coverage.loc["coder_a", "missing"] == "R3"


# ------------------------------------------------------------------ a sheet saved as CSV

def test_a_coding_sheet_saved_as_csv_asks_for_the_workbook(raw):
    (raw / "codes/coder_b.xlsx").unlink()
    unit = ref_unit_id("R1")
    write(raw / "codes/coder_b.csv",  # LibreOffice's "Text CSV" of the active sheet
          f"unit_id,text,hooked,engaged_well,anxious\n{unit},I got pulled into reassuring her.,x,,\n")
    assert problems(raw) == [
        f"{raw}/codes/coder_b.csv, row 1: is a sheet of a coding workbook saved as CSV (its "
        "header has unit_id, text and the code columns); send the .xlsx workbook: save the "
        "filled workbook as coder_b.xlsx (File > Save As > Excel Workbook) in place of this "
        "file. A CSV keeps one sheet only and loses the workbook's link to the responses"]


# ------------------------------------------------------------------ tabs in a UTF-16 file

def test_a_tab_separated_utf16_file_read_as_utf16_is_named_tab_separated(tmp_path):
    from test_intake import problems as csv_problems

    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES, encoding="utf-16")
    write(folder / "codes/coder_a.csv", CODER_A, encoding="utf-16")
    # Excel's "Unicode Text": UTF-16 with a byte-order mark, tab-separated, CRLF
    write(folder / "codes/coder_b.csv", CODER_B.replace(",", "\t").replace("\n", "\r\n"),
          encoding="utf-16")
    assert csv_problems(folder, encoding="utf-16") == [
        f"{folder}/codes/coder_b.csv, row 1: 'response_id\\tcodes' is tab-separated; save it as "
        "comma-separated CSV (in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')"]


# ------------------------------------------------------------------ the end-of-run summary

def test_the_summary_names_the_cohort_that_stopped_at_intake_and_its_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "logs/spring").mkdir(parents=True)
    (tmp_path / "logs/spring/intake.log").write_text(
        "ERROR cohort 'spring': 1 problem(s) in the raw files:\n"
        "  - data/raw/spring/responses.csv, row 3, column participant_id: '' is empty\n",
        encoding="utf-8")
    config = {"cohorts": {"spring": {"raw": "data/raw/spring", "coders": ["coder_a", "coder_b"]}}}
    waiting = {"spring": ["coder_a", "coder_b"]}
    assert status.run_summary(["spring"], waiting) == (
        "Summary by cohort:\n"
        "  spring: stopped at intake (logs/spring/intake.log): cohort 'spring': 1 problem(s) in "
        "the raw files:   - data/raw/spring/responses.csv, row 3, column participant_id: '' is empty")
    assert status.next_steps(waiting, config) == (
        "Cohort spring: stopped at intake (logs/spring/intake.log): its raw files in "
        "data/raw/spring have problems (listed in the log and below); correct them and alliance "
        "run again. The coding workbooks for coder_a, coder_b are written once intake passes.\n"
        "(no cohort is coded yet; the cross-cohort report waits until every cohort is coded.)")


def test_without_an_intake_log_a_waiting_cohort_is_not_said_to_have_its_responses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = {"cohorts": {"spring": {"raw": "data/raw/spring", "coders": ["coder_a"]}}}
    assert status.next_steps({"spring": ["coder_a"]}, config).splitlines()[0] == (
        "Cohort spring: its responses have not been read yet (intake did not run for it); "
        "waiting for coder_a. Next: alliance run (or alliance coding-sheets) reads them and writes the "
        "coding workbooks.")
