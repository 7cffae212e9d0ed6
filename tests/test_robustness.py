"""Hostile but realistic inputs (issue 11): each was once a silent data change, a traceback
or a message blaming the wrong file. Each test asserts the exact refusal or warning.

The small cohort and its helpers are test_intake's (two participants, two coders, R3
adjudicated).
"""
from pathlib import Path

import pytest

from alliance_pipeline.common import cohort_files
from alliance_pipeline.config import load as study_config
from alliance_pipeline.config import settings
from test_intake import ADJUDICATION, CODER_A, RESPONSES, problems, raw, read, replace, write  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


# --- 1. an unreadable adjudication.csv is refused, not dropped -----------------------------

def test_a_cp1252_curly_quote_in_adjudication_is_refused_not_dropped(raw):
    # Excel on Windows wrote the rationale with a Windows-1252 left double quote (0x93)
    write(raw / "adjudication.csv",
          ADJUDICATION.encode() + "R4,engaged_well,\u201cstayed\u201d is engaged_well\n".encode("cp1252"))
    assert problems(raw) == [
        f"{raw}/adjudication.csv, row 3, column rationale: contains bytes that are not valid "
        "utf-8 text (0x93 0x73 0x74 at byte 106); none of utf-8, cp932 and utf-16 decodes the "
        "whole file: save it again as 'CSV UTF-8 (Comma delimited)'"]


@pytest.mark.parametrize("content, expected", [
    ("response_id;codes;rationale\nR3;hooked;x\n",
     "row 1: 'response_id;codes;rationale' is semicolon-separated"),
    ('response_id,codes,rationale\nR3,hooked,"meeting',
     "row 2, column rationale: 'meeting' the file looks truncated"),
])
def test_a_malformed_adjudication_is_refused_not_dropped(raw, content, expected):
    write(raw / "adjudication.csv", content)
    (message,) = problems(raw)
    assert message.startswith(f"{raw}/adjudication.csv, {expected}"), message


# --- 2. duplicate YAML keys ----------------------------------------------------------------

def test_a_second_analysis_block_in_config_is_refused_naming_both_lines(tmp_path):
    text = (REPO / "config/config.yaml").read_text(encoding="utf-8")
    first = text.splitlines().index("analysis:") + 1
    path = tmp_path / "config.yaml"
    path.write_text(text + "analysis:\n  p_adjust: none\n", encoding="utf-8")
    second = len(text.splitlines()) + 1
    with pytest.raises(study_config.ConfigError) as info:
        study_config.load_yaml(path)
    assert info.value.problems == [
        f"line {second}: the key 'analysis' appears a second time in the same block (first at "
        f"line {first}); YAML would silently keep only the last one — merge the two into one"]


def test_a_duplicate_code_in_the_codebook_is_refused(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_text("questions:\n  q1:\n    codes:\n      hooked: {label: Hooked}\n"
                    "      anxious: {label: Anxious}\n      hooked: {label: Pulled in}\n",
                    encoding="utf-8")
    with pytest.raises(study_config.ConfigError) as info:
        study_config.load_yaml(path)
    assert info.value.problems == [
        "line 6: the key 'hooked' appears a second time in the same block (first at line 4); "
        "YAML would silently keep only the last one — merge the two into one"]


def test_same_key_in_different_blocks_and_merge_keys_are_not_duplicates(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: &base {x: 1}\nb:\n  <<: *base\n  x: 2\nc: {x: 3}\n", encoding="utf-8")
    assert study_config.load_yaml(path) == {"a": {"x": 1}, "b": {"x": 2}, "c": {"x": 3}}


# --- 3. participant ids that differ only in case or zero-padding ---------------------------

@pytest.mark.parametrize("pid, key", [("P05", "p5"), ("p05", "p5"), ("P5", "p5"), ("P50", "p50"),
                                      ("P100", "p100"), ("S-007a", "s-7a"), ("P0", "p0")])
def test_participant_key_by_hand(pid, key):
    from alliance_pipeline.intake.checks.responses import participant_key
    assert participant_key(pid) == key


def test_ids_differing_only_in_case_or_leading_zeros_are_refused(raw):
    replace(raw / "responses.csv", "R3,P01,pre2", "R3,p1,pre2")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 4, column participant_id: 'p1' differs from 'P01' (row 2) "
        "only in upper/lower case or leading zeros, so the two would be taken as different "
        "people; write the same id for the same person, or set "
        "privacy.allow_similar_participant_ids: true in config/config.yaml if they really are "
        "different people"]


def test_the_config_switch_allows_ids_that_really_differ_so(raw):
    replace(raw / "responses.csv", "R3,P01,pre2", "R3,p1,pre2")
    tables = read_cohort_allowing(raw)
    assert sorted(set(tables.responses["participant_id"])) == ["P01", "P02", "p1"]


def read_cohort_allowing(folder):
    from alliance_pipeline.intake.cohort import read_cohort
    from test_intake import CODEBOOK, ID_PATTERN, TIMEPOINTS
    return read_cohort(folder, cohort="pilot", encoding="utf-8", timepoints=TIMEPOINTS,
                       questions=CODEBOOK, id_pattern=ID_PATTERN, allow_similar_ids=True)


# --- 4. NUL bytes, truncated files ---------------------------------------------------------

def test_a_nul_byte_in_a_text_is_refused(raw):
    replace(raw / "responses.csv", "I stayed with her.", "I stayed\x00 with her.")
    assert problems(raw) == [
        f"{raw}/responses.csv, row 5, column text: contains a NUL byte (0x00; 1 in the file): "
        "the file is damaged or not plain text; export it again from the spreadsheet as "
        "'CSV UTF-8 (Comma delimited)'"]


def test_a_file_cut_inside_a_quoted_cell_looks_truncated(raw):
    cut = RESPONSES.index("and we went on.")
    write(raw / "responses.csv", RESPONSES[:cut])
    assert problems(raw) == [
        f"{raw}/responses.csv, row 3, column text: 'I named the strain, ' the file looks "
        "truncated: it ends inside this quoted cell (no closing quote, no line break at the "
        "end); copy or export the whole file again, or close the quote"]


def test_a_file_cut_inside_an_unquoted_last_cell_is_warned_about(raw):
    write(raw / "codes/coder_a.csv", CODER_A.rstrip("\n")[:-len("pause")])  # R5,mindful_
    assert problems(raw)[0].startswith(f"{raw}/codes/coder_a.csv, row 6, column codes: "
                                       "'mindful_' is not a code")
    write(raw / "codes/coder_a.csv", CODER_A.rstrip("\n"))  # complete, no final line break
    (warning,) = read(raw).warnings
    assert str(warning) == (
        f"{raw}/codes/coder_a.csv, row 6: the file does not end with a line break: if it was "
        "cut short (an interrupted copy or download), row 6 is incomplete; check that its last "
        "cell is whole")


# --- 5. a cell over the csv module's 131,072-character limit -------------------------------

def test_a_quote_left_open_in_a_large_file_gets_the_unclosed_quote_message(raw):
    long_text = "I kept reassuring her. " * 7000  # 161,000 characters
    text = RESPONSES.replace("I stayed with her.", f'"{long_text}')
    write(raw / "responses.csv", text)
    (message,) = problems(raw)
    assert message == (
        f"{raw}/responses.csv, row 5, column text: 'I kept reassuring her. I kept reassuring "
        "her. I kept reas...' a quote (\") opens a cell here but is never closed, so the rest "
        "of the file would be read as one cell; close the quote")


def test_a_long_but_closed_cell_is_read_whole(raw):
    long_text = "x" * 200_000
    replace(raw / "responses.csv", "I stayed with her.", long_text)
    assert read(raw).responses.set_index("response_id").loc["R4", "text"] == long_text


# --- 6. an invalid participant-id pattern --------------------------------------------------

def config_problems(text: str, tmp_path) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(study_config.ConfigError) as info:
        study_config.check_config(study_config.load_yaml(path), str(path))
    return info.value.problems


PILOT_CONFIG = (REPO / "config/config.yaml").read_text(encoding="utf-8")


def test_an_invalid_participant_id_pattern_is_refused_naming_the_key(tmp_path):
    assert config_problems(PILOT_CONFIG + "privacy:\n  participant_id_pattern: \"^P[0-9+$\"\n",
                           tmp_path) == [
        "privacy.participant_id_pattern: '^P[0-9+$' is not a valid regular expression "
        "(unterminated character set at position 2); correct it, e.g. "
        "\"^[A-Za-z][A-Za-z0-9_-]{0,31}$\" (in double quotes, write \\\\ for one backslash)"]


# --- 10. config values the analysis cannot use ---------------------------------------------

def test_acceptable_above_good_and_a_single_bootstrap_resample_are_refused(tmp_path):
    text = PILOT_CONFIG.replace("acceptable: 0.667", "acceptable: 0.9").replace(
        "bootstrap: 2000", "bootstrap: 1")
    assert config_problems(text, tmp_path) == [
        "analysis.agreement.bootstrap: 1 resample gives no interval for alpha; set 0 for no "
        "intervals or e.g. 2000",
        "analysis.agreement: acceptable (0.9) is above good (0.8); acceptable is the lower "
        "threshold (Krippendorff: 0.667 tentative, 0.800 good): swap them"]


def test_a_cohort_override_of_good_below_the_study_acceptable_is_refused(tmp_path):
    text = PILOT_CONFIG.replace("    encoding: utf-8",
                                "    encoding: utf-8\n    analysis:\n      agreement: {good: 0.5}")
    assert config_problems(text, tmp_path) == [
        "cohorts.pilot.analysis.agreement: acceptable (0.667) is above good (0.5); acceptable "
        "is the lower threshold (Krippendorff: 0.667 tentative, 0.800 good): swap them"]


def test_bootstrap_0_says_why_the_alpha_interval_is_empty():
    import pandas as pd

    from alliance_pipeline.coding.agreement import agreement_table
    codings = pd.DataFrame([("r1", "q", "A", "a"), ("r1", "q", "B", "a"), ("r2", "q", "A", "b"),
                            ("r2", "q", "B", "a"), ("r3", "q", "A", "b"), ("r3", "q", "B", "b")],
                           columns=["response_id", "question", "coder", "codes"])
    questions = {"q": {"multi_label": False, "codes": ["a", "b"], "timepoints": ["t"]}}
    table = agreement_table(codings, questions, cohort="c", bootstrap=0)
    row = table.set_index("code").loc["a"]
    assert pd.isna(row["alpha_ci_low"]) and "no alpha CI: analysis.agreement.bootstrap is 0" in row["note"]


# --- 7. response ids with look-alike characters --------------------------------------------

def test_a_cyrillic_letter_in_a_response_id_is_refused_where_it_is_defined(raw):
    replace(raw / "responses.csv", "R2,P02", "\u04202,P02")  # CYRILLIC CAPITAL LETTER ER
    assert problems(raw) == [
        f"{raw}/responses.csv, row 3, column response_id: '\u04202' contains CYRILLIC CAPITAL "
        "LETTER ER (U+0420); response ids are made of ASCII letters and digits, then also _ - . "
        "(a look-alike letter of another alphabet or an invisible mark would not match the "
        "coder files): retype the id"]


def test_a_byte_order_mark_at_the_start_of_a_row_is_refused(raw):
    replace(raw / "responses.csv", "R2,P02", "\ufeffR2,P02")
    (message,) = problems(raw)
    assert message.startswith(f"{raw}/responses.csv, row 3, column response_id: '\\ufeffR2' "
                              "contains ZERO WIDTH NO-BREAK SPACE (U+FEFF); response ids")


@pytest.mark.parametrize("written, why", [
    ("\ufeffR1", " but contains ZERO WIDTH NO-BREAK SPACE (U+FEFF)"),
    ("r01", ""),
    ("Ｒ1", " but contains FULLWIDTH LATIN CAPITAL LETTER R (U+FF32)")])
def test_a_coder_file_id_close_to_a_response_id_says_which(raw, written, why):
    replace(raw / "codes/coder_a.csv", "R1,hooked", f"{written},hooked")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.csv, row 2, column response_id: {written!r} is not a response_id "
        f"of responses.csv (it looks like 'R1'{why}; write it as 'R1'); fix the id or remove "
        "the row"]


# --- 8. an encoding of the utf family that does not fit ------------------------------------

def test_utf16_configured_for_utf8_files_shows_a_short_excerpt_and_the_fitting_encoding(raw):
    (message, *_) = problems(raw, encoding="utf-16")
    assert message == (
        f"{raw}/responses.csv: does not read as utf-16 text (read so, it begins "
        f"{RESPONSES.encode()[:80].decode('utf-16-le')!r}); they read as utf-8: set "
        "`encoding: utf-8` for this cohort in config/config.yaml (all files of a cohort share "
        "one encoding), or save the file as 'CSV UTF-8 (Comma delimited)'")
    assert len(message) < 500


def test_utf16_without_byte_order_mark_read_as_utf8(raw):
    write(raw / "responses.csv", RESPONSES.encode("utf-16-le"))
    (message,) = problems(raw)
    assert message == (
        f"{raw}/responses.csv: does not read as utf-8 text (read so, it begins "
        f"{RESPONSES.encode('utf-16-le')[:40].decode()!r}); they read as utf-16-le: set "
        "`encoding: utf-16-le` for this cohort in config/config.yaml (all files of a cohort "
        "share one encoding), or save the file as 'CSV UTF-8 (Comma delimited)'")


def test_utf16_files_with_the_fitting_encoding_are_read(raw):
    for name, text in [("responses.csv", RESPONSES), ("codes/coder_a.csv", CODER_A)]:
        write(raw / name, text.encode("utf-16"))
    for name in ("codes/coder_b.csv", "adjudication.csv"):
        write(raw / name, (raw / name).read_bytes().decode().encode("utf-16"))
    assert len(read(raw, encoding="utf-16").responses) == 5


# --- 10. folders and broken links where files should be; copied coder files ----------------

def test_a_folder_or_broken_link_where_a_file_should_be(raw):
    (raw / "adjudication.csv").unlink()
    (raw / "adjudication.csv").mkdir()
    (raw / "codes/coder_b.csv").unlink()
    (raw / "codes/coder_b.csv").symlink_to(raw / "elsewhere.csv")
    assert problems(raw) == [
        f"{raw}/codes/coder_b.csv: is a link to {raw}/elsewhere.csv, which does not exist; put "
        "the file itself here (or fix the link)",
        f"{raw}/adjudication.csv: is a folder, not a file; put the file itself here"]


def test_a_folder_named_like_a_coder_file_is_not_counted_as_a_returned_coder(raw):
    """The workflow (config.coder_files, status) and intake agree: a folder codes/x.csv is
    no coder file, and intake says why."""
    from alliance_pipeline.app import status
    (raw / "codes/coder_c.csv").mkdir()
    assert status.returned_coders(raw) == ["coder_a", "coder_b"]
    assert [Path(p).name for p in cohort_files.raw_files(raw)] == [
        "responses.csv", "coder_a.csv", "coder_b.csv", "adjudication.csv"]
    assert problems(raw) == [
        f"{raw}/codes/coder_c.csv: is a folder, not a file; put the file itself here"]


def test_a_missing_responses_csv_is_named_alike_by_both_readers(raw):
    from alliance_pipeline.intake.cohort import read_responses
    from alliance_pipeline.intake.problems import IntakeError
    from test_intake import CODEBOOK, ID_PATTERN, TIMEPOINTS
    (raw / "responses.csv").unlink()
    expected = [f"{raw}/responses.csv: is missing; every cohort needs responses.csv "
                "(response_id, participant_id, timepoint, question, text)"]
    assert problems(raw) == expected
    with pytest.raises(IntakeError) as info:
        read_responses(raw, cohort="pilot", encoding="utf-8", timepoints=TIMEPOINTS,
                       questions=CODEBOOK, id_pattern=ID_PATTERN)
    assert [str(p) for p in info.value.problems] == expected


def test_responses_csv_as_a_folder(raw):
    (raw / "responses.csv").unlink()
    (raw / "responses.csv").mkdir()
    assert problems(raw) == [f"{raw}/responses.csv: is a folder, not a file; put the file itself here"]


def test_a_coder_file_identical_to_another_is_warned_about(raw):
    write(raw / "codes/coder_b.csv", CODER_A)
    write(raw / "adjudication.csv", "response_id,codes,rationale\n")
    (warning,) = read(raw).warnings
    assert str(warning) == (
        f"{raw}/codes/coder_b.csv: is byte-for-byte the same file as coder_a.csv; if one "
        "coder's file was copied in place of another's, agreement is inflated: put the right "
        "coder's file here")


def test_coder_files_of_one_size_but_different_bytes_are_not_warned_about(raw):
    """Only files of a shared size are hashed; equal sizes alone are no copy."""
    size = len(CODER_A.encode())
    other = CODER_A.replace("anxious;hooked", "hooked;anxious")  # the same codes, other bytes
    assert len(other.encode()) == size and other != CODER_A
    write(raw / "codes/coder_b.csv", other)
    write(raw / "adjudication.csv", "response_id,codes,rationale\n")
    assert not [w for w in read(raw).warnings if "byte-for-byte" in str(w)]


# --- found by the fuzzer -------------------------------------------------------------------

def test_a_config_that_is_not_utf8_is_refused_naming_line_and_column(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"study:\n  title: \"Caf\xe9\"\n")  # Latin-1, not UTF-8
    with pytest.raises(study_config.ConfigError) as info:
        study_config.load_yaml(path)
    assert info.value.problems == [
        "line 2, column 14: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_a_codebook_path_that_does_not_exist_names_the_config_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text(PILOT_CONFIG.replace("codebook: config/codebook.yaml",
                                                               "codebook: config/codbook.yaml"))
    with pytest.raises(study_config.ConfigError) as info:
        study_config.load_study("config.yaml")
    assert str(info.value) == (
        f"config.yaml: 1 problem(s):\n  - codebook: 'config/codbook.yaml': file not found "
        f"(working directory: {tmp_path}); fix the path")


def _survey_problems_after_one_byte(tmp_path, monkeypatch, raw_file: str, offset: int,
                                    byte: int) -> list[str]:
    """The survey example with one byte of ``raw_file`` (under its raw folder) changed, read
    by intake as the workflow does; the located problems it refuses with."""
    from alliance_pipeline.intake.cohort import read_cohort
    from alliance_pipeline.intake.problems import IntakeError
    from fuzz.fuzzer import build_survey
    cohort = build_survey(tmp_path)
    path = tmp_path / "data/raw/pilot_survey" / raw_file
    data = bytearray(path.read_bytes())
    data[offset] = byte
    path.write_bytes(bytes(data))
    monkeypatch.chdir(tmp_path)
    config, codebook = study_config.load_study("config/config.yaml")
    study = settings.study_settings(config, codebook)
    with pytest.raises(IntakeError) as info:
        read_cohort(f"data/raw/{cohort}", cohort=cohort, encoding="utf-8",
                    timepoints=study["timepoints"], questions=study["questions"],
                    id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$",
                    survey=config["cohorts"][cohort]["survey"],
                    coding_key=config["cohorts"][cohort]["coding_key"])
    return [str(p) for p in info.value.problems]


def test_a_damaged_xlsx_export_is_refused_not_a_traceback(tmp_path, monkeypatch):
    """Fuzzer seed 481: one byte of pre2.xlsx changed inside its compressed data; openpyxl
    reads lazily, so zlib's error came out of the sheet's rows as a traceback."""
    assert _survey_problems_after_one_byte(tmp_path, monkeypatch, "pre2.xlsx", 5395, 0x47) == [
        "data/raw/pilot_survey/pre2.xlsx: is damaged (zlib.error: Error -3 while decompressing data: "
        "invalid literal/lengths set); is not a readable .xlsx workbook (an .xls or .ods file, "
        "or a password-protected one, renamed?); open it and save it as 'Excel Workbook "
        "(.xlsx)' without a password"]


def test_a_tick_under_a_code_the_codebook_no_longer_has_is_refused(tmp_path):
    """Fuzzer seed 2375: the codebook cut short lost the last codes of training_feedback; the
    coders' ticks under those columns of their workbooks were dropped without a word."""
    import copy

    from test_intake import CODER_B
    from test_workbooks import KEY, cell_of, fill, make_sheet, ref_unit_id
    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES)
    for coder, text in (("coder_a", CODER_A), ("coder_b", CODER_B)):
        fill(make_sheet(folder / "codes" / f"{coder}.xlsx", coder), text)
    from test_intake import CODEBOOK
    fewer = copy.deepcopy(CODEBOOK)
    fewer["training_feedback"]["codes"].remove("mindful_pause")
    from alliance_pipeline.intake.cohort import read_cohort
    from alliance_pipeline.intake.problems import IntakeError
    with pytest.raises(IntakeError) as info:
        read_cohort(folder, cohort="pilot", encoding="utf-8", timepoints=["pre1", "pre2", "post"],
                    questions=fewer, id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$", coding_key=KEY)
    messages = [str(p) for p in info.value.problems]
    for coder in ("coder_a", "coder_b"):
        cell = cell_of(folder / "codes" / f"{coder}.xlsx", "training_feedback", ref_unit_id("R5"),
                       "mindful_pause")
        assert (f"{folder}/codes/{coder}.xlsx, sheet training_feedback, cell {cell}: 'x' is under "
                "column 'mindful_pause', which is not a code of question training_feedback in "
                "the codebook (noticing_captivity, relating_with_intention, not_being_upset, "
                "self_understanding, no_change, contingency_unclear); the workbook was made with another codebook: "
                "restore the code in the codebook, or make new coding sheets") in messages


def test_a_damaged_coding_workbook_is_refused_not_a_traceback(tmp_path, monkeypatch):
    """Fuzzer seed 3155: one byte of coder_a.xlsx changed; the sheet's XML broke only when
    its rows were read (read-only mode), as a ParseError traceback."""
    assert _survey_problems_after_one_byte(tmp_path, monkeypatch, "codes/coder_a.xlsx", 15564,
                                           0xda) == [
        "data/raw/pilot_survey/codes/coder_a.xlsx: is damaged (ParseError: not well-formed "
        "(invalid token): line 1, column 12415); save it as .xlsx (File > Save As > Excel "
        "Workbook)"]


def test_a_code_renamed_in_the_codebook_points_to_the_codebook_not_the_workbook(tmp_path):
    """Fuzzer seed 4275: one byte of the codebook changed a code id; the workbooks were then
    blamed ("restore the header of the generated workbook") though the codebook changed."""
    import copy

    from alliance_pipeline.intake.cohort import read_cohort
    from alliance_pipeline.intake.problems import IntakeError
    from test_intake import CODEBOOK, CODER_B
    from test_workbooks import KEY, fill, make_sheet
    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES)
    for coder, text in (("coder_a", CODER_A), ("coder_b", CODER_B)):
        fill(make_sheet(folder / "codes" / f"{coder}.xlsx", coder), text)
    renamed = copy.deepcopy(CODEBOOK)
    codes = renamed["training_feedback"]["codes"]
    codes[codes.index("mindful_pause")] = "mindful_pauses"
    with pytest.raises(IntakeError) as info:
        read_cohort(folder, cohort="pilot", encoding="utf-8", timepoints=["pre1", "pre2", "post"],
                    questions=renamed, id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$", coding_key=KEY)
    assert [str(p) for p in info.value.problems][0] == (
        f"{folder}/codes/coder_a.xlsx, sheet training_feedback, cell A1: header row 1 lacks "
        "mindful_pauses (it has unit_id, text, noticing_captivity, relating_with_intention, "
        "not_being_upset, mindful_pause, self_understanding, no_change, contingency_unclear); "
        "the workbook has code column(s) mindful_pause that question training_feedback of the "
        "codebook does not have: if the codebook changed, correct it or make new coding "
        "sheets; otherwise restore the header of the generated workbook")


def test_a_utf16_file_full_of_emoji_is_read_with_encoding_utf16(raw):
    emoji = "😀🙂🙃😅" * 300
    for name, text in [("responses.csv", RESPONSES.replace("I stayed with her.", emoji)),
                       ("codes/coder_a.csv", CODER_A)]:
        write(raw / name, text.encode("utf-16"))
    for name in ("codes/coder_b.csv", "adjudication.csv"):
        write(raw / name, (raw / name).read_bytes().decode().encode("utf-16"))
    texts = read(raw, encoding="utf-16").responses.set_index("response_id")["text"]
    assert texts["R4"] == emoji


@pytest.mark.workflow
def test_a_duplicate_key_in_a_configfile_given_on_the_command_line_is_refused(tmp_path):
    from conftest import pilot_copy, run_workflow
    root = pilot_copy(tmp_path / "study")
    extra = tmp_path / "extra.yaml"
    extra.write_text("analysis:\n  p_adjust: none\n  confidence: 0.9\n  p_adjust: holm\n",
                     encoding="utf-8")
    result = run_workflow(root, "data/derived/pilot/responses.csv",
                          extra=(f"--configfile={extra}",))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert (f"{extra}: 1 problem(s):\n  - line 4: the key 'p_adjust' appears a second time in "
            "the same block (first at line 2); YAML would silently keep only the last one — "
            "merge the two into one") in output
    assert not (root / "data/derived/pilot/responses.csv").exists()


def test_a_workbook_that_cannot_be_opened_gets_a_short_message(tmp_path, monkeypatch):
    """Fuzzer seed 7409: a changed byte in a zip header made the message quote 20,000
    characters of compressed data."""
    (message,) = _survey_problems_after_one_byte(tmp_path, monkeypatch, "codes/coder_a.xlsx",
                                                 13253, 0x73)
    assert message.startswith("data/raw/pilot_survey/codes/coder_a.xlsx: cannot be opened as "
                              "an .xlsx workbook (BadZipFile: File name in directory "
                              "'xl/worksheets/sheet4.xml' and header b'xl/worksheets/sheet4.xml")
    assert message.endswith("); save it as .xlsx (File > Save As > Excel Workbook)")
    assert len(message) < 300
