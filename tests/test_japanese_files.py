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

import openpyxl
import pytest

from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.intake.problems import IntakeError
from alliance_pipeline.intake.read.xlsx import cell_text
from test_intake import CODER_A, CODER_B, write
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
