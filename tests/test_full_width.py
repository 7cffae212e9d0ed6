"""Full-width characters typed in Japanese input mode (#21): participant ids, codes and ticks
are read after Unicode NFKC normalisation, each change listed as a warning; response texts
are never normalised; a value still refused names its characters.

Expected values are written out by hand: NFKC maps U+FF01..U+FF5E to U+0021..U+007E
(Unicode Standard, chapter 18.5 "Halfwidth and Fullwidth Forms"), so ``Ｐ０２`` is ``P02``,
``１`` is ``1``, ``ｘ`` is ``x``; the character names are those of the Unicode Character
Database (U+FF11 FULLWIDTH DIGIT ONE, U+0420 CYRILLIC CAPITAL LETTER ER).
"""
from pathlib import Path

import pytest
from openpyxl import load_workbook

from alliance_pipeline.intake.cohort import CohortTables, read_cohort
from alliance_pipeline.intake.problems import IntakeError
from test_intake import (
    ADJUDICATION,
    CODEBOOK,
    CODER_A,
    CODER_B,
    ID_PATTERN,
    RESPONSES,
    TIMEPOINTS,
    write,
)
from test_survey import POST, PRE1, PRE2, SURVEY, write_xlsx
from test_workbooks import KEY, cell_of, fill, make_sheet, ref_unit_id

NFKC = "full-width or compatibility characters normalised (Unicode NFKC)"
SILENCE = "type it in half-width (ASCII) to silence this warning"


def read(folder: Path, survey: dict | None = None, **kwargs) -> CohortTables:
    return read_cohort(folder, cohort="pilot", encoding="utf-8", timepoints=TIMEPOINTS,
                       questions=CODEBOOK, id_pattern=ID_PATTERN, survey=survey,
                       coding_key=KEY, require_coders=survey is None, **kwargs)


def problems(folder: Path, survey: dict | None = None) -> list[str]:
    with pytest.raises(IntakeError) as info:
        read(folder, survey)
    return [str(p) for p in info.value.problems]


def warnings(tables: dict) -> list[str]:
    return [str(w) for w in tables.warnings]


@pytest.fixture
def raw(tmp_path) -> Path:
    folder = tmp_path / "raw"
    write(folder / "codes/coder_a.csv", CODER_A)
    write(folder / "codes/coder_b.csv", CODER_B)
    write(folder / "adjudication.csv", ADJUDICATION)
    return folder


# ------------------------------------------------------------------ responses.csv

def test_full_width_participant_ids_are_read_as_ascii_with_a_warning(raw):
    text = (RESPONSES.replace("R2,P02,", "R2,Ｐ０２,").replace("R4,P02,", "R4,Ｐ０２,")
            .replace("I stayed with her.", "ＯＫと言って、そばにいた。"))  # a text stays as typed
    write(raw / "responses.csv", text)
    tables = read(raw)
    responses = tables.responses.set_index("response_id")
    assert responses.loc[["R2", "R4"], "participant_id"].tolist() == ["P02", "P02"]
    assert responses.loc["R4", "text"] == "ＯＫと言って、そばにいた。"
    assert warnings(tables) == [
        f"{raw}/responses.csv, row 3, column participant_id: 'Ｐ０２' is read as 'P02': {NFKC}; "
        f"2 cells hold it; {SILENCE}"]


@pytest.mark.parametrize("typed, why", [
    ("１２３４５", "looks like a student or staff number (digits only) and does not match the "
                f"pseudonym pattern {ID_PATTERN}; replace it with a pseudonym such as P01 (typed in "
                "full width: full-width digit ONE, U+FF11, read as '1'; full-width digit TWO, "
                "U+FF12, read as '2'; full-width digit THREE, U+FF13, read as '3')"),
    ("Ｐ０２＃", f"does not match the pseudonym pattern {ID_PATTERN}; use a pseudonym such as P01, "
              "or change privacy.participant_id_pattern in config/config.yaml (typed in full "
              "width: full-width number sign, U+FF03, read as '#'; full-width Latin capital "
              "letter P, U+FF30, read as 'P'; full-width digit ZERO, U+FF10, read as '0')"),
    ("\u042002", f"does not match the pseudonym pattern {ID_PATTERN}; use a pseudonym such as P01, "
                 "or change privacy.participant_id_pattern in config/config.yaml (it contains "
                 "Cyrillic capital letter ER, U+0420, not an ASCII character: a look-alike "
                 "letter of another alphabet? retype it in half-width ASCII)"),
])
def test_a_participant_id_still_refused_names_its_characters(raw, typed, why):
    write(raw / "responses.csv", RESPONSES.replace("R2,P02,", f"R2,{typed},"))
    assert problems(raw) == [f"{raw}/responses.csv, row 3, column participant_id: {typed!r} {why}"]


# ------------------------------------------------------------------ coders' CSV files

def test_full_width_codes_in_a_coder_file_are_read_with_a_warning(raw):
    write(raw / "responses.csv", RESPONSES)
    write(raw / "codes/coder_b.csv", CODER_B.replace("R3,hooked", "R3,ｈｏｏｋｅｄ"))
    tables = read(raw)
    codes = tables.codings.query("coder == 'coder_b'").set_index("response_id")["codes"]
    assert codes["R3"] == "hooked"
    assert warnings(tables) == [
        f"{raw}/codes/coder_b.csv, row 4, column codes: 'ｈｏｏｋｅｄ' is read as 'hooked': "
        f"{NFKC}; {SILENCE}"]


def test_a_code_still_refused_is_shown_as_typed_with_its_characters(raw):
    write(raw / "responses.csv", RESPONSES)
    write(raw / "codes/coder_b.csv", CODER_B.replace("R3,hooked", "R3,ｈｏｏｋｅ"))
    assert problems(raw) == [
        f"{raw}/codes/coder_b.csv, row 4, column codes: 'ｈｏｏｋｅ' is not a code of question "
        "session_experience (hooked, engaged_well, anxious) (did you mean 'hooked'?) (typed in full width: full-width Latin small letter H, U+FF48, read as 'h'; full-width "
        "Latin small letter O, U+FF4F, read as 'o'; full-width Latin small letter K, U+FF4B, "
        "read as 'k')"]


# ------------------------------------------------------------------ survey exports

def test_a_full_width_participant_code_in_a_survey_export(tmp_path):
    folder = tmp_path / "raw"
    rows = [PRE1[0], [*PRE1[1][:2], "Ｐ０１", *PRE1[1][3:]], PRE1[2]]
    write_xlsx(folder / "pre1.xlsx", rows)
    write(folder / "pre2.csv", PRE2.replace(",P01,", ",Ｐ０１,"))
    write(folder / "post.csv", POST)
    tables = read(folder, SURVEY)
    assert tables.responses["participant_id"].tolist().count("P01") == 4
    assert "P01.pre2.session_experience" in set(tables.responses["response_id"])
    assert warnings(tables) == [
        f"{folder}/pre1.xlsx, sheet Form Responses 1, cell C2, column Participant code: 'Ｐ０１' "
        f"is read as 'P01': {NFKC}; {SILENCE}",
        f"{folder}/pre2.csv, row 2, column Participant code: 'Ｐ０１' is read as 'P01': {NFKC}; "
        f"{SILENCE}"]


# ------------------------------------------------------------------ coding workbooks

@pytest.fixture
def books(raw) -> Path:
    write(raw / "responses.csv", RESPONSES)
    for coder, text in (("coder_a", CODER_A), ("coder_b", CODER_B)):
        (raw / f"codes/{coder}.csv").unlink()
        fill(make_sheet(raw / "codes" / f"{coder}.xlsx", coder), text)
    return raw


def set_cell(path: Path, sheet: str, cell: str, value) -> None:
    book = load_workbook(path)
    book[sheet][cell] = value
    book.save(path)


def test_full_width_ticks_are_ticks_with_a_warning(books):
    control = read(books).codings
    path = books / "codes/coder_a.xlsx"
    hooked = cell_of(path, "session_experience", ref_unit_id("R1"), "hooked")
    anxious = cell_of(path, "session_experience", ref_unit_id("R3"), "anxious")
    set_cell(path, "session_experience", hooked, "１")
    set_cell(path, "session_experience", anxious, "ｘ")
    tables = read(books)
    assert tables.codings.equals(control)
    assert sorted(warnings(tables)) == [  # in the sheet's (pseudo-random) row order
        f"{path}, sheet session_experience, cell {hooked}, column hooked: '１' is read as '1': "
        f"{NFKC}; {SILENCE}",
        f"{path}, sheet session_experience, cell {anxious}, column anxious: 'ｘ' is read as 'x': "
        f"{NFKC}; {SILENCE}"]


def test_a_tick_still_refused_names_the_character(books):
    path = books / "codes/coder_a.xlsx"
    anxious = cell_of(path, "session_experience", ref_unit_id("R2"), "anxious")
    set_cell(path, "session_experience", anxious, "２")
    assert problems(books) == [
        f"{path}, sheet session_experience, cell {anxious}: '２' is not a tick for code anxious: "
        "write 1 or x where the code applies, 0 or nothing where it does not (typed in full "
        "width: full-width digit TWO, U+FF12, read as '2')"]


@pytest.mark.parametrize("char, named", [
    ("１", "full-width digit ONE, U+FF11"),             # UCD: FULLWIDTH DIGIT ONE
    ("ｘ", "full-width Latin small letter X, U+FF58"),  # UCD: FULLWIDTH LATIN SMALL LETTER X
    ("\u0420", "Cyrillic capital letter ER, U+0420"),
    ("\u3000", "ideographic space, U+3000"),
    ("\u200b", "zero width space, U+200B"),
    ("\x07", "a control character, U+0007")])
def test_characters_are_named_from_the_unicode_database(char, named):
    from alliance_pipeline.intake.checks.characters import describe

    assert describe(char) == named


def test_a_full_width_label_or_code_id_of_a_single_label_question(tmp_path):
    from alliance_pipeline.intake.problems import Findings
    from alliance_pipeline.intake.sources import workbooks
    from test_workbooks import responses_frame

    single = {"session_experience": {**CODEBOOK["session_experience"], "multi_label": False}}
    text = RESPONSES.replace("R5,P01,post,training_feedback,I pause before I answer.\n", "")
    path = make_sheet(tmp_path / "coder_a.xlsx", "coder_a", text=text, questions=single)
    book = load_workbook(path)
    book["session_experience"]["C2"] = "Ｅｎｇａｇｅｄ ｗｅｌｌ"  # the label, typed in full width
    book["session_experience"]["C3"] = "ａｎｘｉｏｕｓ"         # a code id, typed in full width
    book["session_experience"]["C4"] = "Ｈｏｏｋｅｄ！"
    book.save(path)
    found = Findings()
    frame, problems_found = workbooks.read_workbook(
        path, kind="coding", cohort="pilot", coder="coder_a", responses=responses_frame(text),
        questions=single, coding_key=KEY, findings=found)
    assert frame is None and [str(p) for p in problems_found] == [
        f"{path}, sheet session_experience, cell C4: 'Ｈｏｏｋｅｄ！' is not a code of question "
        "session_experience: choose one from the drop-down (Hooked, Engaged well, Anxious, 0) "
        "or write a code id (hooked, engaged_well, anxious) (typed in full width: full-width "
        "exclamation mark, U+FF01, read as '!'; full-width Latin capital letter H, U+FF28, read "
        "as 'H'; full-width Latin small letter O, U+FF4F, read as 'o')"]
    book["session_experience"]["C4"] = None
    book.save(path)
    frame, problems_found = workbooks.read_workbook(
        path, kind="coding", cohort="pilot", coder="coder_a", responses=responses_frame(text),
        questions=single, coding_key=KEY, findings=found)
    assert problems_found == []
    units = dict(zip(frame["cell"], frame["codes"], strict=True))
    assert (units["A2"], units["A3"]) == ("engaged_well", "anxious")
