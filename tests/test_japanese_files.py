"""The files a Japanese team actually saves (issue 33): Excel's ``_xHHHH_`` escapes, Windows'
Shift_JIS (cp932) and byte-order marks, hidden sheets.

The fixtures are written as Excel and Japanese Windows write them: shared strings put into
the .xlsx zip by hand (``_x000D_`` before a line feed for a cell's CR LF, ``_x005F_`` for a
literal underscore), bytes from ``.encode("cp932")``, a workbook whose first sheet is a hidden
stale copy.
"""
import html
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import jsonschema
import openpyxl
import pytest

from alliance_pipeline.config.load import load_schema
from alliance_pipeline.config.survey import survey_problems as survey_config_problems
from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.intake.problems import IntakeError
from alliance_pipeline.intake.read.xlsx import cell_text
from test_intake import CODER_A, CODER_B, RESPONSES, write
from test_survey import CODEBOOK, ID_PATTERN, SE, TIMEPOINTS
from test_workbooks import KEY, fill, make_sheet

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
INLINE = re.compile(r'<c ([^>]*?)t="inlineStr"([^>]*)><is>(.*?)</is></c>', re.S)


def excel_strings(path: Path, as_excel: dict[str, str] | None = None) -> Path:
    """Rewrite an .xlsx's texts as Excel saves them: openpyxl's inline strings become shared
    strings (xl/sharedStrings.xml, written here by hand), a text's CR LF (or lone CR) as
    ``_x000D_`` + LF; ``as_excel`` gives the raw XML of the strings named (by the text
    openpyxl wrote), put into the zip as they are."""
    as_excel = as_excel or {}
    with zipfile.ZipFile(path) as old:
        parts = {name: old.read(name) for name in old.namelist()}
    items: list[str] = []

    def shared(match: re.Match) -> str:
        text = html.unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", match.group(3), flags=re.S)))
        if text in as_excel:
            items.append(as_excel[text])
        else:
            items.append(escape(text).replace("\r\n", "\n").replace("\r", "\n")
                         .replace("\n", "_x000D_\n"))
        return f'<c {match.group(1)}t="s"{match.group(2)}><v>{len(items) - 1}</v></c>'

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = INLINE.sub(shared, parts[name].decode("utf-8")).encode("utf-8")
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<sst xmlns="{MAIN}" count="{len(items)}" uniqueCount="{len(items)}">'
        + "".join(f'<si><t xml:space="preserve">{t}</t></si>' for t in items) + "</sst>"
    ).encode("utf-8")
    types = parts["[Content_Types].xml"].decode("utf-8")
    parts["[Content_Types].xml"] = types.replace(
        "</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/></Types>'
    ).encode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(
        "</Relationships>", f'<Relationship Id="rIdSST" Type="{SST_REL}" '
        'Target="sharedStrings.xml"/></Relationships>').encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for name, data in parts.items():
            new.writestr(name, data)
    return path


def read_survey(raw: Path, survey: dict, encoding: str = "utf-8"):
    return read_cohort(raw, cohort="spring", encoding=encoding, timepoints=TIMEPOINTS,
                       questions=CODEBOOK, id_pattern=ID_PATTERN, survey=survey,
                       require_coders=False)


def survey_problems(raw: Path, survey: dict, encoding: str = "utf-8") -> list[str]:
    with pytest.raises(IntakeError) as info:
        read_survey(raw, survey, encoding)
    return [str(p) for p in info.value.problems]


def texts(tables) -> dict[str, str]:
    frame = tables.responses
    return dict(zip(frame["response_id"], frame["text"], strict=True))


ONE_EXPORT = {"participant_column": "Participant code", "files": {"pre1": "pre1.xlsx"},
              "questions": {"session_experience": SE}}


# --------------------------------------------------------------------- (A) Excel's escapes

def test_cell_text_undoes_excels_escapes_left_to_right():
    assert cell_text("line one_x000D_\nline two") == "line one\nline two"
    assert cell_text("a_x005F_x000D_b") == "a_x000D_b"  # an escaped underscore: the text itself
    assert cell_text("tab_x0009_here_x000d_") == "tab\there\n"
    assert cell_text("_xD83D__xDE00_") == "\U0001F600"  # a surrogate pair of escapes
    assert cell_text("_x00ZZ_ and _x12_") == "_x00ZZ_ and _x12_"  # not escapes
    assert cell_text("r\r\nn\rm") == "r\nn\nm"


def test_an_export_saved_by_excel_reads_its_escapes(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    book = openpyxl.Workbook()
    book.active.title = "Form Responses 1"
    for row in [["Timestamp", "Participant code", SE],
                ["2026/04/01 10:02:11", "P01", "@@crlf@@"],
                ["2026/04/01 10:05:40", "P02", "@@underscore@@"]]:
        book.active.append(row)
    book.save(raw / "pre1.xlsx")
    excel_strings(raw / "pre1.xlsx", {"@@crlf@@": "I got pulled_x000D_\ninto reassuring her.",
                                      "@@underscore@@": "I wrote _x005F_x000D_ in my notes."})
    found = texts(read_survey(raw, ONE_EXPORT))
    assert found["P01.pre1.session_experience"] == "I got pulled\ninto reassuring her."
    assert found["P02.pre1.session_experience"] == "I wrote _x000D_ in my notes."


def test_a_csv_export_with_crlf_in_a_cell_reads_as_the_xlsx_does(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "pre1.csv", (f'Participant code,"{SE}"\r\n'
                             'P01,"I got pulled\r\ninto reassuring her."\r\n'
                             'P02,"one\rtwo"\r\n'))
    survey = {**ONE_EXPORT, "files": {"pre1": "pre1.csv"}}
    found = texts(read_survey(raw, survey))
    assert found["P01.pre1.session_experience"] == "I got pulled\ninto reassuring her."
    assert found["P02.pre1.session_experience"] == "one\ntwo"


CRLF_RESPONSES = ('response_id,participant_id,timepoint,question,text\r\n'
                  'R1,P01,pre1,session_experience,"I got pulled\r\ninto reassuring her."\r\n'
                  'R2,P02,pre1,session_experience,"I named the strain,\ran old Mac line end."\r\n'
                  'R3,P01,pre2,session_experience,I was tense and kept apologising.\r\n'
                  'R4,P02,pre2,session_experience,I stayed with her.\r\n'
                  'R5,P01,post,training_feedback,I pause before I answer.\r\n')


def test_a_coding_workbook_saved_by_excel_matches_its_crlf_texts(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "responses.csv", CRLF_RESPONSES)
    workbook = make_sheet(raw / "codes" / "coder_a.xlsx", "coder_a", text=CRLF_RESPONSES)
    fill(workbook, CODER_A)
    excel_strings(workbook)  # resaved by Excel: every CR as _x000D_
    assert "_x000D_\n" in zipfile.ZipFile(workbook).read("xl/sharedStrings.xml").decode()
    write(raw / "codes" / "coder_b.csv", CODER_B)
    tables = read_cohort(raw, cohort="pilot", encoding="utf-8", timepoints=TIMEPOINTS,
                         questions=CODEBOOK, id_pattern=ID_PATTERN, coding_key=KEY)
    codes = tables.codings[tables.codings["coder"] == "coder_a"]
    assert dict(zip(codes["response_id"], codes["codes"], strict=True))["R1"] == "hooked"


def test_a_text_holding_an_escape_pattern_round_trips_through_a_coding_workbook(tmp_path):
    raw = tmp_path / "raw"
    literal = CRLF_RESPONSES.replace("I stayed with her.", "I typed _x000D_ and _x0041_ by hand.")
    write(raw / "responses.csv", literal)
    workbook = make_sheet(raw / "codes" / "coder_a.xlsx", "coder_a", text=literal)
    fill(workbook, CODER_A)
    excel_strings(workbook)
    write(raw / "codes" / "coder_b.csv", CODER_B)
    tables = read_cohort(raw, cohort="pilot", encoding="utf-8", timepoints=TIMEPOINTS,
                         questions=CODEBOOK, id_pattern=ID_PATTERN, coding_key=KEY)
    assert "I typed _x000D_ and _x0041_ by hand." in tables.responses["text"].tolist()
    assert len(tables.codings[tables.codings["coder"] == "coder_a"]) == 5


# ------------------------------------------------- (B) encodings as Japanese Windows writes them

WINDOWS = "～－①髙"  # cp932 has them; shift_jis reads ～ － otherwise and refuses ① 髙
TEXT = f"沈黙に耐えられず{WINDOWS}と言い続けた。"


def japanese_export(raw: Path, name: str = "pre1.csv", encoding: str = "cp932") -> Path:
    """A form export as Excel on Japanese Windows saves it ('CSV (Comma delimited)')."""
    return write(raw / name, (f'Participant code,"{SE}"\r\nP01,{TEXT}\r\nP02,はい\r\n'
                              ).encode(encoding))


def shift_jis_warning(raw: Path, name: str, spelling: str) -> str:
    return (f"{raw}/{name}: is read as cp932 (Windows' Shift_JIS, as Excel on Japanese Windows "
            f"saves it) for `encoding: {spelling}`: cp932 reads ～, －, ① and 髙 as Windows wrote "
            "them; write `encoding: cp932` to say so")


@pytest.mark.parametrize("spelling", ["shift_jis", "sjis", "Shift-JIS", "ms932"])
def test_any_spelling_of_shift_jis_reads_cp932_with_a_warning(tmp_path, spelling):
    raw = tmp_path / "raw"
    japanese_export(raw)
    assert b"\x81`\x81|\x87@\xee\xe0" in (raw / "pre1.csv").read_bytes()  # ～－①髙 in cp932
    tables = read_survey(raw, {**ONE_EXPORT, "files": {"pre1": "pre1.csv"}}, encoding=spelling)
    assert texts(tables)["P01.pre1.session_experience"] == TEXT
    assert [str(w) for w in tables.warnings] == [shift_jis_warning(raw, "pre1.csv", spelling)]


def test_shift_jis_warns_once_per_file_of_a_cohort(tmp_path):
    raw = tmp_path / "raw"
    write(raw / "responses.csv", RESPONSES.replace("I stayed with her.", TEXT), encoding="cp932")
    write(raw / "codes" / "coder_a.csv", CODER_A, encoding="cp932")
    write(raw / "codes" / "coder_b.csv", CODER_B, encoding="cp932")
    tables = read_cohort(raw, cohort="pilot", encoding="sjis", timepoints=TIMEPOINTS,
                         questions=CODEBOOK, id_pattern=ID_PATTERN)
    assert TEXT in tables.responses["text"].tolist()
    assert sorted(str(w) for w in tables.warnings) == [
        shift_jis_warning(raw, name, "sjis")
        for name in ("codes/coder_a.csv", "codes/coder_b.csv", "responses.csv")]


def test_a_file_with_a_utf8_mark_is_read_as_utf8_whatever_the_encoding(tmp_path):
    raw = tmp_path / "raw"
    japanese_export(raw, encoding="utf-8-sig")  # Excel's 'CSV UTF-8 (Comma delimited)'
    tables = read_survey(raw, {**ONE_EXPORT, "files": {"pre1": "pre1.csv"}}, encoding="cp932")
    assert texts(tables)["P01.pre1.session_experience"] == TEXT
    assert [str(w) for w in tables.warnings] == [
        f"{raw}/pre1.csv: begins with a UTF-8 byte-order mark (Excel's 'CSV UTF-8'), so it is "
        "read as UTF-8, not as cp932"]


def test_an_export_may_have_its_own_encoding(tmp_path):
    raw = tmp_path / "raw"
    japanese_export(raw, "pre1.csv", "cp932")
    japanese_export(raw, "post.csv", "utf-8")
    survey = {"participant_column": "Participant code",
              "files": {"pre1": {"file": "pre1.csv", "encoding": "cp932"}, "post": "post.csv"},
              "questions": {"session_experience": SE}}
    tables = read_survey(raw, survey)
    found = texts(tables)
    assert found["P01.pre1.session_experience"] == found["P01.post.session_experience"] == TEXT
    assert tables.warnings == []  # cp932 as such: no warning


def test_an_exports_encoding_is_checked_with_the_config():
    files = {"pre1": {"file": "pre1.csv", "encoding": "cp-932"},
             "pre2": {"file": "pre2.xlsx", "encoding": "cp932"}}
    survey = {"participant_column": "Participant code", "files": files,
              "questions": {"session_experience": SE}}
    assert survey_config_problems("spring", survey, TIMEPOINTS, CODEBOOK) == [
        "cohorts.spring.survey.files.pre1.encoding: 'cp-932' is not an encoding Python knows; "
        "write e.g. utf-8 or cp932 (Excel on Japanese Windows)",
        "cohorts.spring.survey.files.pre2: an .xlsx workbook has no encoding to set; remove "
        "`encoding:`"]
    entry_schema = jsonschema.Draft202012Validator(
        {"$defs": load_schema("config")["$defs"], "$ref": "#/$defs/survey_file"})
    for entry in ({"file": "pre1.csv", "encoding": "cp932"}, {"file": "pre1.xlsx", "sheet": 1},
                  {"file": "pre1.xlsx", "sheet": "Sheet1"}):
        assert entry_schema.is_valid(entry), entry
    assert not entry_schema.is_valid({"file": "pre1.xlsx", "sheet": -1})


def test_an_undecodable_byte_names_offset_and_the_encodings_that_fit(tmp_path):
    raw = tmp_path / "raw"
    japanese_export(raw)
    offset = (raw / "pre1.csv").read_bytes().index(b"\x92")  # 沈 (the long header: no column named)
    assert survey_problems(raw, {**ONE_EXPORT, "files": {"pre1": "pre1.csv"}}) == [
        f"{raw}/pre1.csv: contains bytes that are not valid utf-8 text (0x92 0xbe 0x96 at byte "
        f"{offset}); the whole file decodes as cp932: if the file was saved by Excel on Japanese "
        "Windows, set `encoding: cp932` for this cohort in config/config.yaml"]
    # Excel on a Western Windows ('CSV (Comma delimited)'): cp1252, which none of them decodes
    write(raw / "pre1.csv", f'Participant code,"{SE}"\r\nP01,caf\u00e9 \u201cok\u201d\r\n'.encode("cp1252"))
    offset = (raw / "pre1.csv").read_bytes().index(0xE9)
    assert survey_problems(raw, {**ONE_EXPORT, "files": {"pre1": "pre1.csv"}}) == [
        f"{raw}/pre1.csv: contains bytes that are not valid utf-8 text (0xe9 0x20 0x93 at byte "
        f"{offset}); none of utf-8, cp932 and utf-16 decodes the whole file: save it again as "
        "'CSV UTF-8 (Comma delimited)'"]


# ------------------------------------------------------------------------ (C) hidden sheets

def stale_copy_workbook(path: Path) -> Path:
    """As a team saves it: 「Sheet1 (2)」, a copy made while cleaning the data, hidden and
    left in front of the real 「Sheet1」."""
    book = openpyxl.Workbook()
    stale = book.active
    stale.title = "Sheet1 (2)"
    for row in [["Participant code", SE], ["P01", "an old draft"], ["P09", "a test entry"]]:
        stale.append(row)
    stale.sheet_state = "hidden"
    real = book.create_sheet("Sheet1")
    for row in [["Timestamp", "Participant code", SE],
                ["2026/04/01 10:02:11", "P01", TEXT], ["2026/04/01 10:05:40", "P02", "はい"]]:
        real.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def test_a_hidden_stale_copy_is_not_read_and_the_note_names_the_sheet(tmp_path):
    raw = tmp_path / "raw"
    stale_copy_workbook(raw / "pre1.xlsx")
    assert openpyxl.load_workbook(raw / "pre1.xlsx").sheetnames == ["Sheet1 (2)", "Sheet1"]
    tables = read_survey(raw, ONE_EXPORT)
    assert texts(tables) == {"P01.pre1.session_experience": TEXT,
                             "P02.pre1.session_experience": "はい"}
    assert f"{raw}/pre1.xlsx: sheet 'Sheet1' read; hidden sheet(s) 'Sheet1 (2)' not read" in tables.notes


@pytest.mark.parametrize("sheet, expected", [("Sheet1 (2)", "an old draft"), (0, "an old draft"),
                                             (1, TEXT), ("Sheet1", TEXT)])
def test_a_named_sheet_is_read_hidden_or_not(tmp_path, sheet, expected):
    raw = tmp_path / "raw"
    stale_copy_workbook(raw / "pre1.xlsx")
    tables = read_survey(raw, {**ONE_EXPORT, "files": {"pre1": {"file": "pre1.xlsx", "sheet": sheet}}})
    assert texts(tables)["P01.pre1.session_experience"] == expected
    title = sheet if isinstance(sheet, str) else ["Sheet1 (2)", "Sheet1"][sheet]
    assert any(n.startswith(f"{raw}/pre1.xlsx: sheet {title!r} read") for n in tables.notes)


def test_a_sheet_index_past_the_last_is_refused(tmp_path):
    raw = tmp_path / "raw"
    stale_copy_workbook(raw / "pre1.xlsx")
    survey = {**ONE_EXPORT, "files": {"pre1": {"file": "pre1.xlsx", "sheet": 2}}}
    assert survey_problems(raw, survey) == [
        f"{raw}/pre1.xlsx: has no sheet 2 (`sheet:` counts from 0, hidden sheets included; its "
        "sheets: 'Sheet1 (2)', 'Sheet1'); correct the `sheet:` of this export in config/config.yaml"]


def test_a_very_hidden_sheet_is_never_read_and_a_summary_sheet_is_passed_over(tmp_path):
    raw = tmp_path / "raw"
    path = stale_copy_workbook(raw / "pre1.xlsx")
    book = openpyxl.load_workbook(path)
    book["Sheet1 (2)"].sheet_state = "veryHidden"
    book.create_sheet("集計", 1)["A1"] = "回答数"  # a visible summary sheet before the data
    book.save(path)
    tables = read_survey(raw, ONE_EXPORT)
    assert texts(tables)["P01.pre1.session_experience"] == TEXT


def test_two_visible_sheets_holding_the_columns_are_refused(tmp_path):
    raw = tmp_path / "raw"
    path = stale_copy_workbook(raw / "pre1.xlsx")
    book = openpyxl.load_workbook(path)
    book["Sheet1 (2)"].sheet_state = "visible"
    book.save(path)
    assert survey_problems(raw, ONE_EXPORT) == [
        f"{raw}/pre1.xlsx: has several visible sheets whose header holds the configured columns "
        "('Sheet1 (2)', 'Sheet1'); name the one to read with `sheet:` of this export in "
        "config/config.yaml (e.g. {file: pre1.xlsx, sheet: 'Sheet1 (2)'})"]
