"""Seeded mutation fuzzer over every raw input the pipeline reads (issue 11).

Each case copies a baseline study (config/ and a cohort's raw folder), applies one seeded
mutation to one input, runs the pipeline's own steps in a forked child (the config checks the
Snakefile runs, then intake and consensus exactly as scripts/intake.py and
scripts/consensus.py call them) and classifies the outcome:

  identical   the derived tables equal the baseline's
  changed     they differ, and equal an independent reading of the mutated raw files
              (:func:`reference`): the change is the one the mutation made
  refused     a non-zero outcome with a located message (IntakeError naming the mutated file,
              ConfigError, or unresolved disagreements the reference also finds)
  warned      changed, and a warning of intake names the mutated file
and, all failures:
  unexpected  changed otherwise, or refused by a mutation that must change nothing, or a
              refusal that names neither the mutated file nor anything related
  traceback   any other exception
  hang        no answer within the time limit (the child is killed)
  raw-written a raw or config file's bytes differ after the run
  half-written a temporary or partial file left in the derived folder

Every case is one seed: ``python tests/fuzz/fuzzer.py --seed N`` (``make fuzz SEED=N``)
reruns it and prints the mutation, the outcome and the message. Adding an input kind is one
entry of :data:`KINDS` (which files, which mutations); adding a baseline (another example
study) is one entry of :data:`BASELINES`.
"""
from __future__ import annotations

import argparse
import codecs
import csv
import hashlib
import io
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "src"))

# imported once here, so that each forked case starts with the package loaded
from alliance_pipeline.coding.consensus import final_codes  # noqa: E402
from alliance_pipeline.coding.majority import UnresolvedDisagreements  # noqa: E402
from alliance_pipeline.common.tables import write_table  # noqa: E402
from alliance_pipeline.config import load as study_config  # noqa: E402
from alliance_pipeline.config.load import ConfigError  # noqa: E402
from alliance_pipeline.config.settings import coding_settings, cohort_settings, study_settings  # noqa: E402
from alliance_pipeline.intake.cohort import read_cohort  # noqa: E402
from alliance_pipeline.intake.problems import IntakeError  # noqa: E402

FAILURES = ("unexpected", "traceback", "hang", "raw-written", "half-written")
MESSAGE_LIMIT = 2000  # characters per listed problem: no file dumped into a message


# --- baselines -----------------------------------------------------------------------------

def build_pilot(dest: Path) -> str:
    """The shipped pilot study; returns the cohort name."""
    shutil.copytree(REPO / "config", dest / "config")
    shutil.copytree(REPO / "data/raw/pilot", dest / "data/raw/pilot")
    return "pilot"


def build_survey(dest: Path) -> str:
    """examples/survey: form exports (.xlsx, .csv), filled coding workbooks and the filled
    adjudication workbook; the codebook copied beside its config."""
    shutil.copytree(REPO / "examples/survey/config", dest / "config")
    shutil.copytree(REPO / "examples/survey/data/raw", dest / "data/raw")
    shutil.copyfile(REPO / "config/codebook.yaml", dest / "config/codebook.yaml")
    path = dest / "config/config.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "codebook: ../../config/codebook.yaml", "codebook: config/codebook.yaml"), encoding="utf-8")
    return "pilot_survey"


def build_tool_example(layout: str) -> Callable[[Path], str]:
    """examples/survey_tools/<layout> (scripts/make_survey_examples.py): exports as the survey
    tool writes them, coder CSVs and adjudication.csv; the codebook copied beside its config."""
    def build(dest: Path) -> str:
        shutil.copytree(REPO / "examples/survey_tools" / layout / "config", dest / "config")
        shutil.copytree(REPO / "examples/survey_tools" / layout / "data/raw", dest / "data/raw")
        shutil.copyfile(REPO / "config/codebook.yaml", dest / "config/codebook.yaml")
        path = dest / "config/config.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace(
            "codebook: ../../../config/codebook.yaml", "codebook: config/codebook.yaml"), encoding="utf-8")
        return layout
    return build


BASELINES: dict[str, Callable[[Path], str]] = {
    "pilot": build_pilot, "survey": build_survey,
    "qualtrics": build_tool_example("qualtrics_csv"),   # 3 header rows, previews and spam
    "qualtrics_xlsx": build_tool_example("qualtrics_xlsx"),  # the same as .xlsx, numeric values
    "redcap": build_tool_example("redcap_raw"),         # one long export of every wave
}


# --- mutations -----------------------------------------------------------------------------
# A mutation gets (rng, path, root) and changes the file (or the folder) in place; it returns
# a description and what it may do: "same" (meaning-preserving: no derived table may change),
# "reference" (any outcome, but a change must be the one the raw files now say) or "refuse"
# (the pipeline must stop with a located message).

def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_text(path), newline="")))


def _write_rows(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def m_flip_byte(rng, path, root):
    data = bytearray(path.read_bytes())
    if not data:
        return "flip a byte (empty file)", "reference"
    i = rng.randrange(len(data))
    old = data[i]
    data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))
    return f"byte {i}: 0x{old:02x} -> 0x{data[i]:02x}", "reference"


def m_insert_bytes(rng, path, root):
    data = path.read_bytes()
    i = rng.randrange(len(data) + 1)
    new = rng.choice([b"\x00", b'"', b",", b"\n", b"\r", b"\x93", b"\xef\xbb\xbf", b";",
                      "\u0420".encode(), b"\t", b"\xff\xfe", "\u3000".encode()])
    path.write_bytes(data[:i] + new + data[i:])
    return f"insert {new!r} at byte {i}", "reference"


def m_delete_span(rng, path, root):
    data = path.read_bytes()
    if not data:
        return "delete a span (empty file)", "reference"
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.choice([1, 2, 5, 40]))
    path.write_bytes(data[:i] + data[j:])
    return f"delete bytes {i}:{j}", "reference"


def m_truncate(rng, path, root):
    data = path.read_bytes()
    i = rng.randrange(len(data) + 1)
    path.write_bytes(data[:i])
    return f"truncate at byte {i} of {len(data)}", "reference"


def m_crlf(rng, path, root):
    data = path.read_bytes()
    if b"\r" in data:
        return "CRLF (already)", "same"
    path.write_bytes(data.replace(b"\n", b"\r\n"))
    return "line ends as CRLF", "same"


def m_bom(rng, path, root):
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):
        return "BOM (already)", "same"
    path.write_bytes(codecs.BOM_UTF8 + data)
    return "UTF-8 byte-order mark added", "same"


def m_reencode(rng, path, root):
    encoding = rng.choice(["utf-16", "utf-16-le", "cp932", "cp1252", "latin-1"])
    text = _text(path)
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode(encoding, errors="replace"))
    return f"re-encoded as {encoding}", "reference"


def m_trailing_columns(rng, path, root):
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(line + b",," if line else line for line in lines))
    return "two empty trailing columns on every line (Excel)", "same"


def m_blank_lines(rng, path, root):
    path.write_bytes(path.read_bytes() + b"\n,,\n\n")
    return "blank lines at the end", "same"


def m_duplicate_line(rng, path, root):
    lines = path.read_bytes().splitlines(keepends=True)
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    path.write_bytes(b"".join(lines))
    return f"line {i + 1} duplicated", "reference"


def m_delete_line(rng, path, root):
    lines = path.read_bytes().splitlines(keepends=True)
    i = rng.randrange(len(lines))
    del lines[i]
    path.write_bytes(b"".join(lines))
    return f"line {i + 1} deleted", "reference"


def m_swap_lines(rng, path, root):
    lines = path.read_bytes().splitlines(keepends=True)
    if len(lines) < 3:
        return "swap lines (too short)", "reference"
    i, j = rng.sample(range(len(lines)), 2)
    lines[i], lines[j] = lines[j], lines[i]
    path.write_bytes(b"".join(lines))
    return f"lines {i + 1} and {j + 1} swapped", "reference"


def m_shuffle_rows(rng, path, root):
    rows = _rows(path)
    # a Qualtrics export's three header rows stay on top (its third row holds ImportIds)
    top = 3 if len(rows) > 2 and any('"ImportId"' in cell for cell in rows[2]) else 1
    body = rows[top:]
    rng.shuffle(body)
    _write_rows(path, rows[:top] + body)
    return "data rows shuffled", "same"


def m_pad_cells(rng, path, root):
    rows = _rows(path)
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h.strip() not in ("text", "rationale")]
    for row in rows[1:]:
        for i in keep:
            if i < len(row):
                row[i] = f" {row[i]} "
    _write_rows(path, rows)
    return "spaces around every id and code cell", "same"


def _cell(rng, rows, columns=None):
    header = [h.strip() for h in rows[0]]
    choices = [i for i, h in enumerate(header) if columns is None or h in columns]
    r = rng.randrange(1, len(rows)) if len(rows) > 1 else 0
    c = rng.choice(choices) if choices else 0
    while c >= len(rows[r]):
        rows[r].append("")
    return r, c, header[c] if c < len(header) else "?"


def m_set_cell(rng, path, root):
    rows = _rows(path)
    r, c, name = _cell(rng, rows)
    column_values = [row[c] for row in rows[1:] if c < len(row)]
    new = rng.choice([
        "", " ", rng.choice(column_values), rng.choice(column_values).lower(),
        rng.choice(column_values).upper(), rows[r][c] + "\u200b", "=cmd|' /C calc'!A0",
        rows[r][c].replace("0", "", 1), "0" + rows[r][c], "\u0420" + rows[r][c][1:],
        rows[r][c] + ";" + rng.choice(column_values), rows[r][c] + "\n" + "line two",
        "x" * rng.choice([200, 140_000]), "NaN", "None", "null", "#N/A", "TRUE"])
    old = rows[r][c]
    rows[r][c] = new
    _write_rows(path, rows)
    return f"row {r + 1}, column {name}: {old[:30]!r} -> {new[:30]!r}", "reference"


def m_set_valid(rng, path, root):
    """A plausible edit that should go through: a free text rewritten (any characters), or a
    codes cell given another row's codes of the same question (from the same file)."""
    rows = _rows(path)
    header = [h.strip() for h in rows[0]]
    free = [c for c in ("text", "rationale") if c in header]
    r = rng.randrange(1, len(rows))
    if free and (rng.random() < 0.6 or "codes" not in header):
        c = header.index(rng.choice(free))
        old = rows[r][c]
        rows[r][c] = rng.choice(["", "ok", "相手に巻き込まれた。\n二行目", 'He said "no", then left;',
                                 "=SUM(A1)", "x" * 300, " padded ", "emoji 😀 and \t tab"])
    else:
        c = header.index("codes")
        responses = next((p / "responses.csv" for p in (path.parent, path.parent.parent)
                          if (p / "responses.csv").is_file()), None)
        question = ({row[0].strip(): row[3].strip() for row in _rows(responses)[1:] if len(row) > 3}
                    if responses else {})
        asked = question.get(rows[r][0].strip())
        same = [row[c] for row in rows[1:] if row and question.get(row[0].strip()) == asked]
        same = same or [rows[r][c]]
        old = rows[r][c]
        rows[r][c] = rng.choice(same)
    _write_rows(path, rows)
    return f"row {r + 1}, column {header[c]}: {old[:30]!r} -> {rows[r][c][:30]!r}", "reference"


def m_reorder_codes(rng, path, root):
    rows = _rows(path)
    header = [h.strip() for h in rows[0]]
    c = header.index("codes")
    for row in rows[1:]:
        if c < len(row) and ";" in row[c]:
            row[c] = ";".join(reversed(row[c].split(";")))
    _write_rows(path, rows)
    return "codes within each cell in reverse order", "same"


def m_rename_column(rng, path, root):
    rows = _rows(path)
    c = rng.randrange(len(rows[0]))
    old = rows[0][c]
    rows[0][c] = rng.choice([old.upper(), old + "_x", " " + old + " ", old.replace("_", " "), ""])
    _write_rows(path, rows)
    return f"header {old!r} -> {rows[0][c]!r}", "reference"


def m_drop_column(rng, path, root):
    rows = _rows(path)
    c = rng.randrange(len(rows[0]))
    name = rows[0][c]
    _write_rows(path, [row[:c] + row[c + 1:] for row in rows])
    return f"column {name!r} removed", "reference"


def m_swap_columns(rng, path, root):
    rows = _rows(path)
    if len(rows[0]) < 2:
        return "swap columns (one column)", "reference"
    i, j = rng.sample(range(len(rows[0])), 2)
    for row in rows:
        if max(i, j) < len(row):
            row[i], row[j] = row[j], row[i]
    _write_rows(path, rows)
    return f"columns {i + 1} and {j + 1} swapped (header too)", "same"


def m_delimiter(rng, path, root):
    rows = _rows(path)
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=rng.choice([";", "\t"]), lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    return "re-delimited", "reference"


def m_empty(rng, path, root):
    path.write_bytes(rng.choice([b"", b"\n", codecs.BOM_UTF8, path.read_bytes().split(b"\n")[0] + b"\n"]))
    return "emptied (or header only)", "reference"


def m_remove(rng, path, root):
    path.unlink()
    return "file removed", "reference"


def m_folder(rng, path, root):
    path.unlink()
    path.mkdir()
    return "file replaced by a folder", "refuse"


def m_broken_link(rng, path, root):
    path.unlink()
    path.symlink_to(path.parent / "gone.csv")
    return "file replaced by a broken link", "refuse"


def m_copy_over_other_coder(rng, path, root):
    others = [p for p in path.parent.glob(f"*{path.suffix}") if p != path]
    if not others:
        return "another coder's file copied over it (only one)", "reference"
    source = rng.choice(others)
    shutil.copyfile(source, path)
    return f"{source.name} copied over it", "reference"


def m_stray_files(rng, path, root):
    name = rng.choice(["~$coder_a.csv", ".~lock.coder_a.csv#", ".DS_Store", "notes.txt"])
    (path.parent / name).write_bytes(b"\x00\x01junk")
    return f"stray file {name} beside it", "same" if name != "notes.txt" else "reference"


# config and codebook (YAML) --------------------------------------------------------------

def m_yaml_duplicate_block(rng, path, root):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    key = rng.choice([k for k, v in document.items() if isinstance(v, dict)])
    path.write_text(path.read_text(encoding="utf-8") + f"\n{key}:\n  {{}}\n", encoding="utf-8")
    return f"a second top-level {key}: block", "refuse"


def m_yaml_set(rng, path, root):
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    node, trail = document, []
    while isinstance(node, dict) and node and rng.random() < 0.8:
        key = rng.choice(list(node))
        trail.append(key)
        if not isinstance(node[key], dict):
            break
        node = node[key]
    if not trail:
        return "set a value (empty)", "reference"
    parent = document
    for key in trail[:-1]:
        parent = parent[key]
    value = rng.choice([None, "", 0, 1, -1, 0.5, 2, True, "no", [], {}, "x" * 50, "^P[0-9+$",
                        "utf-16", "cp932", "majority", "data/raw/nowhere"])
    parent[trail[-1]] = value
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return f"{'.'.join(map(str, trail))} = {value!r}", "reference"


def m_yaml_known(rng, path, root):
    """Settings that must be refused (issue 11 items 6 and 10) or must not change the run."""
    text = path.read_text(encoding="utf-8")
    choice = rng.randrange(5)
    if choice == 0:
        text += '\nprivacy:\n  participant_id_pattern: "^P[0-9+$"\n'
        return _set(path, text, "invalid participant_id_pattern", "refuse")
    if choice == 1 and "acceptable: 0.667" in text:
        return _set(path, text.replace("acceptable: 0.667", "acceptable: 0.95"),
                    "acceptable above good", "refuse")
    if choice == 2 and "bootstrap: 2000" in text:
        return _set(path, text.replace("bootstrap: 2000", "bootstrap: 1"), "bootstrap 1", "refuse")
    if choice == 3:
        return _set(path, "# a comment\n" + text.replace(": ", ":   ", 3), "comments and spacing", "same")
    return _set(path, text.replace("unresolved: fail", "unresolved: majority"),
                "unresolved: majority", "reference")


def _set(path, text, what, expect):
    path.write_text(text, encoding="utf-8")
    return what, expect


def m_yaml_tab(rng, path, root):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    i = rng.randrange(len(lines))
    lines[i] = "\t" + lines[i]
    path.write_text("".join(lines), encoding="utf-8")
    return f"tab before line {i + 1}", "reference"


# spreadsheets (form exports, coding and adjudication workbooks) ----------------------------

def _workbook(path):
    from openpyxl import load_workbook
    return load_workbook(path)


def _sheet_and_cell(rng, wb):
    visible = [ws for ws in wb.worksheets if ws.sheet_state == "visible" and ws.max_row > 1]
    ws = rng.choice(visible or wb.worksheets)
    row = rng.randrange(2, ws.max_row + 1) if ws.max_row > 1 else 1
    column = rng.randrange(1, ws.max_column + 1)
    return ws, ws.cell(row=row, column=column)


def m_xlsx_set_cell(rng, path, root):
    wb = _workbook(path)
    ws, cell = _sheet_and_cell(rng, wb)
    column = [c.value for c in next(ws.iter_cols(min_col=cell.column, max_col=cell.column,
                                                 min_row=2))] or [None]
    old = cell.value
    new = rng.choice([None, "", " ", rng.choice(column), 0, 1, 2, "x", "X", " 1 ", "yes",
                      1.5, "=1+1", "#N/A", "\u0420" + str(old or "")[1:], str(old or "") + "\u200b",
                      (str(old or "") + " ")[:-1].lower(), "x" * rng.choice([10, 40_000])])
    cell.value = new
    wb.save(path)
    return f"{ws.title}!{cell.coordinate}: {str(old)[:30]!r} -> {str(new)[:30]!r}", "scoped"


def m_xlsx_delete_row(rng, path, root):
    wb = _workbook(path)
    ws, cell = _sheet_and_cell(rng, wb)
    ws.delete_rows(cell.row)
    wb.save(path)
    return f"{ws.title}: row {cell.row} deleted", "scoped"


def m_xlsx_swap_rows(rng, path, root):
    wb = _workbook(path)
    ws, cell = _sheet_and_cell(rng, wb)
    if ws.max_row < 3:
        return f"{ws.title}: swap rows (too few)", "same"
    # a Qualtrics export's header rows 2-3 (question texts, ImportIds) stay where they are
    first = 4 if any('"ImportId"' in str(c.value) for c in ws[3]) else 2
    if ws.max_row < first + 1:
        return f"{ws.title}: swap rows (too few)", "same"
    a, b = rng.sample(range(first, ws.max_row + 1), 2)
    for column in range(1, ws.max_column + 1):
        x, y = ws.cell(row=a, column=column), ws.cell(row=b, column=column)
        x.value, y.value = y.value, x.value
    wb.save(path)
    return f"{ws.title}: whole rows {a} and {b} swapped (sorted)", "same"


def m_xlsx_header(rng, path, root):
    wb = _workbook(path)
    ws, cell = _sheet_and_cell(rng, wb)
    header = ws.cell(row=1, column=cell.column)
    old = header.value
    header.value = rng.choice([None, f" {old} ", str(old).upper(), f"{old}_x"])
    wb.save(path)
    return f"{ws.title}!{header.coordinate} header {old!r} -> {header.value!r}", "scoped"


def m_xlsx_sheets(rng, path, root):
    wb = _workbook(path)
    ws = rng.choice(wb.worksheets)
    choice = rng.randrange(3)
    if choice == 0 and len(wb.worksheets) > 1:
        wb.remove(ws)
        what = f"sheet {ws.title!r} deleted"
    elif choice == 1:
        what = f"sheet {ws.title!r} renamed"
        ws.title = ws.title[:20] + " (2)"
    else:
        wb.create_sheet("Notes").cell(row=1, column=1, value="my notes")
        what = "a sheet 'Notes' added"
        wb.save(path)
        return what, "same"
    wb.save(path)
    return what, "scoped"


def m_xlsx_as_csv(rng, path, root):
    path.write_bytes(b"unit_id,codes\nU1,hooked\n")
    return "a CSV file saved with the .xlsx name", "refuse"


BYTES = [m_flip_byte, m_insert_bytes, m_delete_span, m_truncate, m_crlf, m_bom, m_reencode]
CSV = [m_trailing_columns, m_blank_lines, m_duplicate_line, m_delete_line, m_swap_lines,
       m_shuffle_rows, m_pad_cells, m_set_cell, m_rename_column, m_drop_column, m_swap_columns,
       m_delimiter, m_empty, m_set_valid, m_set_valid]
FOLDER = [m_remove, m_folder, m_broken_link, m_stray_files]
YAML = [m_yaml_duplicate_block, m_yaml_set, m_yaml_known, m_yaml_tab, m_flip_byte,
        m_delete_line, m_truncate, m_crlf, m_bom]


@dataclass
class Kind:
    """One kind of raw input: its files in a study copy and the mutations that apply."""
    files: Callable[[Path, str], list[Path]]
    mutations: list
    weight: int = 1


def _raw(root: Path, cohort: str) -> Path:
    config = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
    return root / config["cohorts"][cohort]["raw"]


SPREADSHEET = [m_xlsx_set_cell, m_xlsx_delete_row, m_xlsx_swap_rows, m_xlsx_header,
               m_xlsx_sheets, m_xlsx_as_csv, m_flip_byte, m_truncate, m_insert_bytes,
               m_delete_span, m_remove, m_folder, m_broken_link]
# a form export as CSV: every answer column is free text (no id or code cells to pad)
EXPORT_CSV = BYTES + [m_trailing_columns, m_blank_lines, m_duplicate_line, m_delete_line,
                      m_swap_lines, m_shuffle_rows, m_set_cell, m_rename_column,
                      m_drop_column, m_swap_columns, m_delimiter, m_empty] + FOLDER


def _survey_files(root: Path, cohort: str, suffix: str) -> list[Path]:
    config = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
    survey = config["cohorts"][cohort].get("survey")
    if not survey:
        return []
    raw = _raw(root, cohort)
    exports = survey["files"].values() if "files" in survey else [survey["file"]]
    files = [raw / (v if isinstance(v, str) else v["file"]) for v in exports]
    return [p for p in files if p.suffix == suffix and p.is_file()]


KINDS: dict[str, Kind] = {
    "responses": Kind(lambda root, c: [p for p in [_raw(root, c) / "responses.csv"] if p.is_file()],
                      BYTES + CSV + FOLDER, weight=3),
    "coder file": Kind(lambda root, c: sorted((_raw(root, c) / "codes").glob("*.csv")),
                       BYTES + CSV + FOLDER + [m_reorder_codes, m_copy_over_other_coder], weight=3),
    "adjudication": Kind(lambda root, c: [p for p in [_raw(root, c) / "adjudication.csv"] if p.is_file()],
                         BYTES + CSV + FOLDER + [m_reorder_codes], weight=2),
    "config": Kind(lambda root, c: [root / "config/config.yaml"], YAML, weight=2),
    "codebook": Kind(lambda root, c: [root / "config/codebook.yaml"], YAML),
    "form export (csv)": Kind(lambda root, c: _survey_files(root, c, ".csv"), EXPORT_CSV, weight=2),
    "form export (xlsx)": Kind(lambda root, c: _survey_files(root, c, ".xlsx"), SPREADSHEET, weight=2),
    "coding workbook": Kind(lambda root, c: sorted((_raw(root, c) / "codes").glob("*.xlsx")),
                            SPREADSHEET + [m_copy_over_other_coder], weight=2),
    "adjudication workbook": Kind(lambda root, c: [p for p in [_raw(root, c) / "adjudication.xlsx"]
                                                   if p.is_file()], SPREADSHEET),
}


# --- running the pipeline's steps ----------------------------------------------------------

def pipeline(root: Path, cohort: str) -> dict:
    """What the Snakefile and the intake and consensus scripts do, in-process (cwd = root).

    Returns {"tables": {...}, "warnings": [...]} or raises what the pipeline raises.
    """
    config, codebook = study_config.load_study("config/config.yaml")
    study_config.check_cohort_folders(config)
    study = study_settings(config, codebook)
    settings = cohort_settings(config, cohort)
    tables = read_cohort(settings["raw"], cohort=cohort, encoding=settings["encoding"],
                         timepoints=study["timepoints"], questions=study["questions"],
                         id_pattern=settings["privacy"]["participant_id_pattern"],
                         allow_similar_ids=settings["privacy"]["allow_similar_participant_ids"],
                         survey=config["cohorts"][cohort].get("survey"),
                         coding_key=coding_settings(config, cohort)["coding_key"])
    derived = Path("data/derived") / cohort
    for name in ("responses", "codings", "adjudication", "coverage"):
        write_table(getattr(tables, name), derived / f"{name}.csv")
    final = final_codes(tables.responses, tables.codings, tables.adjudication,
                        study["questions"], unresolved=settings["analysis"]["consensus"]["unresolved"])
    write_table(final, derived / "final_codes.csv")
    return {"tables": summarise(tables, final), "warnings": [str(w) for w in tables.warnings]}


def summarise(tables, final) -> dict:
    """The derived tables in a comparable form (sets of codes, not strings)."""
    responses = {r.response_id: (r.participant_id, r.timepoint, r.question, r.item, r.text)
                 for r in tables.responses.itertuples()}
    codings = {(r.response_id, r.coder): frozenset(filter(None, r.codes.split(";")))
               for r in tables.codings.itertuples()}
    adjudication = {r.response_id: frozenset(filter(None, str(r.codes).split(";")))
                    for r in tables.adjudication.itertuples()}
    present = final[final["present"] == 1]
    finals = {rid: frozenset() for rid in final["response_id"]}
    for rid, code in zip(present["response_id"], present["code"], strict=True):
        finals[rid] = finals[rid] | {code}
    return {"responses": responses, "codings": codings, "adjudication": adjudication,
            "final": finals}


def _child(root: str, cohort: str, conn) -> None:
    os.chdir(root)
    try:
        conn.send({"outcome": "ok", **pipeline(Path(root), cohort)})
    except IntakeError as err:
        conn.send({"outcome": "refused", "error": "IntakeError", "message": str(err),
                   "files": [p.file for p in err.problems],
                   "longest": max(len(str(p)) for p in err.problems)})
    except ConfigError as err:
        conn.send({"outcome": "refused", "error": "ConfigError", "message": str(err),
                   "files": [err.source], "longest": max(map(len, err.problems))})
    except UnresolvedDisagreements as err:
        conn.send({"outcome": "refused", "error": "UnresolvedDisagreements", "message": str(err),
                   "files": [], "longest": 0, "unresolved": sorted(err.response_ids)})
    except BaseException:  # noqa: BLE001 - every other exception is what the fuzzer hunts
        conn.send({"outcome": "traceback", "message": traceback.format_exc()})
    finally:
        conn.close()


def run_in_child(root: Path, cohort: str, timeout: float) -> dict:
    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(str(root), cohort, child))
    process.start()
    child.close()
    if parent.poll(timeout):
        try:
            result = parent.recv()
        except EOFError:
            result = {"outcome": "traceback", "message": "the child died without an answer"}
    else:
        process.kill()
        result = {"outcome": "hang", "message": f"no answer within {timeout} s"}
    process.join(10)
    return result


# --- an independent reading of the raw files -----------------------------------------------

class Unreadable(Exception):
    """The reference cannot read the mutated files (so the pipeline must refuse them)."""


def _reference_table(path: Path, encoding: str) -> list[dict]:
    codec = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        text = path.read_bytes().decode(codec)
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error, OSError) as err:
        raise Unreadable(f"{path.name}: {err}") from None
    if not rows:
        return []
    header = [h.strip() for h in rows[0]]
    out = []
    for row in rows[1:]:
        if not any(cell.strip() for cell in row):
            continue
        out.append({h: row[i] if i < len(row) else None for i, h in enumerate(header) if h})
    return out


def reference(root: Path, cohort: str) -> dict:
    """The tables as the data contract says they follow from the raw files, computed without
    the package: responses by id (ids stripped, text as written), each coder's code sets,
    adjudicated sets, and final codes (adjudicated, else unanimous among two or more coders,
    else under ``majority`` the set more than half of the coders chose, at least two)."""
    config = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
    entry = config["cohorts"][cohort]
    encoding = entry.get("encoding", "utf-8")
    unresolved = (config.get("analysis", {}).get("consensus", {}).get("unresolved", "fail"))
    unresolved = entry.get("analysis", {}).get("consensus", {}).get("unresolved", unresolved)
    raw = root / entry["raw"]
    responses = {}
    for r in _reference_table(raw / "responses.csv", encoding):
        responses[r["response_id"].strip()] = (r["participant_id"].strip(), r["timepoint"].strip(),
                                               r["question"].strip(), (r.get("item") or "").strip(),
                                               r["text"])
    codings = {}
    for path in sorted((raw / "codes").glob("*.csv")):
        for r in _reference_table(path, encoding):
            codings[(r["response_id"].strip(), path.stem)] = frozenset(
                c.strip() for c in (r["codes"] or "").split(";") if c.strip())
    adjudication = {}
    if (raw / "adjudication.csv").is_file():
        for r in _reference_table(raw / "adjudication.csv", encoding):
            adjudication[r["response_id"].strip()] = frozenset(
                c.strip() for c in (r["codes"] or "").split(";") if c.strip())
    finals, open_ids = {}, []
    for rid in responses:
        sets = [s for (r, _), s in codings.items() if r == rid]
        if rid in adjudication:
            finals[rid] = adjudication[rid]
            continue
        if len(sets) >= 2 and len(set(sets)) == 1:
            finals[rid] = sets[0]
            continue
        if unresolved == "majority" and sets:
            best, votes = Counter(sets).most_common(1)[0]
            if votes >= 2 and 2 * votes > len(sets):
                finals[rid] = best
                continue
        open_ids.append(rid)
    return {"responses": responses, "codings": codings, "adjudication": adjudication,
            "final": finals, "unresolved": sorted(open_ids)}


# --- one case ------------------------------------------------------------------------------

@dataclass
class Outcome:
    seed: int
    baseline: str
    kind: str
    file: str
    mutation: str
    expect: str
    status: str
    detail: str = ""
    warnings: list = field(default_factory=list)

    def line(self) -> str:
        return (f"seed {self.seed}: {self.status:<12} {self.baseline}/{self.kind} {self.file}: "
                f"{self.mutation} (expect {self.expect})"
                + (f"\n    {_shorten(self.detail)}" if self.detail else ""))


def _shorten(text: str) -> str:
    """A long message or traceback: its start and its end (where the exception is)."""
    return text if len(text) < 3000 else text[:1000] + "\n[...]\n" + text[-1500:]


def _hashes(root: Path) -> dict[str, str]:
    """sha256 of every raw and config file (links by their target)."""
    out = {}
    for path in sorted([*(root / "config").rglob("*"), *(root / "data/raw").rglob("*")]):
        relative = path.relative_to(root)
        if path.is_symlink():
            out[str(relative)] = "link:" + os.readlink(path)
        elif path.is_file():
            out[str(relative)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _half_written(root: Path) -> list[str]:
    derived = root / "data/derived"
    if not derived.is_dir():
        return []
    return [str(p) for p in derived.rglob("*") if p.is_file()
            and (p.suffix not in (".csv",) or p.name.startswith("."))]


def mutate(seed: int, root: Path, cohort: str) -> tuple[str, str, str, str, list[str]]:
    """Apply the seed's mutation to the study copy at ``root``: (kind, file, what, expect,
    every file the mutation changed, added or removed)."""
    rng = random.Random(seed)
    kinds = [name for name, kind in KINDS.items() if kind.files(root, cohort)]
    name = rng.choices(kinds, weights=[KINDS[k].weight for k in kinds])[0]
    path = rng.choice(KINDS[name].files(root, cohort))
    mutation = rng.choice(KINDS[name].mutations)
    before = _hashes(root)
    what, expect = mutation(rng, path, root)
    after = _hashes(root)
    touched = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
    return (name, str(path.relative_to(root)), f"{mutation.__name__[2:]}: {what}", expect,
            touched or [str(path.relative_to(root))])


def _is_survey(root: Path, cohort: str) -> bool:
    try:
        config = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
        return "survey" in config["cohorts"][cohort]
    except Exception:  # noqa: BLE001 - a mutated config: not readable as a survey study
        return (root / "data/raw" / cohort).is_dir() and not (root / "data/raw" / cohort /
                                                              "responses.csv").exists()


def _held(baseline: dict, root: Path, cohort: str, touched: list[str]) -> set[str]:
    """The response ids the touched files held in the baseline (a mutation may unsettle any
    of them): as :func:`_scope` when every row of those files is gone."""
    empty = {table: {} for table in baseline}
    return _scope(baseline, empty, root, cohort, touched)[0]


def classify(result: dict, expect: str, baseline_tables: dict, root: Path, cohort: str,
             mutated: str, touched: list[str] = ()) -> tuple[str, str]:
    """(status, detail) of one case's result. ``mutated``: the file the mutation aimed at;
    ``touched``: every file it changed (a refusal must name one of them)."""
    if result["outcome"] in ("traceback", "hang"):
        return result["outcome"], result["message"]
    try:
        ref = reference(root, cohort)
    except Exception as err:  # noqa: BLE001 - whatever stops the reference: "cannot be read"
        ref = None
        why = f"{type(err).__name__}: {err}"
    if result["outcome"] == "refused":
        message = result["message"]
        if result["longest"] > MESSAGE_LIMIT:
            return "unexpected", f"a problem of {result['longest']} characters:\n{message[:600]}"
        if "Traceback" in message:
            return "traceback", message
        if expect == "same":
            return "unexpected", f"refused a change that changes nothing:\n{message}"
        if result["error"] == "UnresolvedDisagreements":
            if ref is not None and ref["unresolved"] == result["unresolved"]:
                return "refused", message
            if ref is None and set(result["unresolved"]) <= _held(baseline_tables, root, cohort,
                                                                  touched):
                return "refused", message
            return "unexpected", (f"unresolved {result['unresolved']} but the raw files leave "
                                  f"{ref and ref['unresolved']} unresolved:\n{message}")
        name = Path(mutated).name
        related = {name} | {Path(f).name for f in touched}
        if Path(mutated).parent.name == "codes":  # "codes: has 1 coder file(s)", "(or correct a coder file)"
            related |= {"/codes:", "coder file"}
        if Path(mutated).parent.name == "config":  # a codebook's codes, questions, time points
            # ... and privacy.participant_id_pattern, quoted in every refused id's message
            related |= {"config", "codebook", "cohorts.", "of question", "time point",
                        "pseudonym pattern"}
        if _is_survey(root, cohort) and Path(mutated).parent.name != "codes":
            related.add("responses that have since changed")  # the workbooks' own check
        if not any(n in message for n in related):
            return "unexpected", f"the message names neither {name} nor its folder:\n{message}"
        return "refused", message
    tables = result["tables"]
    if expect == "refuse":
        return "unexpected", "accepted a mutation that must be refused"
    if tables == baseline_tables:
        return "identical", ""
    if expect == "same":
        return "unexpected", _difference(baseline_tables, tables, "baseline")
    if ref is None and (expect == "scoped" or not (root / "config").is_dir()
                        or _is_survey(root, cohort)):
        outside = _outside_scope(baseline_tables, tables,
                                 _scope(baseline_tables, tables, root, cohort, touched))
        if outside:
            return "unexpected", f"changed outside what {', '.join(touched)} holds: {outside}"
        if result["warnings"] and any(Path(f).name in w for w in result["warnings"] for f in touched):
            return "warned", "; ".join(result["warnings"])
        return "changed", ""
    if ref is None:
        return "unexpected", f"accepted, but the raw files cannot be read: {why}"
    ref_tables = {k: ref[k] for k in tables}
    if tables != ref_tables:
        return "unexpected", _difference(ref_tables, tables, "the raw files")
    if result["warnings"] and any(Path(mutated).name in w for w in result["warnings"]):
        return "warned", "; ".join(result["warnings"])
    return "changed", ""


def _scope(baseline: dict, tables: dict, root: Path, cohort: str, touched: list[str]):
    """Which response ids a mutation of ``touched`` may change, when no independent reading
    of the files exists (spreadsheets, form exports): a coder's workbook only that coder's
    codings (and the final codes of those responses), the adjudication workbook only the
    adjudication (and those final codes), a form export only its time point's responses (and
    everything of those responses). Returns (allowed ids, coder or None, tables allowed)."""
    names = {Path(f).name for f in touched}
    parents = {Path(f).parent.name for f in touched}
    if "codes" in parents:
        coders = {Path(f).stem for f in touched}
        changed = {r for (r, c) in set(baseline["codings"]) | set(tables["codings"])
                   if c in coders and baseline["codings"].get((r, c)) != tables["codings"].get((r, c))}
        return changed, coders, {"codings", "final"}
    if any(n.startswith("adjudication") for n in names):
        changed = {r for r in set(baseline["adjudication"]) | set(tables["adjudication"])
                   if baseline["adjudication"].get(r) != tables["adjudication"].get(r)}
        return changed, None, {"adjudication", "final"}
    if "config" in parents:
        return set(baseline["final"]) | set(tables["final"]), None, {"final"}
    try:
        config = yaml.safe_load((root / "config/config.yaml").read_text(encoding="utf-8"))
        survey = config["cohorts"][cohort]["survey"]
        files = survey.get("files") or {tp: survey["file"] for tp in survey["timepoints"]}
        timepoints = {tp for tp, v in files.items()
                      if Path(v if isinstance(v, str) else v["file"]).name in names}
    except (KeyError, TypeError, AttributeError, OSError, yaml.YAMLError):
        timepoints = set()
    changed = {r for r, v in list(baseline["responses"].items()) + list(tables["responses"].items())
               if v[1] in timepoints}
    return changed, None, {"responses", "codings", "adjudication", "final"}


def _outside_scope(baseline: dict, tables: dict, scope) -> str:
    """The differences a mutation had no business making ('' when none)."""
    ids, coders, allowed = scope
    outside = []
    for table in baseline:
        a, b = baseline[table], tables[table]
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) == b.get(key):
                continue
            rid = key[0] if isinstance(key, tuple) else key
            in_scope = table in allowed and rid in ids
            if table == "codings" and coders is not None:
                in_scope = in_scope and key[1] in coders
            if not in_scope:
                outside.append(f"{table} {key}: baseline {a.get(key)!r} / derived {b.get(key)!r}")
    return "; ".join(outside[:3])


def _difference(expected: dict, got: dict, what: str) -> str:
    lines = []
    for table in expected:
        a, b = expected[table], got[table]
        if a == b:
            continue
        keys = sorted(set(a) | set(b), key=str)
        diffs = [k for k in keys if a.get(k) != b.get(k)]
        shown = "; ".join(f"{k}: {what} {a.get(k)!r} / derived {b.get(k)!r}" for k in diffs[:3])
        lines.append(f"{table}: {len(diffs)} difference(s): {shown}"[:700])
    return "\n    ".join(lines)


def run_case(seed: int, workdir: Path, baselines: dict, timeout: float) -> Outcome:
    baseline = list(baselines)[seed % len(baselines)]
    source, cohort, baseline_tables = baselines[baseline]
    root = workdir / f"case-{seed}"
    shutil.copytree(source, root, symlinks=True)
    try:
        kind, file, what, expect, touched = mutate(seed, root, cohort)
        before = _hashes(root)
        result = run_in_child(root, cohort, timeout)
        status, detail = classify(result, expect, baseline_tables, root, cohort, file, touched)
        if _hashes(root) != before:
            status, detail = "raw-written", "a raw or config file changed during the run"
        half = _half_written(root)
        if half:
            status, detail = "half-written", ", ".join(half)
        return Outcome(seed, baseline, kind, file, what, expect, status, detail,
                       result.get("warnings", []))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def prepare(workdir: Path, names=None, timeout: float = 60) -> dict:
    """Each baseline built once and run once: name -> (folder, cohort, its tables)."""
    out = {}
    for name in names or BASELINES:
        folder = workdir / f"baseline-{name}"
        cohort = BASELINES[name](folder)
        result = run_in_child(folder, cohort, timeout)
        assert result["outcome"] == "ok", f"baseline {name}: {result.get('message')}"
        shutil.rmtree(folder / "data/derived", ignore_errors=True)
        out[name] = (folder, cohort, result["tables"])
    return out


def fuzz(cases: int, first_seed: int, workdir: Path, timeout: float = 20,
         progress: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    baselines = prepare(workdir)
    outcomes = []
    for seed in range(first_seed, first_seed + cases):
        outcome = run_case(seed, workdir, baselines, timeout)
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes


def workflow_case(seed: int, workdir: Path, snakemake: str, timeout: float = 600) -> tuple[Outcome, str]:
    """The same seed through the whole workflow (``snakemake ... final_codes.csv``): the exit
    status must agree with the in-process outcome, and a refusal carries no traceback."""
    import subprocess
    baselines = prepare(workdir / f"w{seed}")
    outcome = run_case(seed, workdir, baselines, timeout=60)
    baseline = list(baselines)[seed % len(baselines)]
    source, cohort, _ = baselines[baseline]
    root = workdir / f"workflow-{seed}"
    shutil.copytree(source, root, symlinks=True)
    mutate(seed, root, cohort)
    before = _hashes(root)
    result = subprocess.run([snakemake, "-s", str(REPO / "Snakefile"), "-d", str(root), "--cores",
                             "1", f"data/derived/{cohort}/final_codes.csv"],
                            capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    problems = []
    if _hashes(root) != before:
        problems.append("raw files changed")
    if _half_written(root):
        problems.append("half-written: " + ", ".join(_half_written(root)))
    ok = outcome.status in ("identical", "changed", "warned")
    if ok != (result.returncode == 0):
        problems.append(f"in-process {outcome.status}, workflow exit {result.returncode}")
    if "Traceback (most recent call last)" in output or "unexpected failure" in output:
        problems.append("a traceback in the workflow's output")
    return outcome, "; ".join(problems) + ("\n" + output[-3000:] if problems else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--seed", type=int, help="rerun this one case and show it in full")
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--workflow", type=int, default=0,
                        help="also run this many of the cases through the whole workflow")
    args = parser.parse_args(argv)
    first, cases = (args.seed, 1) if args.seed is not None else (args.first_seed, args.cases)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        def show(outcome):
            if args.seed is not None or outcome.status in FAILURES:
                print(outcome.line(), flush=True)
        outcomes = fuzz(cases, first, Path(tmp), args.timeout, show)
        bad_workflow = []
        snakemake = str(Path(sys.executable).parent / "snakemake")
        for seed in random.Random(first).sample(range(first, first + cases), min(args.workflow, cases)):
            outcome, problem = workflow_case(seed, Path(tmp), snakemake)
            print(f"workflow seed {seed}: {outcome.status}: {problem.splitlines()[0] if problem else 'agrees'}")
            if problem:
                bad_workflow.append(problem)
    counts = Counter(o.status for o in outcomes)
    print(f"{cases} case(s) from seed {first} in {time.monotonic() - start:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    failed = [o for o in outcomes if o.status in FAILURES]
    if failed:
        print("reproduce one: make fuzz SEED=<seed>  (python tests/fuzz/fuzzer.py --seed <seed>)")
    return 1 if failed or bad_workflow else 0


if __name__ == "__main__":
    sys.exit(main())
