"""Reading and validating one cohort's raw files (data/raw/<cohort>/).

Every rule of the data contract is checked and every problem of a file is reported at
once, each naming the file, the row as a spreadsheet shows it (the header is row 1), the
column, the value and what to do. Raw files are opened read-only and never written.

Files: ``responses.csv``; ``codes/<coder>.csv`` or the filled coding workbook
``codes/<coder>.xlsx`` (two or more coders; workbooks are read by
:mod:`alliance_pipeline.coding.workbooks`, problems then name sheet and A1 cell); optional
``adjudication.csv`` or ``adjudication.xlsx``. Output: normalised frames (see
docs/development.md).
"""
from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
import sys
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from alliance_pipeline.cohort_files import coder_files, not_a_file
from alliance_pipeline.config import did_you_mean
from alliance_pipeline.privacy import participant_id_problem, scan_texts

RESPONSE_COLUMNS = ["response_id", "participant_id", "timepoint", "question", "text"]
CODING_COLUMNS = ["response_id", "codes"]
ADJUDICATION_COLUMNS = ["response_id", "codes", "rationale"]
MAX_LISTED = 50  # problems listed per file before "... and N more"

# The csv module refuses cells over 131,072 characters with a bare "field larger than field
# limit" error; a quote left open in a large file makes such a cell. The whole file is in
# memory already, so the limit protects nothing: lift it, and the unclosed quote is reported
# as in a small file.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class Problem:
    """One problem of an input file: where it is, what it is, what to do."""
    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    sheet: str | None = None  # workbooks (.xlsx): the sheet and the A1 cell
    cell: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.sheet is not None:
            where += f", sheet {self.sheet}"
        if self.cell is not None:
            where += f", cell {self.cell}"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        value = "" if self.value is None else f" {_show(self.value)}"
        return f"{where}:{value} {self.message}"


def _show(value: str) -> str:
    text = value if len(value) <= 60 else value[:57] + "..."
    return repr(text)


class IntakeError(ValueError):
    """Raised with every problem found in a cohort's raw files."""

    def __init__(self, cohort: str, problems: list[Problem]):
        self.cohort = cohort
        self.problems = problems
        by_file: dict[str, list[Problem]] = {}
        for p in problems:
            by_file.setdefault(p.file, []).append(p)
        lines = []
        for items in by_file.values():
            lines += [f"  - {p}" for p in items[:MAX_LISTED]]
            if len(items) > MAX_LISTED:
                lines.append(f"  ... and {len(items) - MAX_LISTED} more in {items[0].file}")
        super().__init__(f"cohort {cohort!r}: {len(problems)} problem(s) in the raw files:\n"
                         + "\n".join(lines))


def _codec_name(encoding: str) -> str:
    """utf-8 is read as utf-8-sig so a byte-order mark (Excel's UTF-8 CSV) is tolerated."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else encoding


def _where_in_text(prefix: str) -> tuple[int, int]:
    """Spreadsheet row (header = 1) and 0-based cell index of the position just after ``prefix``."""
    rows = list(csv.reader(io.StringIO(prefix + "\x01", newline="")))
    return len(rows), len(rows[-1]) - 1


# Blocks of characters real texts are made of (Latin, Greek, Cyrillic, punctuation and
# symbols, CJK punctuation, kana, kanji, full- and half-width forms).
_TEXT_BLOCKS = ((0x00A0, 0x052F), (0x2000, 0x27BF), (0x3000, 0x30FF), (0x3400, 0x4DBF),
                (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def _plausible_share(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that belong to :data:`_TEXT_BLOCKS`."""
    others = [ord(c) for c in text if ord(c) > 0x7F]
    if not others:
        return 1.0
    return sum(any(lo <= c <= hi for lo, hi in _TEXT_BLOCKS) for c in others) / len(others)


def _probably_utf8(data: bytes, codec: str) -> bool:
    """Whether bytes that are to be read as ``codec`` are really UTF-8.

    True when they are valid UTF-8 and either cannot be read as ``codec`` or read as
    ``codec`` give characters that real texts rarely contain. Valid UTF-8 occurs by chance
    in short cp932 texts (cp932 "﨑①" reads as UTF-8 Hangul), so a tie keeps the
    configured encoding: a real cp932 file is never refused.
    """
    try:
        as_utf8 = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    try:
        configured = _plausible_share(data.decode(codec))
    except UnicodeDecodeError:
        return True
    return _plausible_share(as_utf8) > configured


def _reads_as_csv(text: str, plausible: bool = True) -> bool:
    """Whether decoded text looks like a comma-separated file (not mojibake): a comma in the
    first line, no NUL characters and (``plausible``) non-ASCII characters from real scripts.

    UTF-8 bytes read as UTF-16 never give a comma (each character takes two bytes of text),
    so for a configured UTF-16/32 the first two tests suffice and emoji-rich texts pass.
    """
    head = text[:4000]
    first_line = head.split("\n", 1)[0]
    return ("," in first_line and "\x00" not in head
            and (not plausible or _plausible_share(head) >= 0.9))


def fitting_encoding(data: bytes) -> str | None:
    """The encoding (utf-8, utf-16, utf-16-le, utf-16-be or cp932, tried in that order) in
    which ``data`` reads as comma-separated text, or None."""
    for encoding in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "cp932"):
        if encoding == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            continue
        try:
            text = data.decode(_codec_name(encoding))
        except UnicodeDecodeError:
            continue
        if _reads_as_csv(text):
            return encoding
    return None


def _misfit_encoding(data: bytes, path: str, encoding: str, codec: str) -> Problem | None:
    """Bytes that decode without error as the configured UTF-16/32 (or as UTF-8 while every
    other byte is 0) but read as mojibake: a short excerpt and the encoding that fits."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            text = data[:200].decode(codec, errors="replace")
        if _reads_as_csv(text, plausible=False):
            return None
    elif data.count(0) * 4 < len(data[:4000]) or b"\x00" not in data[:4000]:
        return None  # a stray NUL is reported where it is (row and column)
    else:
        text = data[:200].decode(codec, errors="replace")
    fit = fitting_encoding(data)
    excerpt = text[:40]
    how = (f"they read as {fit}: set `encoding: {fit}` for this cohort in config/config.yaml "
           "(all files of a cohort share one encoding), or save the file as 'CSV UTF-8 "
           "(Comma delimited)'" if fit else
           "save the file as 'CSV UTF-8 (Comma delimited)' and set `encoding: utf-8`")
    return Problem(path, None, None, None,
                   f"does not read as {encoding} text (read so, it begins {excerpt!r}); {how}")


def decode(data: bytes, path: str, encoding: str) -> tuple[str | None, list[Problem]]:
    """Decode a raw file; an undecodable byte is a problem naming its row, column and the fix.

    Also refused, because they would otherwise be read as garbled text without any error:
    UTF-16 files (Excel's "Unicode Text") and UTF-8 files read with another configured
    encoding (e.g. ``cp932``).
    """
    fix_encoding = "the cohort's `encoding:` in config/config.yaml"
    try:
        codec = _codec_name(encoding)
    except LookupError:
        return None, [Problem(path, None, None, encoding,
                              f"is not an encoding Python knows; set {fix_encoding} to e.g. "
                              "utf-8 or cp932")]
    name = codecs.lookup(encoding).name
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not name.startswith("utf-16"):
        return None, [Problem(path, None, None, None,
                              "is UTF-16 text (Excel's 'Unicode Text'); save it as "
                              "'CSV UTF-8 (Comma delimited)'")]
    if not name.startswith("utf") and not data.isascii() and _probably_utf8(data, codec):
            return None, [Problem(path, None, None, None,
                                  f"is UTF-8 text but the cohort's encoding is {encoding}; set "
                                  f"`encoding: utf-8` for this cohort in config/config.yaml "
                                  "(all files of a cohort share one encoding)")]
    misfit = _misfit_encoding(data, path, encoding, codec)
    if misfit:
        return None, [misfit]
    try:
        return data.decode(codec), []
    except UnicodeDecodeError as err:
        prefix = data[: err.start].decode(codec, errors="replace")
        row, cell = _where_in_text(prefix)
        header = next(csv.reader(io.StringIO(prefix, newline="")), []) if row > 1 else []
        column = header[cell].strip() if cell < len(header) else None
        if column is not None and len(column) > 40:  # not a header: garbled text
            row, column = None, None
        bad = " ".join(f"0x{b:02x}" for b in data[err.start: err.start + 3])
        hint = ("if the file was saved by Excel on Japanese Windows, set `encoding: cp932` "
                "for this cohort in config/config.yaml"
                if name == "utf-8" else
                f"check {fix_encoding} (utf-8 for files saved as 'CSV UTF-8')")
        return None, [Problem(path, row, column, None,
                              f"contains bytes that are not valid {encoding} text ({bad} at "
                              f"byte {err.start}); {hint}")]


def _normalised_name(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def _near_column(column: str, header: list[str]) -> str | None:
    """The header name that was probably meant as ``column`` (case, spaces, typos)."""
    for name in header:
        if name and _normalised_name(name) == column:
            return name
    near = difflib.get_close_matches(column, [_normalised_name(h) for h in header], n=1, cutoff=0.6)
    if near:
        return next(h for h in header if _normalised_name(h) == near[0])
    return None


def _malformed_quote(text: str, path: str, header: list[str]) -> Problem | None:
    """A quote that is never closed, or text after a closing quote (a strict parse fails).

    Python's lenient reader would silently swallow the rest of the file into one cell, or
    drop the quote characters; both change data without a trace, so they are refused.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records = 0
    try:
        for _ in reader:
            records += 1
    except csv.Error as err:
        row = records + 1
        if "unexpected end of data" not in str(err):
            return Problem(path, row, None, None,
                           "has a quote (\") that does not end its cell: a quote left open (then "
                           "a later quote closes it) or text after a closing quote; put the whole "
                           "cell in quotes and double every quote inside it (\"\")")
        lenient = list(csv.reader(io.StringIO(text, newline="")))
        cells = lenient[row - 1] if row - 1 < len(lenient) else []
        cell = max(len(cells) - 1, 0)
        column = header[cell] if row > 1 and cell < len(header) else None
        value = cells[cell] if cells else None
        what = ("a quote (\") opens a cell here but is never closed, so the rest of the "
                "file would be read as one cell; close the quote")
        if not text.endswith(("\n", "\r")):
            what = ("the file looks truncated: it ends inside this quoted cell (no closing "
                    "quote, no line break at the end); copy or export the whole file again, "
                    "or close the quote")
        return Problem(path, row, column, value, what)
    return None


def _nul_problem(text: str, path: str, header: list[str]) -> Problem | None:
    """A NUL character: text files never hold one, and it would be copied into the tables."""
    at = text.find("\x00")
    if at < 0:
        return None
    row, cell = _where_in_text(text[:at])
    column = header[cell] if row > 1 and cell < len(header) else None
    return Problem(path, row, column, None,
                   f"contains a NUL byte (0x00; {text.count(chr(0))} in the file): the file is "
                   "damaged or not plain text; export it again from the spreadsheet as "
                   "'CSV UTF-8 (Comma delimited)'")


def read_csv_text(text: str, path: str, required: list[str], optional: list[str] = ()
                  ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Parse CSV text into a frame of strings (nothing converted, whitespace kept in text).

    Row numbers are spreadsheet rows: the header is row 1, the first record row 2 (a quoted
    newline inside a cell does not start a new row). Checks: empty file, header only,
    a semicolon/tab-delimited file, missing columns (with the nearest existing name), an
    unclosed quote, records with too many or too few cells. Columns without a name whose
    cells are all empty (Excel's trailing commas) are ignored.

    The frame is returned with the rows that could be read even when some rows have
    problems, so the caller can report every problem of the file at once.
    """
    return _parse_csv(text, path, required, optional, allow_no_rows=False)


def _parse_csv(text: str, path: str, required: list[str], optional=(), *, allow_no_rows: bool,
               only_kept: bool = False) -> tuple[pd.DataFrame | None, list[Problem]]:
    """See :func:`read_csv_text`. ``only_kept``: columns other than ``required`` and
    ``optional`` are not checked (duplicate or missing names) and their values never appear
    in a problem (survey exports: e-mail and timestamp columns are not ours to read)."""
    keep_all = list(required) + [c for c in optional if c not in required]
    if not text.strip():
        if allow_no_rows:
            return _empty_frame(required), []
        return None, [Problem(path, None, None, None,
                              f"is empty; it needs a header row ({', '.join(required)}) and data rows")]
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not any(cell.strip() for cell in rows[0]):
        return None, [Problem(path, 1, None, None,
                              "row 1 must be the header row "
                              f"({', '.join(required)}); delete the empty rows above it")]
    header = [h.strip() for h in rows[0]]
    if len(header) == 1 and any(d in rows[0][0] for d in (";", "\t")):
        delim = "semicolon" if ";" in rows[0][0] else "tab"
        return None, [Problem(path, 1, None, rows[0][0],
                              f"is {delim}-separated; save it as comma-separated CSV "
                              "(in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')")]
    nul = _nul_problem(text, path, header)
    if nul:
        return None, [nul]
    malformed = _malformed_quote(text, path, header)
    if malformed:
        if only_kept and malformed.column not in keep_all:
            malformed = replace(malformed, value=None)
        return None, [malformed]
    problems = []
    missing = [c for c in required if c not in header]
    for column in missing:
        near = _near_column(column, [h for h in header if h not in keep_all])
        hint = f" (is {near!r} meant to be {column!r}? rename it)" if near else ""
        names = ", ".join(h for h in header if h) or "no names"
        if len(names) > 200:
            names = names[:197] + "..."
        problems.append(Problem(path, 1, column, None,
                                f"required column is missing; the header has {names}{hint}"))
    duplicates = sorted({h for h in header if h and header.count(h) > 1
                         and (h in keep_all or not only_kept)})
    for column in duplicates:
        problems.append(Problem(path, 1, column, None,
                                "column appears more than once in the header; keep one"))
    body = rows[1:]
    for index, name in enumerate(header):
        if name or only_kept:
            continue
        filled = next((number for number, row in enumerate(body, start=2)
                       if index < len(row) and row[index].strip()), None)
        if filled is not None:
            problems.append(Problem(path, 1, None, None,
                                    f"column {index + 1} has no name in the header but has values "
                                    f"(first in row {filled}); give it a name or delete it"))
    if problems:
        return None, problems
    records = [r for r in body if any(cell.strip() for cell in r)]
    if not records:
        if allow_no_rows:
            return _empty_frame(required), []
        return None, [Problem(path, None, None, None, "has a header but no data rows")]
    keep = [c for c in header if c in keep_all]
    positions = [header.index(c) for c in keep]
    # Excel writes trailing empty cells for formatted but empty columns: tolerated.
    width = len(header)
    while width > 1 and not header[width - 1]:
        width -= 1
    out_rows, row_numbers = [], []
    for number, row in enumerate(body, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if not width <= len(row) <= len(header):
            problems.append(Problem(path, number, None, None,
                                    f"has {len(row)} cells but the header has {width} columns; "
                                    "check for an unquoted comma or a missing quote"))
            continue
        out_rows.append([row[i] if i < len(row) else "" for i in positions])
        row_numbers.append(number)
    frame = pd.DataFrame(out_rows, columns=keep, dtype=object)
    frame["spreadsheet_row"] = row_numbers
    return frame, problems


def _empty_frame(columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame["spreadsheet_row"] = pd.Series(dtype=int)
    return frame


def read_raw(path: Path, encoding: str, required: list[str], optional: list[str] = ()
             ) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a raw CSV read-only, decode it and parse it (see :func:`read_csv_text`)."""
    return _read_raw(path, encoding, required, optional, allow_no_rows=False)


def _read_raw(path: Path, encoding: str, required: list[str], optional=(), *, allow_no_rows: bool,
              warnings: list[Problem] | None = None, only_kept: bool = False
              ) -> tuple[pd.DataFrame | None, list[Problem]]:
    with open(path, "rb") as handle:  # read-only: raw files are never written
        data = handle.read()
    text, problems = decode(data, str(path), encoding)
    if text is None:
        return None, problems
    frame, problems = _parse_csv(text, str(path), required, optional, allow_no_rows=allow_no_rows,
                                 only_kept=only_kept)
    if warnings is not None and frame is not None and len(frame):
        warnings += _unfinished_last_line(text, str(path), frame)
    return frame, problems


def _unfinished_last_line(text: str, path: str, frame: pd.DataFrame) -> list[Problem]:
    """A file that does not end with a line break may have been cut short in its last cell.

    Only a warning: some programs (Google Sheets) write no final line break.
    """
    if text.endswith(("\n", "\r")):
        return []
    row = int(frame["spreadsheet_row"].iloc[-1])
    return [Problem(path, row, None, None,
                    "the file does not end with a line break: if it was cut short (an "
                    f"interrupted copy or download), row {row} is incomplete; check that its "
                    "last cell is whole")]


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(";") if c.strip()]


RESPONSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESPONSE_ID_CHARACTERS = "ASCII letters and digits, then also _ - ."
# Letters of other alphabets that look like Latin ones (Cyrillic, Greek).
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХУаеорсухіјѕΑΒΕΖΗΙΚΜΝΟΡΤΥΧοі",
                            "ABEKMHOPCTXYaeopcyxijsABEZHIKMNOPTYXoi")


def _foreign_character(value: str) -> str | None:
    """The first character of an id outside :data:`RESPONSE_ID_CHARACTERS`, named."""
    for char in value:
        if not (char.isascii() and (char.isalnum() or char in "_.-")):
            name = unicodedata.name(char, "a control character")
            return f"{name} (U+{ord(char):04X})"
    return None


def _id_key(value: str) -> str:
    """An id folded for "did you mean": width (NFKC), look-alike letters, invisible marks,
    case and leading zeros."""
    folded = unicodedata.normalize("NFKC", value).translate(_LOOKALIKES)
    folded = "".join(c for c in folded if unicodedata.category(c) not in ("Cf", "Cc", "Zs"))
    return participant_key(folded)


def participant_key(participant_id: str) -> str:
    """The id with case folded and leading zeros of each number removed: ``P05`` -> ``p5``."""
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", participant_id.casefold())


def similar_id_message(other: str, where: str) -> str:
    """Why a participant id is refused that differs from ``other`` (found ``where``, e.g.
    "row 4" or "in pre1.csv") only in case or zero-padding."""
    return (f"differs from {other!r} ({where}) only in upper/lower case or leading zeros, so "
            "the two would be taken as different people; write the same id for the same "
            "person, or set privacy.allow_similar_participant_ids: true in config/config.yaml "
            "if they really are different people")


def _similar_participant_ids(frame: pd.DataFrame, path: str) -> list[Problem]:
    """Ids that differ only in case or zero-padding (P05, p05, P5) are probably one person."""
    first: dict[str, tuple[str, int]] = {}
    reported: set[str] = set()
    problems = []
    for pid, row in zip(frame["participant_id"], frame["spreadsheet_row"]):
        if not pid:
            continue
        key = participant_key(pid)
        if key not in first:
            first[key] = (pid, row)
        elif first[key][0] != pid and pid not in reported:
            reported.add(pid)
            other, other_row = first[key]
            problems.append(Problem(path, row, "participant_id", pid,
                                    similar_id_message(other, f"row {other_row}")))
    return problems


def validate_responses(frame: pd.DataFrame, path: str, *, timepoints: list[str],
                       questions: dict, id_pattern: str, allow_similar_ids: bool = False
                       ) -> list[Problem]:
    """Contract rules for responses.csv (ids, time points, questions, pseudonyms, items)."""
    problems = []
    for column in ("response_id", "participant_id", "timepoint", "question"):
        frame[column] = frame[column].str.strip()
    seen: dict[str, int] = {}
    checked_ids: dict[str, str | None] = {}
    for rec in frame.itertuples(index=False):
        row = rec.spreadsheet_row
        if not rec.response_id:
            problems.append(Problem(path, row, "response_id", "",
                                    "is empty; every response needs a unique id"))
        elif not RESPONSE_ID.fullmatch(rec.response_id):
            foreign = _foreign_character(rec.response_id)
            what = (f"contains {foreign}" if foreign else "does not start with a letter or digit")
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"{what}; response ids are made of {RESPONSE_ID_CHARACTERS} "
                                    "(a look-alike letter of another alphabet or an invisible "
                                    "mark would not match the coder files): retype the id"))
        elif rec.response_id in seen:
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"is a duplicate of row {seen[rec.response_id]}; ids must be "
                                    "unique, give one of them a new id"))
        else:
            seen[rec.response_id] = row
        if not rec.participant_id:
            problems.append(Problem(path, row, "participant_id", "",
                                    "is empty; give every response its participant's pseudonym"))
        else:
            if rec.participant_id not in checked_ids:
                checked_ids[rec.participant_id] = participant_id_problem(rec.participant_id, id_pattern)
            why = checked_ids[rec.participant_id]
            if why:
                problems.append(Problem(path, row, "participant_id", rec.participant_id, why))
        if rec.timepoint not in timepoints:
            problems.append(Problem(path, row, "timepoint", rec.timepoint,
                                    f"is not a study time point ({', '.join(timepoints)})"
                                    f"{did_you_mean(rec.timepoint, timepoints)}; correct it, or "
                                    "add it to study.timepoints in config/config.yaml"))
        if rec.question not in questions:
            problems.append(Problem(path, row, "question", rec.question,
                                    f"is not a question of the codebook ({', '.join(questions)})"
                                    f"{did_you_mean(rec.question, questions)}; correct it, or add "
                                    "the question to the codebook"))
        elif rec.timepoint in timepoints and rec.timepoint not in questions[rec.question]["timepoints"]:
            problems.append(Problem(path, row, "timepoint", rec.timepoint,
                                    f"is not a time point of question {rec.question} (asked only "
                                    f"at {', '.join(questions[rec.question]['timepoints'])}); "
                                    "correct the time point or the question, or add the time "
                                    "point to the question's timepoints in the codebook"))
    key = ["participant_id", "question", "timepoint"] + (["item"] if "item" in frame.columns else [])
    items = frame["item"].str.strip() if "item" in frame.columns else None
    keyed = frame.assign(item=items) if items is not None else frame
    keyed = keyed[(keyed["participant_id"] != "") & keyed["timepoint"].isin(timepoints)
                  & keyed["question"].isin(list(questions))]
    dup = keyed[keyed.duplicated(key, keep=False)]
    for _, group in dup.groupby(key, sort=False):
        rows = group["spreadsheet_row"].tolist()
        what = "participant, question, time point" + (" and item" if "item" in frame.columns else "")
        fix = ("give each a distinct item" if "item" in frame.columns else
               "add an `item` column if participants answered several items, or remove the duplicate")
        for later in rows[1:]:
            problems.append(Problem(path, later, "participant_id", group["participant_id"].iloc[0],
                                    f"has a second response for the same {what} as row {rows[0]}; {fix}"))
    if not allow_similar_ids:
        problems += _similar_participant_ids(frame, path)
    problems.sort(key=lambda p: (p.row or 0))
    return problems


SEPARATOR_LOOKALIKES = (",", "\uff1b", "\u3001", "\uff0c", " ", "|", "/")  # , ； 、 ， space | /


def _code_problem(value: str, question: str, questions: dict) -> tuple[str | None, str | None]:
    """(the offending code or None for the whole cell, why) or (None, None) when valid."""
    codes = _split_codes(value)
    own = questions[question]["codes"]
    for code in codes:
        if code not in own:
            other = [q for q, spec in questions.items() if code in spec["codes"]]
            if other:
                return code, (f"belongs to question {other[0]}, not {question} "
                              f"(codes of {question}: {', '.join(own)})")
            if any(sep in code for sep in SEPARATOR_LOOKALIKES):
                return code, (f"is not a code of question {question} ({', '.join(own)}); "
                              "separate several codes with a semicolon, e.g. hooked;anxious")
            return code, (f"is not a code of question {question} ({', '.join(own)})"
                          f"{did_you_mean(code, own)}")
    if len(set(codes)) != len(codes):
        return None, "lists the same code twice; keep it once"
    if not questions[question]["multi_label"] and len(codes) > 1:
        return None, (f"question {question} is single-label: give at most one code "
                      "(settle on one in the consensus meeting)")
    return None, None


def normalise_codes(value: str, question: str, questions: dict) -> str:
    """Codes in codebook order, ``;``-joined."""
    codes = set(_split_codes(value))
    return ";".join(c for c in questions[question]["codes"] if c in codes)


def validate_coding(frame: pd.DataFrame, path: str, *, response_question: dict[str, str],
                    questions: dict) -> list[Problem]:
    """Contract rules for one coder file or adjudication.csv."""
    problems = []
    frame["response_id"] = frame["response_id"].str.strip()
    seen: dict[str, int] = {}
    copies: dict[str, int] = {}
    near: dict[str, str] | None = None  # folded id -> id of responses.csv, built when needed
    for rec in frame.itertuples(index=False):
        row = rec.spreadsheet_row
        if rec.response_id not in response_question:
            if near is None:
                near = {}
                for known in response_question:
                    near.setdefault(_id_key(known), known)
            hint = ""
            meant = near.get(_id_key(rec.response_id))
            if meant:
                foreign = _foreign_character(rec.response_id)
                hint = (f" (it looks like {meant!r}" + (f" but contains {foreign}" if foreign else "")
                        + f"; write it as {meant!r})")
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"is not a response_id of responses.csv{hint}; fix the id or "
                                    "remove the row"))
            continue
        if rec.response_id in seen:
            copies[rec.response_id] = copies.get(rec.response_id, 1) + 1
            times = "twice" if copies[rec.response_id] == 2 else f"{copies[rec.response_id]} times"
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"is coded {times} (first in row {seen[rec.response_id]}); "
                                    "keep one row"))
            continue
        seen[rec.response_id] = row
        code, why = _code_problem(rec.codes, response_question[rec.response_id], questions)
        if why:
            if code is not None and code != rec.codes.strip():  # name the code within the cell
                why = f"code {code!r} {why}"
            problems.append(Problem(path, row, "codes", rec.codes, why))
    return problems


SPREADSHEET_SUFFIXES = {".xlsx", ".xls", ".xlsm", ".ods", ".numbers", ".tsv", ".txt"}
WORKBOOK_SUFFIX = ".xlsx"  # a filled coding workbook (alliance_pipeline.coding.workbooks)


def _coder_files(codes_dir: Path) -> tuple[list[Path], list[Problem]]:
    """The coder files :func:`alliance_pipeline.cohort_files.coder_files` lists (so the workflow and
    intake agree); other entries named *.csv / *.xlsx (folders, broken links), other
    spreadsheets (.xls, .ods, ...) and a coder with both a .csv and an .xlsx file are problems."""
    from alliance_pipeline.coding.workbooks import NOT_XLSX, file_problem

    why = not_a_file(codes_dir, "folder") if not codes_dir.is_dir() else None
    if why or codes_dir.is_file():
        return [], [Problem(str(codes_dir), None, None, None,
                            why or "is a file, not a folder; codes/ holds one <coder_id>.csv per coder")]
    if not codes_dir.is_dir():
        return [], []
    paths, problems = coder_files(codes_dir.parent), []  # the same list the workflow reads
    for path in sorted(codes_dir.iterdir()):
        if path in paths or path.name.startswith(("~$", ".")):
            continue  # read, or Excel (~$name) / LibreOffice (.~lock.name#) lock, hidden file
        if path.suffix in (".csv", WORKBOOK_SUFFIX):  # not a regular file: a folder, broken link
            problems.append(Problem(str(path), None, None, None, not_a_file(path)))
        elif not path.is_file():
            continue
        elif path.suffix.lower() in NOT_XLSX:
            problems.append(file_problem(path))
        elif path.suffix.lower() == ".csv" or path.suffix.lower() in SPREADSHEET_SUFFIXES:
            problems.append(Problem(str(path), None, None, None,
                                    f"is not read: coder files must be CSV files named "
                                    f"<coder_id>.csv; save it as 'CSV UTF-8 (Comma delimited)' named {path.stem}.csv"))
    stems = [p.stem for p in paths]
    for path in paths:
        if path.suffix == WORKBOOK_SUFFIX and stems.count(path.stem) > 1:
            problems.append(Problem(str(path), None, None, None,
                                    f"and {path.stem}.csv are both present, so coder {path.stem} "
                                    "would be read twice; keep one of them (move the other out "
                                    "of codes/)"))
    return paths, problems


def _responses(raw_dir: Path, survey: dict | None, *, cohort: str, encoding: str,
               timepoints: list[str], questions: dict, id_pattern: str,
               allow_similar_ids: bool = False, warnings: list | None = None
               ) -> tuple[pd.DataFrame | None, pd.DataFrame, list[Problem]]:
    """``(responses, unanswered, problems)``: responses.csv, or the form exports of the
    ``survey`` block, read and checked (``item`` filled in as "" when there is none)."""
    warnings = [] if warnings is None else warnings
    unanswered = pd.DataFrame(columns=["timepoint", "question", "participant_id"])
    if survey is not None:
        from alliance_pipeline.intake.survey import read_survey  # survey builds on this module's readers

        responses, unanswered, found = read_survey(
            raw_dir, survey, cohort=cohort, encoding=encoding, timepoints=timepoints,
            questions=questions, id_pattern=id_pattern, allow_similar_ids=allow_similar_ids,
            warnings=warnings)
    else:
        path = raw_dir / "responses.csv"
        responses, found = _read_raw(path, encoding, RESPONSE_COLUMNS, ["item"],
                                     allow_no_rows=False, warnings=warnings)
        if responses is not None:
            found += validate_responses(responses, str(path), timepoints=timepoints,
                                        questions=questions, id_pattern=id_pattern,
                                        allow_similar_ids=allow_similar_ids)
    if found:
        return None, unanswered, sorted(found, key=lambda p: p.row or 0)
    if "item" not in responses.columns:
        responses["item"] = ""
    responses["item"] = responses["item"].str.strip()
    return responses, unanswered, []


def _missing_responses(path: Path) -> Problem:
    """responses.csv is not there as a file: a folder or broken link where it should be, or
    missing."""
    return Problem(str(path), None, None, None,
                   not_a_file(path) or "is missing; every cohort needs responses.csv "
                   "(response_id, participant_id, timepoint, question, text)")


def read_responses(raw_dir: str | Path, *, cohort: str, encoding: str, timepoints: list[str],
                   questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                   survey: dict | None = None) -> pd.DataFrame:
    """A cohort's checked responses alone (for the coding sheets, before any code exists):
    ``response_id, participant_id, timepoint, question, item, text``, from responses.csv or
    the ``survey`` exports. Raises :class:`IntakeError` with every problem found there."""
    raw_dir = Path(raw_dir)
    path = raw_dir / "responses.csv"
    if survey is None and not path.is_file():
        raise IntakeError(cohort, [_missing_responses(path)])
    responses, _, problems = _responses(raw_dir, survey, cohort=cohort, encoding=encoding,
                                        timepoints=timepoints, questions=questions,
                                        id_pattern=id_pattern, allow_similar_ids=allow_similar_ids)
    if problems:
        raise IntakeError(cohort, problems)
    return responses[["response_id", "participant_id", "timepoint", "question", "item", "text"]]


def read_cohort(raw_dir: str | Path, *, cohort: str, encoding: str, timepoints: list[str],
                questions: dict, id_pattern: str, allow_similar_ids: bool = False,
                survey: dict | None = None, require_coders: bool = True,
                coding_key: str = "") -> dict:
    """Read and validate a cohort's raw folder.

    Returns ``{"responses", "codings", "adjudication", "coverage", "coder_files"}`` frames
    (see docs/development.md; ``coverage`` lists per coder the responses not coded,
    ``coder_files`` per coder the file read and whether it is a blinded coding workbook the
    pipeline generated), ``"unanswered"`` (``timepoint, question, participant_id`` of empty
    answers in survey exports) and ``"warnings"``, a list of :class:`Problem` that do not stop
    the run (the intake step logs them). Raises :class:`IntakeError` with every problem found.
    ``allow_similar_ids`` accepts participant ids that differ only in case or leading zeros.
    ``survey``: the cohort's ``survey:`` block; its form exports are read
    (:mod:`alliance_pipeline.intake.survey`) instead of responses.csv. ``require_coders=False``
    (a cohort still being coded) accepts fewer than two coder files: intake then gives the
    responses for the coding sheets and whatever codes have come back. Filled workbooks
    (``codes/<coder>.xlsx``, ``adjudication.xlsx``) are mapped back to responses with
    ``coding_key``.
    """
    raw_dir = Path(raw_dir)
    problems: list[Problem] = []
    if not raw_dir.is_dir():
        raise IntakeError(cohort, [Problem(str(raw_dir), None, None, None,
                                           f"cohort folder does not exist; create it or fix "
                                           f"cohorts.{cohort}.raw in config/config.yaml")])
    responses_path = raw_dir / "responses.csv"
    coder_paths, problems = _coder_files(raw_dir / "codes")
    if not responses_path.is_file() and survey is None:
        problems.append(_missing_responses(responses_path))
    adjudication_path = raw_dir / "adjudication.csv"
    why = not_a_file(adjudication_path)
    if why:
        problems.append(Problem(str(adjudication_path), None, None, None, why))
    if (len(coder_paths) < 2 and require_coders
            and not any(p.file.endswith(".csv") for p in problems)):
        problems.append(Problem(str(raw_dir / "codes"), None, None, None,
                                f"has {len(coder_paths)} coder file(s); agreement and consensus "
                                "need two or more (codes/<coder_id>.csv)"))
    if problems:
        raise IntakeError(cohort, problems)

    warnings: list[Problem] = []
    responses, unanswered, found = _responses(
        raw_dir, survey, cohort=cohort, encoding=encoding, timepoints=timepoints,
        questions=questions, id_pattern=id_pattern, allow_similar_ids=allow_similar_ids,
        warnings=warnings)
    problems += found
    if problems:
        raise IntakeError(cohort, problems)
    response_question = dict(zip(responses["response_id"], responses["question"]))

    codings, coverage, coder_files = [], [], []
    for path in coder_paths:
        coder = path.stem
        if path.suffix == WORKBOOK_SUFFIX:
            frame, found = _read_workbook(path, "coding", cohort, coder, responses, questions,
                                          coding_key)
        else:
            frame, found = _read_raw(path, encoding, CODING_COLUMNS, allow_no_rows=False,
                                     warnings=warnings)
            if frame is not None:
                found += validate_coding(frame, str(path), response_question=response_question,
                                         questions=questions)
        problems += sorted(found, key=lambda p: p.row or 0)
        if found:
            continue
        coder_files.append({"coder": coder, "file": path.name,
                            "blind": "yes" if path.suffix == WORKBOOK_SUFFIX else "no"})
        frame["question"] = frame["response_id"].map(response_question)
        frame["codes"] = [normalise_codes(v, q, questions) for v, q in zip(frame["codes"], frame["question"])]
        frame["coder"] = coder
        codings.append(frame[["response_id", "question", "coder", "codes"]])
        missing = sorted(set(response_question) - set(frame["response_id"]))
        coverage.append({"coder": coder, "n_coded": len(frame), "n_missing": len(missing),
                         "missing": ";".join(missing[:20]) + (";..." if len(missing) > 20 else "")})

    copied = _copied_coder_files(coder_paths)
    warnings += copied
    adjudication = pd.DataFrame(columns=ADJUDICATION_COLUMNS)
    workbook_path = raw_dir / f"adjudication{WORKBOOK_SUFFIX}"
    if workbook_path.is_file() and adjudication_path.is_file():
        problems.append(Problem(str(workbook_path), None, None, None,
                                "and adjudication.csv are both present; keep one of them (move "
                                "the other out of the cohort's folder)"))
    elif workbook_path.is_file():
        adjudication_path = workbook_path
        frame, found = _read_workbook(workbook_path, "adjudication", cohort, "", responses,
                                      questions, coding_key)
        problems += found
        if frame is not None and not found:
            adjudication = frame
    elif adjudication_path.is_file():
        frame, found = _read_raw(adjudication_path, encoding, ["response_id", "codes"],
                                 ["rationale"], allow_no_rows=True, warnings=warnings)
        if frame is not None:
            found += validate_coding(frame, str(adjudication_path),
                                     response_question=response_question, questions=questions)
        # an unreadable adjudication.csv is refused, never dropped: without it the coders'
        # codes (or majority codes) would silently take the place of the adjudicated ones
        problems += sorted(found, key=lambda p: p.row or 0)
        if frame is not None and not found:
            if "rationale" not in frame.columns:
                frame["rationale"] = ""
            frame["codes"] = [normalise_codes(v, response_question[r], questions)
                              for v, r in zip(frame["codes"], frame["response_id"])]
            adjudication = frame
    if problems:
        raise IntakeError(cohort, problems)

    codings = (pd.concat(codings, ignore_index=True) if codings else
               pd.DataFrame(columns=["response_id", "question", "coder", "codes"]))
    problems += _adjudication_of_agreed(adjudication, codings, str(adjudication_path))
    if problems:
        # a copied coder file is the likely cause of "adjudication of agreed responses"
        raise IntakeError(cohort, copied + problems)

    order_q = {q: i for i, q in enumerate(questions)}
    order_t = {t: i for i, t in enumerate(timepoints)}
    responses = (responses.assign(_q=responses["question"].map(order_q),
                                  _t=responses["timepoint"].map(order_t))
                 .sort_values(["_q", "_t", "participant_id", "item", "response_id"], kind="stable"))
    responses["identifying"] = scan_texts(responses)
    responses = responses[["response_id", "participant_id", "timepoint", "question", "item",
                           "text", "identifying"]].reset_index(drop=True)
    order_r = {r: i for i, r in enumerate(responses["response_id"])}
    codings = (codings.assign(_r=codings["response_id"].map(order_r))
               .sort_values(["_r", "coder"], kind="stable").drop(columns="_r").reset_index(drop=True))
    adjudication = (adjudication.assign(_r=adjudication["response_id"].map(order_r))
                    .sort_values("_r", kind="stable")[ADJUDICATION_COLUMNS].reset_index(drop=True))
    return {"responses": responses, "codings": codings, "adjudication": adjudication,
            "coverage": pd.DataFrame(coverage, columns=["coder", "n_coded", "n_missing", "missing"]),
            "coder_files": pd.DataFrame(coder_files, columns=CODER_FILE_COLUMNS),
            "unanswered": unanswered, "warnings": warnings}


def _copied_coder_files(paths: list[Path]) -> list[Problem]:
    """Two coder files with the same bytes: probably one coder's file saved twice, which
    would show perfect agreement that never happened."""
    from alliance_pipeline.provenance import sha256_file  # the project's one file hasher

    first: dict[str, Path] = {}
    warnings = []
    for path in paths:
        digest = sha256_file(path)
        if digest in first:
            warnings.append(Problem(str(path), None, None, None,
                                    f"is byte-for-byte the same file as {first[digest].name}; if "
                                    "one coder's file was copied in place of another's, agreement "
                                    "is inflated: put the right coder's file here"))
        else:
            first[digest] = path
    return warnings


CODER_FILE_COLUMNS = ["coder", "file", "blind"]


def _read_workbook(path: Path, kind: str, cohort: str, coder: str, responses: pd.DataFrame,
                   questions: dict, coding_key: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """A filled coding or adjudication workbook (:func:`alliance_pipeline.coding.workbooks.read_workbook`)."""
    from alliance_pipeline.coding.workbooks import file_problem, read_workbook

    if not coding_key:
        problem = file_problem(path)
        return None, [problem or Problem(
            str(path), None, None, None,
            f"is a workbook, but cohort {cohort} has no coding_key to map its unit ids back "
            f"to responses; set `coding_key:` for the cohort in config/config.yaml (the key "
            "the coding sheets were made with)")]
    return read_workbook(path, kind=kind, cohort=cohort, coder=coder, responses=responses,
                         questions=questions, coding_key=coding_key)


def _adjudication_of_agreed(adjudication: pd.DataFrame, codings: pd.DataFrame, path: str) -> list[Problem]:
    """An adjudication row for a response all its coders coded alike would silently override them."""
    if adjudication.empty:
        return []
    sets = codings.groupby("response_id")["codes"].agg(["nunique", "size"])
    agreed = set(sets.index[(sets["size"] >= 2) & (sets["nunique"] == 1)])
    problems = []
    for rec in adjudication.to_dict("records"):
        if rec["response_id"] in agreed:
            where = ({"sheet": rec["sheet"], "cell": rec["cell"]} if "sheet" in rec else {})
            problems.append(Problem(path, rec.get("spreadsheet_row"),
                                    None if where else "response_id", rec["response_id"],
                                    "is a response the coders agreed on; adjudication is only "
                                    "for disagreements, so remove the row (or correct a coder "
                                    "file)", **where))
    return problems
