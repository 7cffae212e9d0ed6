"""Blinded coding workbooks: what a coder receives, and how the filled workbook comes back.

References are independent of the code under test: unit ids are recomputed here from the
HMAC definition (RFC 2104, checked against RFC 4231's test vector) and the Crockford
alphabet; workbooks are filled and inspected with openpyxl directly; the round trip is
compared with the codings intake reads from the equivalent CSV files; LibreOffice shows
that another spreadsheet program reads the generated files.
"""
import hashlib
import hmac
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from alliance_pipeline.coding.sheets import adjudication_workbook, coding_workbook, fill_workbook
from alliance_pipeline.common.blinding import unit_id
from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.intake.problems import IntakeError
from alliance_pipeline.intake.sources import workbooks
from conftest import pilot_copy, require_component, run_workflow, tick_workbook
from test_intake import CODEBOOK, CODER_A, CODER_B, RESPONSES, read, write

KEY = "a key the team keeps"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SE = ["hooked", "engaged_well", "anxious"]


def ref_unit_id(response_id: str, key: str = KEY) -> str:
    """U + the first 50 bits of HMAC-SHA256 written 5 bits at a time in Crockford base 32."""
    digest = hmac.new(key.encode(), response_id.encode(), hashlib.sha256).hexdigest()
    bits = bin(int(digest, 16))[2:].zfill(256)[:50]
    return "U" + "".join(CROCKFORD[int(bits[i:i + 5], 2)] for i in range(0, 50, 5))


def responses_frame(text: str = RESPONSES) -> pd.DataFrame:
    import io
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def make_sheet(path: Path, coder: str, text: str = RESPONSES, questions=CODEBOOK, cohort="pilot") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(coding_workbook(responses_frame(text), cohort=cohort, coder=coder,
                                     questions=questions, coding_key=KEY))
    return path


def fill(path: Path, csv_text: str) -> None:
    """Tick the codes of a coder CSV into a generated workbook, with openpyxl (as a coder would)."""
    codes = dict(line.split(",", 1) for line in csv_text.strip().splitlines()[1:])
    by_unit = {ref_unit_id(r): c for r, c in codes.items()}
    wb = load_workbook(path)
    for name in ("session_experience", "training_feedback"):
        ws = wb[name]
        header = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            given = by_unit[row[0].value].split(";") if row[0].value in by_unit else None
            if given is None:
                continue
            given = [g for g in given if g]
            for code in header[2:]:
                row[header.index(code)].value = "x" if code in given else None
            if not given:
                row[2].value = 0
    wb.save(path)


def cell_of(path: Path, sheet: str, unit: str, column: str) -> str:
    wb = load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == unit:
            return row[header.index(column)].coordinate
    raise KeyError(unit)


@pytest.fixture
def raw(tmp_path) -> Path:
    """The small cohort of test_intake with both coders' codes as filled workbooks."""
    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES)
    for coder, text in (("coder_a", CODER_A), ("coder_b", CODER_B)):
        fill(make_sheet(folder / "codes" / f"{coder}.xlsx", coder), text)
    return folder


def read_wb(folder, **kwargs):
    return read_cohort(folder, cohort="pilot", encoding="utf-8", timepoints=["pre1", "pre2", "post"],
                       questions=CODEBOOK, id_pattern="^[A-Za-z][A-Za-z0-9_-]{0,31}$",
                       coding_key=KEY, **kwargs)


def problems(folder) -> list[str]:
    with pytest.raises(IntakeError) as info:
        read_wb(folder)
    return [str(p) for p in info.value.problems]


# ------------------------------------------------------------------------ unit ids and order

def test_unit_id_is_the_documented_hmac_in_crockford_base32():
    # RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?") = 5bdcc146bf60754e...
    # 0x5bdcc146bf60 = 01011 01111 01110 01100 00010 10001 10101 11111 01100 0000 (by hand)
    #                -> B F E C 2 H N Z C
    assert unit_id("what do ya want for nothing?", "Jefe")[:10] == "UBFEC2HNZC"
    assert unit_id("R1", KEY) == ref_unit_id("R1")
    assert unit_id("R1", KEY) != unit_id("R1", "another key")
    assert len(unit_id("R1", KEY)) == 11 and set(unit_id("R1", KEY)[1:]) <= set(CROCKFORD)


def sheet_units(path: Path, sheet: str = "session_experience") -> list[str]:
    return [row[0] for row in load_workbook(path)[sheet].iter_rows(min_row=2, values_only=True)]


def test_unit_ids_and_order_stay_when_a_response_is_added(tmp_path):
    before = make_sheet(tmp_path / "before.xlsx", "coder_a")
    added = RESPONSES + "R6,P03,pre1,session_experience,A new participant's answer.\n"
    after = make_sheet(tmp_path / "after.xlsx", "coder_a", text=added)
    old, new = sheet_units(before), sheet_units(after)
    assert sorted(old) == sorted(ref_unit_id(r) for r in ("R1", "R2", "R3", "R4"))
    assert set(new) == set(old) | {ref_unit_id("R6")}
    assert [u for u in new if u in old] == old  # the others keep their relative order


def test_order_is_pseudo_random_per_coder_and_reruns_give_the_same_bytes(tmp_path):
    many = "response_id,participant_id,timepoint,question,text\n" + "".join(
        f"R{i:03d},P{i:03d},pre1,session_experience,Text {i}\n" for i in range(40))
    a1 = make_sheet(tmp_path / "a1.xlsx", "coder_a", text=many)
    a2 = make_sheet(tmp_path / "a2.xlsx", "coder_a", text=many)
    b = make_sheet(tmp_path / "b.xlsx", "coder_b", text=many)
    assert a1.read_bytes() == a2.read_bytes()
    in_order = [ref_unit_id(f"R{i:03d}") for i in range(40)]
    assert sheet_units(a1) != in_order and sheet_units(a1) != sheet_units(b)
    assert sorted(sheet_units(a1)) == sorted(in_order)


# ------------------------------------------------------------------------------ the layout

def test_generated_workbook_has_the_layout_locks_drop_downs_and_hidden_sheet(tmp_path):
    path = make_sheet(tmp_path / "coder_a.xlsx", "coder_a")
    wb = load_workbook(path)
    assert wb.sheetnames == ["instructions", "session_experience", "training_feedback",
                             "_pipeline", "_choices"]
    assert wb["_pipeline"].sheet_state == "hidden" and wb["_choices"].sheet_state == "hidden"
    ws = wb["session_experience"]
    assert [c.value for c in ws[1]] == ["unit_id", "text", *SE]
    assert ws["C1"].comment.text.startswith("Hooked")
    assert ws.max_row == 5  # header + R1-R4, no participant or time point anywhere
    values = {str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None}
    assert not values & {"R1", "R2", "P01", "P02", "pre1", "pre2"}
    assert ws.protection.sheet and ws.protection.password is None
    assert ws["A2"].protection.locked and ws["B5"].protection.locked
    assert not ws["C2"].protection.locked and not ws["E5"].protection.locked
    (dv,) = ws.data_validations.dataValidation
    assert (dv.type, dv.formula1, str(dv.sqref), dv.showErrorMessage) == ("list", '"1,x,0"', "C2:E5", True)
    meta = {r[0]: r[1] for r in wb["_pipeline"].iter_rows(values_only=True) if r[0]}
    assert (meta["kind"], meta["cohort"], meta["coder"], meta["questions"]) == (
        "coding", "pilot", "coder_a", "session_experience;training_feedback")
    expected = sorted(f"{ref_unit_id(r)}\t{q}\t{hashlib.sha256(t.encode()).hexdigest()[:16]}"
                      for r, q, t in responses_frame()[["response_id", "question", "text"]].values)
    assert meta["responses_fingerprint"] == hashlib.sha256("\n".join(expected).encode()).hexdigest()
    instructions = " ".join(str(v) for r in wb["instructions"].iter_rows(values_only=True) for v in r if v)
    assert "Being caught up" not in instructions and "caught up by the client's emotion" in instructions


def test_a_single_label_question_gets_one_code_column_with_a_drop_down_of_labels(tmp_path):
    single = {"session_experience": {**CODEBOOK["session_experience"], "multi_label": False}}
    path = make_sheet(tmp_path / "coder_a.xlsx", "coder_a",
                      text=RESPONSES.replace("R5,P01,post,training_feedback,I pause before I answer.\n", ""),
                      questions=single)
    wb = load_workbook(path)
    ws = wb["session_experience"]
    assert [c.value for c in ws[1]] == ["unit_id", "text", "code"]
    (dv,) = ws.data_validations.dataValidation
    assert (dv.type, dv.formula1, str(dv.sqref)) == ("list", "'_choices'!$A$1:$A$4", "C2:C5")
    assert [r[0] for r in wb["_choices"].iter_rows(values_only=True)] == [
        "Hooked", "Engaged well", "Anxious", "0"]
    for row, value in zip(ws.iter_rows(min_row=2), ("Anxious", "engaged_well", "0", None), strict=True):
        row[2].value = value
    wb.save(path)
    frame, found = workbooks.read_workbook(path, kind="coding", cohort="pilot", coder="coder_a",
                                           responses=responses_frame(), questions=single,
                                           coding_key=KEY)
    assert found == []
    assert frame["codes"].tolist() == ["anxious", "engaged_well", ""]


# ------------------------------------------------------------------------------ round trip

def test_filled_workbooks_give_the_same_codings_as_the_equivalent_csv_files(raw, tmp_path):
    csv_folder = tmp_path / "csv"
    write(csv_folder / "responses.csv", RESPONSES)
    write(csv_folder / "codes/coder_a.csv", CODER_A)
    write(csv_folder / "codes/coder_b.csv", CODER_B)
    from_csv, from_xlsx = read(csv_folder), read_wb(raw)
    pd.testing.assert_frame_equal(from_xlsx.codings, from_csv.codings)
    pd.testing.assert_frame_equal(from_xlsx.coverage, from_csv.coverage)
    assert from_xlsx.coder_files.to_dict("records") == [
        {"coder": "coder_a", "file": "coder_a.xlsx", "blind": "yes"},
        {"coder": "coder_b", "file": "coder_b.xlsx", "blind": "yes"}]
    assert from_csv.coder_files["blind"].tolist() == ["no", "no"]


def test_fill_workbook_for_the_generator_ticks_what_the_csv_says(tmp_path):
    path = make_sheet(tmp_path / "coder_a.xlsx", "coder_a")
    codes = responses_frame(CODER_A)
    filled = tmp_path / "filled.xlsx"
    filled.write_bytes(fill_workbook(path, codes, questions=CODEBOOK, coding_key=KEY))
    ws = load_workbook(filled)["session_experience"]
    ticks = {row[0]: [c for c, v in zip(SE, row[2:], strict=True) if v == 1]
             for row in ws.iter_rows(min_row=2, values_only=True)}
    assert ticks == {ref_unit_id("R1"): ["hooked"], ref_unit_id("R2"): ["engaged_well"],
                     ref_unit_id("R3"): ["hooked", "anxious"], ref_unit_id("R4"): ["engaged_well"]}


def test_blank_rows_are_not_coded_and_zero_means_no_code_applies(raw):
    path = raw / "codes/coder_b.xlsx"
    wb = load_workbook(path)
    ws = wb["session_experience"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == ref_unit_id("R2"):
            for cell in row[2:]:
                cell.value = None
        if row[0].value == ref_unit_id("R4"):
            row[2].value, row[3].value, row[4].value = None, 0, None
    wb.save(path)
    tables = read_wb(raw)
    assert tables.coverage.to_dict("records")[1] == {
        "coder": "coder_b", "n_coded": 4, "n_missing": 1, "missing": "R2"}
    codes = tables.codings.query("coder == 'coder_b'").set_index("response_id")["codes"]
    assert codes["R4"] == ""


def test_an_adjudication_workbook_reads_as_adjudication_csv_does(tmp_path):
    folder = tmp_path / "raw"
    write(folder / "responses.csv", RESPONSES)
    write(folder / "codes/coder_a.csv", CODER_A)
    write(folder / "codes/coder_b.csv", CODER_B)
    tables = read(folder)
    from alliance_pipeline.coding.consensus import disagreements
    sheet = disagreements(tables.responses, tables.codings, None, ["coder_a", "coder_b"])
    path = folder / "adjudication.xlsx"
    path.write_bytes(adjudication_workbook(tables.responses, sheet, cohort="pilot",
                                           questions=CODEBOOK, coding_key=KEY))
    wb = load_workbook(path)
    ws = wb["session_experience"]
    assert [c.value for c in ws[1]] == ["unit_id", "text", "coder_coder_a", "coder_coder_b", *SE,
                                        "rationale"]
    assert ws.max_row == 2 and ws["A2"].value == ref_unit_id("R3")
    assert (ws["C2"].value, ws["D2"].value) == ("hooked;anxious", "hooked")  # as intake normalised
    assert ws["C2"].protection.locked and not ws["E2"].protection.locked and not ws["H2"].protection.locked
    ws["E2"], ws["G2"], ws["H2"] = "x", "x", "Meeting: anxious applies; coder_b agreed."
    wb.save(path)
    adjudication = read_wb(folder).adjudication
    assert adjudication.to_dict("records") == [
        {"response_id": "R3", "codes": "hooked;anxious",
         "rationale": "Meeting: anxious applies; coder_b agreed."}]


# -------------------------------------------------------------------- refusals, exact messages

def test_a_sheet_sorted_by_one_column_only(raw):
    path = raw / "codes/coder_a.xlsx"
    wb = load_workbook(path)
    ws = wb["session_experience"]
    texts = sorted(row[1].value for row in ws.iter_rows(min_row=2))
    for row, text in zip(ws.iter_rows(min_row=2), texts, strict=True):
        row[1].value = text
    first = ws["A2"].value
    wb.save(path)
    by_text = dict(zip(responses_frame()["text"], responses_frame()["response_id"], strict=True))
    found = problems(raw)
    assert found[0] == (
        f"{path}, sheet session_experience, cell B2: {texts[0]!r} is the text of unit "
        f"{ref_unit_id(by_text[texts[0]])}, not of unit {first} in the same row: the sheet was "
        "sorted by one column only, which moved texts away from their unit ids and codes; undo "
        "the sort (or start again from the generated workbook) and sort only whole rows")


def test_a_workbook_of_the_wrong_coder(raw):
    shutil.copy(raw / "codes/coder_b.xlsx", raw / "codes/coder_a.xlsx")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.xlsx, sheet _pipeline, cell B5: 'coder_b' this workbook was made "
        "for coder 'coder_b', not 'coder_a' (the file name); if it holds coder_b's codes save "
        "it as codes/coder_b.xlsx, otherwise put coder_a's own workbook here"]


def test_a_workbook_of_another_cohort(raw):
    make_sheet(raw / "codes/coder_a.xlsx", "coder_a", cohort="spring_2027")
    assert problems(raw) == [
        f"{raw}/codes/coder_a.xlsx, sheet _pipeline, cell B4: 'spring_2027' this workbook was "
        "made for cohort 'spring_2027', not 'pilot'; put it in that cohort's raw folder, or use "
        "data/derived/pilot/..."]


def test_an_unknown_tick(raw):
    path = raw / "codes/coder_a.xlsx"
    cell = cell_of(path, "session_experience", ref_unit_id("R2"), "anxious")
    wb = load_workbook(path)
    wb["session_experience"][cell] = "y"
    wb.save(path)
    assert problems(raw) == [
        f"{path}, sheet session_experience, cell {cell}: 'y' is not a tick for code anxious: "
        "write 1 or x where the code applies, 0 or nothing where it does not"]


def test_a_formula_without_a_saved_value(raw):
    path = raw / "codes/coder_a.xlsx"
    cell = cell_of(path, "training_feedback", ref_unit_id("R5"), "no_change")
    wb = load_workbook(path)
    wb["training_feedback"][cell] = "=IF(1>0,\"x\",\"\")"  # openpyxl saves no value for it
    wb.save(path)
    assert problems(raw) == [
        f"{path}, sheet training_feedback, cell {cell}: '=IF(1>0,\"x\",\"\")' is a formula "
        "without a saved value; open the workbook in Excel or LibreOffice and save it again "
        "(that stores the values), or type the value"]


def test_an_unknown_unit_id(raw):
    path = raw / "codes/coder_a.xlsx"
    wb = load_workbook(path)
    wb["session_experience"]["A3"] = "U0000000000"
    wb.save(path)
    assert problems(raw) == [
        f"{path}, sheet session_experience, cell A3: 'U0000000000' is not a unit id of this "
        "workbook; restore the unit id of the generated workbook, or delete the row"]


def test_responses_changed_since_the_workbook_was_made(raw):
    text = (raw / "responses.csv").read_text().replace("I stayed with her.", "I stayed with her!")
    write(raw / "responses.csv", text)
    assert problems(raw)[0] == (
        f"{raw}/codes/coder_a.xlsx, sheet _pipeline: was made from responses that have since "
        "changed (text changed: R4); make new coding sheets (snakemake coding_sheets) and have "
        "the coder code these responses again")


@pytest.mark.parametrize("name, content, message", [
    ("coder_a.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
     "is an Excel 97-2003 workbook (.xls), which is not read; save it as .xlsx (File > Save As "
     "> Excel Workbook) named coder_a.xlsx"),
    ("coder_a.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
     "is password-protected (encrypted) or an old-format .xls file renamed to .xlsx; remove the "
     "password (File > Info > Protect Workbook) and save it as .xlsx (File > Save As > Excel "
     "Workbook)"),
])
def test_xls_and_encrypted_files_are_refused(raw, name, content, message):
    (raw / "codes/coder_a.xlsx").unlink()
    write(raw / "codes" / name, content)
    write(raw / "codes/coder_c.csv", CODER_A)
    assert problems(raw) == [f"{raw}/codes/{name}: {message}"]


def test_a_coder_with_both_a_csv_and_a_workbook(raw):
    write(raw / "codes/coder_a.csv", CODER_A)
    assert problems(raw) == [
        f"{raw}/codes/coder_a.xlsx: and coder_a.csv are both present, so coder coder_a would "
        "be read twice; keep one of them (move the other out of codes/)"]


# --------------------------------------------------------------------- other programs, workflow

def test_libreoffice_reads_the_generated_workbook(tmp_path):
    soffice = require_component("soffice", "converting a coding workbook with LibreOffice",
                                "apt-get install libreoffice-calc-nogui")
    path = make_sheet(tmp_path / "coder_a.xlsx", "coder_a")
    every_sheet = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", every_sheet, "--outdir", str(tmp_path / "out"), str(path)],
                   check=True, capture_output=True, timeout=180)
    rows = pd.read_csv(tmp_path / "out/coder_a-session_experience.csv", dtype=str,
                       keep_default_na=False)
    assert rows.columns.tolist() == ["unit_id", "text", *SE]
    expected = responses_frame().query("question == 'session_experience'")
    assert sorted(zip(rows["unit_id"], rows["text"], strict=True)) == sorted(
        (ref_unit_id(r), t) for r, t in zip(expected["response_id"], expected["text"], strict=True))


def test_a_workbook_saved_again_by_libreoffice_is_read(raw, tmp_path):
    soffice = require_component("soffice", "saving a filled coding workbook with LibreOffice",
                                "apt-get install libreoffice-calc-nogui")
    path = raw / "codes/coder_a.xlsx"
    cell = cell_of(path, "training_feedback", ref_unit_id("R5"), "no_change")
    wb = load_workbook(path)
    wb["training_feedback"][cell] = '=IF(1>0,"x","")'  # LibreOffice saves its value, x
    wb.save(path)
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "out"),
                    str(path)], check=True, capture_output=True, timeout=180)
    shutil.copy(tmp_path / "out/coder_a.xlsx", path)
    codes = read_wb(raw).codings.query("coder == 'coder_a'")
    assert dict(zip(codes["response_id"], codes["codes"], strict=True)) == {
        "R1": "hooked", "R2": "engaged_well", "R3": "hooked;anxious", "R4": "engaged_well",
        "R5": "mindful_pause;no_change"}  # the formula's saved value counts


def test_snakemake_coding_sheets_works_before_any_code_file_exists(tmp_path):
    pilot_copy(tmp_path)
    shutil.rmtree(tmp_path / "data/raw/pilot/codes")
    (tmp_path / "data/raw/pilot/adjudication.csv").unlink()
    config = tmp_path / "config/config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("    synthetic: true", "    synthetic: true\n    coders: [coder_a, coder_b]\n"
                                   f"    coding_key: \"{KEY}\"", 1), encoding="utf-8")
    result = run_workflow(tmp_path, "coding_sheets")
    assert result.returncode == 0, result.stderr[-3000:]
    sheets = tmp_path / "data/derived/pilot/coding_sheets"
    assert sorted(p.name for p in sheets.iterdir()) == ["coder_a.xlsx", "coder_b.xlsx"]
    responses = pd.read_csv(tmp_path / "data/raw/pilot/responses.csv", dtype=str, keep_default_na=False)
    units = [u for name in ("session_experience", "training_feedback")
             for u in sheet_units(sheets / "coder_a.xlsx", name)]
    assert sorted(units) == sorted(ref_unit_id(r) for r in responses["response_id"])


# ------------------------------------------------------------------ what the report says

def test_the_report_says_coders_were_blind_only_when_every_coder_file_is_a_blind_workbook():
    from alliance_pipeline.report import cohort_report as report
    from alliance_pipeline.report.sections.coding import reliability_md
    from alliance_pipeline.report.sections.limitations import limitations
    from test_report import cohort_settings, study_settings, tables
    blind = pd.DataFrame({"coder": ["coder_a", "coder_b"], "file": ["coder_a.xlsx", "coder_b.xlsx"],
                          "blind": ["yes", "yes"]})
    mixed = blind.assign(file=["coder_a.xlsx", "coder_b.csv"], blind=["yes", "no"])
    assert report.coded_blind(blind) and not report.coded_blind(mixed)
    assert not report.coded_blind(blind.iloc[:0])
    sentence = ("Coders coded blind to participant and time point, in a randomised order: each "
                "coded a workbook the pipeline generated, in which a response is known only by "
                "an opaque unit id.")
    for coders_blind in (True, False):
        cohort = {**cohort_settings(), "coders_blind": coders_blind}
        items = dict(limitations(tables(), study=study_settings(), cohort=cohort))
        text = reliability_md(tables(), study=study_settings(), cohort=cohort)
        assert ("coders_not_blind" in items) is not coders_blind
        assert (sentence in text) is coders_blind


def test_the_coding_key_is_withheld_from_the_reports_config():
    from alliance_pipeline.common.provenance import config_yaml
    config = {"cohorts": {"a": {"raw": "data/raw/a", "coding_key": KEY}, "b": {"raw": "data/raw/b"}}}
    shown = config_yaml(config)
    assert KEY not in shown
    assert "coding_key: '(withheld: it keeps the coding blind)'" in shown
    assert config["cohorts"]["a"]["coding_key"] == KEY  # the config itself is not changed


def test_adjudication_csv_and_workbook_together_and_a_workbook_without_coding_key(raw):
    write(raw / "adjudication.csv", "response_id,codes,rationale\n")
    (raw / "adjudication.xlsx").write_bytes(b"PK\x03\x04")
    assert problems(raw) == [f"{raw}/adjudication.xlsx: and adjudication.csv are both present; "
                             "keep one of them (move the other out of the cohort's folder)"]
    (raw / "adjudication.xlsx").unlink()
    with pytest.raises(IntakeError) as info:
        read(raw)  # no coding_key
    assert [str(p) for p in info.value.problems] == [
        f"{raw}/codes/{c}.xlsx: is a workbook, but cohort pilot has no coding_key to map its "
        "unit ids back to responses; set `coding_key:` for the cohort in config/config.yaml "
        "(the key the coding sheets were made with)" for c in ("coder_a", "coder_b")]


def fill_adjudication(path: Path, csv_path: Path) -> None:
    """Agreed codes and rationales of adjudication.csv ticked into the adjudication workbook."""
    rows = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    tick_workbook(path, {ref_unit_id(r): (c, why) for r, c, why in rows[["response_id", "codes", "rationale"]].values})


def test_the_pilot_coded_in_workbooks_gives_the_pilots_tables_through_the_workflow(tmp_path):
    tables = [f"data/derived/pilot/{t}.csv" for t in ("final_codes", "proportions", "tests")]
    by_csv = pilot_copy(tmp_path / "csv")
    result = run_workflow(by_csv, *tables)
    assert result.returncode == 0, result.stderr[-3000:]

    root = pilot_copy(tmp_path / "xlsx")
    raw = root / "data/raw/pilot"
    config = root / "config/config.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "    synthetic: true", f"    synthetic: true\n    coders: [coder_a, coder_b]\n"
        f"    coding_key: \"{KEY}\"", 1), encoding="utf-8")
    aside = tmp_path / "aside"
    shutil.move(raw / "codes", aside / "codes")
    shutil.move(raw / "adjudication.csv", aside / "adjudication.csv")
    result = run_workflow(root, "coding_sheets")
    assert result.returncode == 0, result.stderr[-3000:]
    for coder in ("coder_a", "coder_b"):
        target = raw / "codes" / f"{coder}.xlsx"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / f"data/derived/pilot/coding_sheets/{coder}.xlsx", target)
        fill(target, (aside / "codes" / f"{coder}.csv").read_text(encoding="utf-8"))
    result = run_workflow(root, "data/derived/pilot/adjudication_sheet.xlsx")
    assert result.returncode == 0, result.stderr[-3000:]
    shutil.copy(root / "data/derived/pilot/adjudication_sheet.xlsx", raw / "adjudication.xlsx")
    fill_adjudication(raw / "adjudication.xlsx", aside / "adjudication.csv")
    result = run_workflow(root, *tables, "data/derived/pilot/coder_files.csv")
    assert result.returncode == 0, result.stderr[-3000:]
    for table in tables + ["data/derived/pilot/adjudication.csv", "data/derived/pilot/codings.csv"]:
        assert (root / table).read_bytes() == (by_csv / table).read_bytes(), table
    assert (root / "data/derived/pilot/coder_files.csv").read_text() == (
        "coder,file,blind\ncoder_a,coder_a.xlsx,yes\ncoder_b,coder_b.xlsx,yes\n")


def test_a_sheet_sorted_by_whole_rows_reads_the_same(raw):
    before = read_wb(raw).codings
    path = raw / "codes/coder_a.xlsx"
    wb = load_workbook(path)
    ws = wb["session_experience"]
    rows = sorted(([c.value for c in row] for row in ws.iter_rows(min_row=2)), key=lambda r: r[1])
    for cells, values in zip(ws.iter_rows(min_row=2), rows, strict=True):
        for cell, value in zip(cells, values, strict=True):
            cell.value = value
    wb.save(path)
    pd.testing.assert_frame_equal(read_wb(raw).codings, before)


def test_texts_that_look_like_formulas_or_hold_line_breaks_stay_text(tmp_path):
    odd = RESPONSES.replace("I stayed with her.", "=HYPERLINK(\"x\") -- +1").replace(
        "I was tense and kept apologising.", "\"Line one\r\nline two\"")
    folder = tmp_path / "raw"
    write(folder / "responses.csv", odd)
    for coder, text in (("coder_a", CODER_A), ("coder_b", CODER_B)):
        fill(make_sheet(folder / "codes" / f"{coder}.xlsx", coder, text=odd), text)
    ws = load_workbook(folder / "codes/coder_a.xlsx")["session_experience"]
    cells = {row[0].value: row[1] for row in ws.iter_rows(min_row=2)}
    assert cells[ref_unit_id("R4")].data_type == "s"
    assert cells[ref_unit_id("R4")].value == "=HYPERLINK(\"x\") -- +1"
    codes = read_wb(folder).codings.query("coder == 'coder_a'")
    assert dict(zip(codes["response_id"], codes["codes"], strict=True))["R3"] == "hooked;anxious"


def test_a_label_outside_the_drop_down_of_a_single_label_question(tmp_path):
    single = {"session_experience": {**CODEBOOK["session_experience"], "multi_label": False}}
    text = RESPONSES.replace("R5,P01,post,training_feedback,I pause before I answer.\n", "")
    path = make_sheet(tmp_path / "coder_a.xlsx", "coder_a", text=text, questions=single)
    wb = load_workbook(path)
    wb["session_experience"]["C3"] = "Hooked!"
    wb.save(path)
    frame, found = workbooks.read_workbook(path, kind="coding", cohort="pilot", coder="coder_a",
                                           responses=responses_frame(text), questions=single,
                                           coding_key=KEY)
    assert frame is None and [str(p) for p in found] == [
        f"{path}, sheet session_experience, cell C3: 'Hooked!' is not a code of question "
        "session_experience: choose one from the drop-down (Hooked, Engaged well, Anxious, 0) "
        "or write a code id (hooked, engaged_well, anxious)"]
