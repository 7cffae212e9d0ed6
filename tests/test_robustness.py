"""Hostile but realistic inputs (issue 11): each was once a silent data change, a traceback
or a message blaming the wrong file. Each test asserts the exact refusal or warning.

The small cohort and its helpers are test_intake's (two participants, two coders, R3
adjudicated).
"""
from pathlib import Path

import pytest

from alliance_pipeline import config as study_config
from test_intake import ADJUDICATION, CODER_A, RESPONSES, problems, raw, read, replace, write  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


# --- 1. an unreadable adjudication.csv is refused, not dropped -----------------------------

def test_a_cp1252_curly_quote_in_adjudication_is_refused_not_dropped(raw):
    # Excel on Windows wrote the rationale with a Windows-1252 left double quote (0x93)
    write(raw / "adjudication.csv",
          ADJUDICATION.encode() + "R4,engaged_well,\u201cstayed\u201d is engaged_well\n".encode("cp1252"))
    assert problems(raw) == [
        f"{raw}/adjudication.csv, row 3, column rationale: contains bytes that are not valid "
        "utf-8 text (0x93 0x73 0x74 at byte 106); if the file was saved by Excel on Japanese "
        "Windows, set `encoding: cp932` for this cohort in config/config.yaml"]


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
    from alliance_pipeline.intake import participant_key
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
    assert sorted(set(tables["responses"]["participant_id"])) == ["P01", "P02", "p1"]


def read_cohort_allowing(folder):
    from alliance_pipeline.intake import read_cohort
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
    (warning,) = read(raw)["warnings"]
    assert str(warning) == (
        f"{raw}/codes/coder_a.csv, row 6: the file does not end with a line break: if it was "
        "cut short (an interrupted copy or download), row 6 is incomplete; check that its last "
        "cell is whole")
