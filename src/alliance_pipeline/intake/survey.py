"""Form exports as a cohort's raw input (the cohort's ``survey:`` block in config).

One export per time point — ``.csv`` in the cohort's encoding (read by intake's CSV reader,
with its located messages) or ``.xlsx`` (openpyxl, read-only, saved values), optionally one
named sheet — with one row per participant and one column per question. Only the participant
column and the columns of the questions asked at that export's time point are taken; every
other column (timestamps, e-mail addresses, consent ticks) is never copied into a table, a
log or a message. An empty answer means the participant did not answer: no response row.

Response ids are ``<participant>.<timepoint>.<question>`` (e.g. ``P01.pre1.session_experience``).
A character of the participant id outside ``A-Z a-z 0-9 _ -`` is written as ``~`` and two
hex digits per UTF-8 byte (``P.1`` -> ``P~2e1``), so ids use only ``A-Z a-z 0-9 _ - . ~``,
never clash, and the same exports always give the same ids, whatever rows are added.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pandas as pd

from alliance_pipeline.cohort_files import survey_file
from alliance_pipeline.config import did_you_mean
from alliance_pipeline.intake.characters import WidthFolding, character_note
from alliance_pipeline.intake.csv_parser import parse_csv, unfinished_last_line
from alliance_pipeline.intake.decoding import decode
from alliance_pipeline.intake.personal_data import email_column_problem
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.responses import participant_key, similar_id_message
from alliance_pipeline.privacy import participant_id_problem

_SAFE = re.compile(r"[A-Za-z0-9_-]")
COLUMNS = ["response_id", "participant_id", "timepoint", "question", "text"]


def response_id(participant_id: str, timepoint: str, question: str) -> str:
    """``<participant>.<timepoint>.<question>``; unsafe characters as ``~`` + hex of each byte."""
    safe = "".join(ch if _SAFE.fullmatch(ch) else "".join(f"~{b:02x}" for b in ch.encode("utf-8"))
                   for ch in participant_id)
    return f"{safe}.{timepoint}.{question}"


class _Export:
    """One export read into its header and the cells of the columns we take (nothing else)."""

    def __init__(self, path: Path, sheet: str | None):
        self.path, self.sheet = path, sheet
        self.header: list[str] = []
        self.header_row = 1
        self.rows: list[tuple[int, dict[str, str]]] = []  # (spreadsheet row, {header: text})
        self.positions: dict[str, int] = {}

    def where(self, row: int | None, header: str | None = None, **kw) -> dict:
        """Problem location: file, sheet and A1 cell for workbooks; file, row, column for CSV."""
        if self.sheet is not None and row is not None and header in self.positions:
            from openpyxl.utils import get_column_letter
            cell = f"{get_column_letter(self.positions[header] + 1)}{row}"
            return dict(file=str(self.path), row=None, column=header, sheet=self.sheet, cell=cell, **kw)
        return dict(file=str(self.path), row=row, column=header, sheet=self.sheet, **kw)


def _header_problems(export: _Export, wanted: dict[str, tuple[str, str]], timepoint: str
                     ) -> list[Problem]:
    """Columns of ``wanted`` ({header: (what it holds, its config key)}) missing from the
    header row, or doubled."""
    problems = []
    names = [h for h in export.header if h]
    for header, (what, key) in wanted.items():
        count = export.header.count(header)
        if count == 1:
            export.positions[header] = export.header.index(header)
            continue
        if count > 1:
            message = (f"the column of {what} appears {count} times in the header row (row "
                       f"{export.header_row}); keep one")
        else:
            message = (f"the column of {what} is not in the header row (row {export.header_row}) "
                       f"of the {timepoint} export; the header has {', '.join(names) or 'no names'}"
                       f"{did_you_mean(header, names)}; correct {key} in config/config.yaml (it must equal the header exactly) or the export's header")
        problems.append(Problem(**export.where(export.header_row, header, value=None, message=message)))
    return problems


def _read_csv(export: _Export, encoding: str, wanted: list[str], warnings: list[Problem]) -> list[Problem]:
    with open(export.path, "rb") as handle:  # read-only: raw files are never written
        data = handle.read()
    text, problems = decode(data, str(export.path), encoding)
    if text is None:
        return problems
    frame, problems = parse_csv(text, str(export.path), [], wanted, allow_no_rows=True, only_kept=True)
    if frame is None:
        return problems
    export.header = [h.strip() for h in next(csv.reader(io.StringIO(text, newline="")), [])]
    warnings += unfinished_last_line(text, str(export.path), frame) if len(frame) else []
    kept = [c for c in wanted if c in frame.columns]
    export.rows = [(int(row), dict(zip(kept, values, strict=True)))
                   for row, *values in frame[["spreadsheet_row", *kept]].itertuples(index=False)]
    return problems


def _read_xlsx(export: _Export, wanted: list[str]) -> list[Problem]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    from alliance_pipeline.intake.xlsx import DAMAGED, damage

    unreadable = ("is not a readable .xlsx workbook (an .xls or .ods file, or a "
                  "password-protected one, renamed?); open it and save it as 'Excel "
                  "Workbook (.xlsx)' without a password")
    try:
        book = load_workbook(export.path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        return [Problem(str(export.path), None, None, None, unreadable)]
    except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        return [Problem(str(export.path), None, None, None,
                        f"is damaged ({damage(err)}); {unreadable}")]
    try:
        return _read_sheet(book, export, wanted)
    except DAMAGED as err:  # read-only sheets are unzipped and parsed only while read
        return [Problem(str(export.path), None, None, None,
                        f"is damaged ({damage(err)}); open it and save "
                        "it as 'Excel Workbook (.xlsx)' again, or export the form's responses again")]
    finally:
        book.close()


def _read_sheet(book, export: _Export, wanted: list[str]) -> list[Problem]:
    """The export's sheet: its header row and the rows with answers (into ``export``)."""
    from alliance_pipeline.intake.xlsx import cell_text

    if export.sheet is None:
        sheet = book.worksheets[0]
        export.sheet = sheet.title
    elif export.sheet in book.sheetnames:
        sheet = book[export.sheet]
    else:
        return [Problem(str(export.path), None, None, None,
                        f"has no sheet {export.sheet!r} (its sheets: {', '.join(book.sheetnames)})"
                        f"{did_you_mean(export.sheet, book.sheetnames)}; correct the `sheet:` "
                        "of this export in config/config.yaml")]
    header = None
    for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        cells = [cell_text(v) for v in values]
        if header is None:
            if any(c.strip() for c in cells):
                header, export.header_row = [c.strip() for c in cells], number
                export.header = header
                positions = {h: header.index(h) for h in wanted if h in header}
            continue
        row = {h: (cells[i] if i < len(cells) else "") for h, i in positions.items()}
        if any(v.strip() for v in row.values()):
            export.rows.append((number, row))
    if header is None:
        return [Problem(str(export.path), None, None, None,
                        f"sheet {export.sheet} is empty; export the form's responses again")]
    return []


def read_survey(raw_dir: str | Path, survey: dict, *, cohort: str, encoding: str, timepoints: list[str],
                questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                warnings: list[Problem] | None = None
                ) -> tuple[pd.DataFrame | None, pd.DataFrame, list[Problem]]:
    """Read a cohort's form exports into responses (``COLUMNS`` plus ``item``, empty).

    Returns ``(responses or None, unanswered, problems)``: ``unanswered`` lists
    ``timepoint, question, participant_id`` for every empty answer. Checks, each problem
    located (file, row and column, or sheet and cell): the file reads; the participant
    column and each question's column are in the header (with the nearest header name);
    a pseudonymous participant id on every row with answers; a participant once per export;
    ids equal up to case or leading zeros across the exports (unless ``allow_similar_ids``).
    """
    raw_dir = Path(raw_dir)
    warnings = [] if warnings is None else warnings
    participant_column = survey["participant_column"].strip()
    problems: list[Problem] = []
    records, unanswered = [], []
    first_seen: dict[str, tuple[str, str]] = {}  # participant key -> (id, its export)
    folding = WidthFolding()
    ordered = [tp for tp in timepoints if tp in survey["files"]]
    for timepoint in ordered:
        name, sheet = survey_file(survey["files"][timepoint])
        export = _Export(raw_dir / name, sheet)
        asked = {qid: header.strip() for qid, header in survey["questions"].items()
                 if qid in questions and timepoint in questions[qid]["timepoints"]}
        wanted = [participant_column, *asked.values()]
        if export.path.suffix.lower() == ".xlsx":
            found = _read_xlsx(export, wanted)
        else:
            found = _read_csv(export, encoding, wanted, warnings)
        if not found:
            where = f"cohorts.{cohort}.survey"
            holds = {participant_column: ("the participant", f"{where}.participant_column"),
                     **{header: (f"question {qid}", f"{where}.questions.{qid}")
                        for qid, header in asked.items()}}
            found = _header_problems(export, holds, timepoint)
        if not found and not export.rows:
            found = [Problem(str(export.path), None, None, None,
                             "has a header but no responses; export the form's responses again")]
        problems += found
        if found:
            continue
        seen: dict[str, int] = {}
        emails = email_column_problem(  # the e-mail column named by mistake: refused whole
            [cells[participant_column] for _, cells in export.rows], file=str(export.path),
            column=participant_column, fix=f"set cohorts.{cohort}.survey.participant_column in "
            "config/config.yaml to the column of the participants' pseudonyms (such as P01)")
        if emails:
            problems.append(emails)
            continue
        for row, cells in export.rows:
            typed = cells[participant_column].strip()
            pid = folding.value(typed, **export.where(row, participant_column))  # NFKC: Ｐ０５ -> P05
            answers = {qid: cells[header] for qid, header in asked.items()}
            if not pid:
                if any(a.strip() for a in answers.values()):
                    problems.append(Problem(**export.where(
                        row, participant_column, value="",
                        message="is empty but the row has answers; fill in the participant's "
                                "pseudonym (or delete the row if it is a test submission)")))
                continue
            why = participant_id_problem(pid, id_pattern)
            if why:
                problems.append(Problem(**export.where(row, participant_column, value=typed,
                                                       message=why + character_note(typed, pid))))
                continue
            if pid in seen:
                problems.append(Problem(**export.where(
                    row, participant_column, value=pid,
                    message=f"appears twice in this export, in rows {seen[pid]} and {row}; keep "
                            "the participant's one submission and delete the other row")))
                continue
            seen[pid] = row
            key = participant_key(pid)
            if not allow_similar_ids and key in first_seen and first_seen[key][0] != pid:
                other, other_export = first_seen[key]
                problems.append(Problem(**export.where(
                    row, participant_column, value=pid,
                    message=similar_id_message(other, f"in {other_export}"))))
                continue
            first_seen.setdefault(key, (pid, str(export.path)))
            for qid, text in answers.items():
                if text.strip():
                    records.append((response_id(pid, timepoint, qid), pid, timepoint, qid, text))
                else:
                    unanswered.append((timepoint, qid, pid))
    unanswered = pd.DataFrame(unanswered, columns=["timepoint", "question", "participant_id"])
    warnings += folding.warnings()
    if problems:
        return None, unanswered, problems
    responses = pd.DataFrame(records, columns=COLUMNS, dtype=object)
    responses["item"] = ""
    return responses, unanswered, []
