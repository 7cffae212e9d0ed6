"""A coding workbook filled through LibreOffice Calc itself (#21): Python-UNO types the ticks
into the generated workbook and stores it as .xlsx, as a coder using LibreOffice would; it
reads back equal to the same workbook filled with openpyxl (the control), and both equal
the codes of the hand-written coder CSV file.

Needs soffice (Debian libreoffice-calc-nogui) and a Python with LibreOffice's uno module
(Debian python3-uno, /usr/bin/python3); without them the test skips locally and fails in CI
(.ci/run installs both). The UNO side is tests/uno_fill.py, run by that Python: soffice is
started here, headless, listening on a named pipe, with its own profile.
"""
import json
import shutil
import subprocess
import warnings
from pathlib import Path

from openpyxl import load_workbook

from conftest import require_component
from test_intake import CODER_A, CODER_B, RESPONSES, write
from test_intake import read as read_csv_cohort
from test_workbooks import fill, make_sheet, read_wb

DEBIAN_PYTHON = "/usr/bin/python3"
SHEETS = ("session_experience", "training_feedback")


def typed_cells(blank: Path, filled: Path) -> dict[str, dict[str, str]]:
    """{sheet: {cell: text}} of the cells the openpyxl fill changed: what a coder types."""
    before, after = load_workbook(blank), load_workbook(filled)
    cells: dict[str, dict[str, str]] = {}
    for name in SHEETS:
        for old_row, new_row in zip(before[name].iter_rows(), after[name].iter_rows(), strict=True):
            for old, new in zip(old_row, new_row, strict=True):
                if old.value != new.value:
                    cells.setdefault(name, {})[new.coordinate] = str(new.value)
    return cells


def fill_with_libreoffice(soffice: str, python: str, source: Path, target: Path,
                          cells: dict, work: Path) -> None:
    """Type ``cells`` into ``source`` through LibreOffice and store it as ``target``.

    LibreOffice's Python bridge has crashed by a signal (SIGSEGV) once while the whole suite
    ran in parallel, and passed when rerun alone: a client killed by a signal is retried once
    with a fresh soffice and profile, and the retry is reported as a warning. Any other
    failure, or a second crash, fails the test."""
    cells_json = work / "cells.json"
    cells_json.write_text(json.dumps(cells), encoding="utf-8")
    for attempt in (1, 2):
        done = _fill_once(soffice, python, source, target, cells_json, work / f"office-{attempt}")
        if done.returncode >= 0 or attempt == 2:
            break
        warnings.warn(f"the Python-UNO client was killed by signal {-done.returncode} "
                      f"(stderr: {done.stderr[-500:]!r}); retried once with a fresh soffice",
                      stacklevel=2)
    assert done.returncode == 0, done.stderr[-3000:]


def _fill_once(soffice: str, python: str, source: Path, target: Path, cells_json: Path,
               work: Path) -> subprocess.CompletedProcess:
    pipe = f"alliance_uno_{abs(hash(str(work)))}"
    office = subprocess.Popen(
        [soffice, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless",
         "--invisible", "--nologo", "--norestore", "--nodefault",
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        done = subprocess.run([python, str(Path(__file__).with_name("uno_fill.py")), pipe,
                               str(source), str(target), str(cells_json)],
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            office.wait(timeout=60)  # uno_fill.py asked LibreOffice to quit
        return done
    finally:
        if office.poll() is None:  # only the soffice this test started
            office.kill()
            office.wait(timeout=30)


def test_a_workbook_filled_through_libreoffice_reads_as_the_openpyxl_filled_control(tmp_path):
    soffice = require_component("soffice", "filling a coding workbook in LibreOffice Calc",
                                "apt-get install libreoffice-calc-nogui")
    python = require_component(DEBIAN_PYTHON, "driving LibreOffice Calc through Python-UNO",
                               "apt-get install python3-uno", probe=("-c", "import uno"))
    blank = make_sheet(tmp_path / "blank/coder_a.xlsx", "coder_a")
    control, through_office = tmp_path / "control", tmp_path / "libreoffice"
    for folder in (control, through_office):
        write(folder / "responses.csv", RESPONSES)
        fill(make_sheet(folder / "codes/coder_b.xlsx", "coder_b"), CODER_B)
    shutil.copy(blank, control / "codes/coder_a.xlsx")
    fill(control / "codes/coder_a.xlsx", CODER_A)
    cells = typed_cells(blank, control / "codes/coder_a.xlsx")
    # CODER_A: R1-R4 one or two codes each (x), R5 one code of training_feedback (x), the
    # other code cells of a coded row left empty: 6 ticks typed in all
    assert sum(len(c) for c in cells.values()) == 6
    assert {v for c in cells.values() for v in c.values()} == {"x"}

    fill_with_libreoffice(soffice, python, blank, through_office / "codes/coder_a.xlsx",
                          cells, tmp_path)

    saved = load_workbook(through_office / "codes/coder_a.xlsx")
    for name, typed in cells.items():  # the typed ticks are in the cells as typed
        assert {cell: saved[name][cell].value for cell in typed} == typed
    # what LibreOffice keeps of the generated workbook: the hidden sheet, protection, drop-downs
    assert saved["_pipeline"].sheet_state == "hidden"
    assert all(saved[name].protection.sheet for name in SHEETS)
    assert all(saved[name].data_validations.dataValidation for name in SHEETS)
    assert _application(through_office / "codes/coder_a.xlsx").startswith("LibreOffice")

    expected = read_wb(control)
    got = read_wb(through_office)
    assert got.codings.equals(expected.codings)
    assert got.coder_files.equals(expected.coder_files)
    assert got.coder_files["blind"].tolist() == ["yes", "yes"]
    # and both equal the hand-written coder CSV files read by intake
    csv_folder = tmp_path / "csv"
    write(csv_folder / "responses.csv", RESPONSES)
    write(csv_folder / "codes/coder_a.csv", CODER_A)
    write(csv_folder / "codes/coder_b.csv", CODER_B)
    assert got.codings.equals(read_csv_cohort(csv_folder).codings)


def _application(path: Path) -> str:
    """The application docProps/app.xml names (LibreOffice writes ``LibreOffice/7.4...``)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as archive:
        app = archive.read("docProps/app.xml").decode("utf-8")
    found = re.search(r"<Application>([^<]*)</Application>", app)
    return found.group(1) if found else ""
