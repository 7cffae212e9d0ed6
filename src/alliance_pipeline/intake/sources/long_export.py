"""One long export holding every wave (REDCap longitudinal, and any tool that exports long).

Config: ``survey: {file, participant_column, timepoint_column, timepoints: {pre1: pre1_arm_1,
...}, questions}``. The rows are split by the wave column: a value mapped to a time point
gives that wave's rows; values mapped to no time point are listed once in a warning and
ignored. REDCap writes a row per record and event, and for a repeating instrument one more
row per instance with ``redcap_repeat_instrument`` (labels export: ``Repeat Instrument``)
filled in. An instrument whose rows hold a question's field is read: its answers join the
participant's wave (two answers to one question in one wave are refused, naming the wave
and both rows); rows of a repeating instrument that holds none of the questions' fields are
refused with how to export without it.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from alliance_pipeline.common.cohort_files import survey_file
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.export_file import read_export
from alliance_pipeline.intake.sources.waves import (
    SECOND_HEADER,
    Reader,
    Wave,
    asked_at,
    header_problems,
    is_blank,
)

REPEAT_COLUMNS = ("redcap_repeat_instrument", "Repeat Instrument")
INSTANCE_COLUMNS = ("redcap_repeat_instance", "Repeat Instance")


def _shown(counts: Counter) -> str:
    return ", ".join(f"{value!r} ({n} row{'s' if n > 1 else ''})" for value, n in counts.items())


def long_waves(raw_dir: Path, survey: dict, *, cohort: str, encoding: str, timepoints: list[str],
               questions: dict, findings: Findings) -> list[Wave]:
    """The waves of the long export, each with its rows of repeating instruments that hold
    answers (``Wave.repeats``, merged by :func:`merge_repeats`); problems, warnings and notes
    go to ``findings``."""
    where = f"cohorts.{cohort}.survey"
    participant = survey["participant_column"].strip()
    tcol = survey["timepoint_column"].strip()
    mapped = {tp: str(v).strip() for tp, v in survey["timepoints"].items() if tp in timepoints}
    asked = {tp: asked_at(survey, questions, tp) for tp in timepoints if tp in mapped}
    holds = {participant: ("the participant", f"{where}.participant_column"),
             tcol: ("the time point", f"{where}.timepoint_column")}
    for tp_asked in asked.values():
        for qid, header in tp_asked.items():
            holds.setdefault(header, (f"question {qid}", f"{where}.questions.{qid}"))
    name, sheet = survey_file(survey["file"])
    export, found = read_export(raw_dir / name, sheet, encoding, list(holds),
                                [*REPEAT_COLUMNS, *INSTANCE_COLUMNS], findings)
    if not found:
        found = header_problems(export, holds, "the export")
    if not found and not export.rows:
        found = [Problem(str(export.path), None, None, None,
                         "has a header but no responses; export the records again")]
    findings.notes += export.notes
    if found:
        findings.problems += found
        return []
    tcol_id = export.columns[tcol][0] or tcol
    repeat_col = next((c for c in REPEAT_COLUMNS if c in export.positions), None)
    instance_col = next((c for c in INSTANCE_COLUMNS if c in export.positions), None)
    to_tp = {value: tp for tp, value in mapped.items()}
    rows: dict[str, list] = {tp: [] for tp in mapped}
    repeat_rows: dict[str, list] = {tp: [] for tp in mapped}
    unmapped: Counter = Counter()
    problems = findings.problems
    question_columns = {export.columns[h][0] or h for tp_asked in asked.values() for h in tp_asked.values()}
    headers = {h.casefold() for h in [*export.header, *export.layout.texts, *holds] if h}
    for row, cells in export.rows:
        value = cells.get(tcol_id, "").strip()
        if value not in to_tp:
            if value.casefold() in headers:  # a header row pasted in (two exports joined)
                problems.append(Problem(**export.where(
                    row, tcol_id, value=value,
                    message=f"is a column header, not a wave: {SECOND_HEADER}")))
            elif value:
                unmapped[value] += 1
            elif not all(is_blank(cells.get(c, "")) for c in question_columns):
                problems.append(Problem(**export.where(
                    row, tcol_id, value="", message="is empty but the row has answers; every row "
                    "needs its wave (export the records again with the event column)")))
            continue
        if repeat_col and cells.get(repeat_col, "").strip():
            repeat_rows[to_tp[value]].append((row, cells))
        else:
            rows[to_tp[value]].append((row, cells))
    if unmapped:
        findings.warnings.append(Problem(str(export.path), None, tcol_id, None,
                                f"values that map to no time point are ignored: {_shown(unmapped)}; "
                                f"if one is a time point, map it under {where}.timepoints"))
    present = Counter(cells.get(tcol_id, "").strip() for _, cells in export.rows)
    for tp, value in mapped.items():
        if not present[value]:
            findings.warnings.append(Problem(str(export.path), None, tcol_id, None,
                                    f"no row has {value!r} (time point {tp}); the values present "
                                    f"are {', '.join(repr(v) for v in present if v) or 'none'}"))
    # a repeating instrument is read when its rows hold a question's field, else refused
    by_instrument: dict[str, list[int]] = {}
    answered: set[str] = set()
    for tp, tp_rows in repeat_rows.items():
        for row, cells in tp_rows:
            instrument = cells[repeat_col].strip()
            by_instrument.setdefault(instrument, []).append(row)
            if not all(is_blank(cells.get(export.columns[h][0], "")) for h in asked[tp].values()):
                answered.add(instrument)
    fields = ", ".join(dict.fromkeys(h for tp_asked in asked.values() for h in tp_asked.values()))
    for instrument, numbers in by_instrument.items():
        if instrument not in answered:
            problems.append(Problem(**export.where(
                numbers[0], repeat_col, value=instrument,
                message=f"is a repeating instrument ({len(numbers)} row(s), first in row "
                        f"{numbers[0]}) that holds none of the questions' fields ({fields}); "
                        "its rows are not a participant's answers. Export the records without "
                        "that instrument (REDCap: Data Exports, a report of the events and the "
                        "instruments that hold the questions) and point survey.file at it")))
    waves = [Wave(tp, export, rows[tp], asked[tp], f"{tcol} {mapped[tp]!r}", mapped[tp])
             for tp in timepoints if tp in mapped]
    for wave in waves:
        wave.repeats = [(row, cells, cells[repeat_col].strip(),
                         cells.get(instance_col, "").strip() if instance_col else "")
                        for row, cells in repeat_rows[wave.timepoint]
                        if cells[repeat_col].strip() in answered]
    return waves


def merge_repeats(reader: Reader, wave: Wave) -> None:
    """A long export's rows of repeating instruments (``wave.repeats``) joined to the
    participants' answers of ``wave`` after its own rows are collected: a second answer to
    one question in one wave is a problem naming the wave and both rows."""
    source: dict[tuple[str, str], int] = {}  # (participant, question) -> the row of its answer
    for row, cells, instrument, instance in wave.repeats:
        checked = reader.check(wave, row, cells)
        if checked is None:
            continue
        pid, answers = checked
        base, held = wave.answers.setdefault(pid, (row, {qid: "" for qid in answers}))
        for qid, text in answers.items():
            if is_blank(text):
                continue
            first = source.get((pid, qid), base)
            if not is_blank(held[qid]):
                column = reader.column(wave, wave.asked[qid])
                reader.problems.append(Problem(**wave.export.where(
                    row, column, value=None,
                    message=f"is a second answer of {pid} to question {qid} for time point "
                            f"{wave.timepoint} ({wave.label}; instance {instance or '?'} of "
                            f"the repeating instrument {instrument!r}); the first is in row "
                            f"{first}. The pipeline reads one answer per participant and "
                            "time point: clear the field of the instance that does not "
                            "count (in the survey tool) and export again")))
                continue
            held[qid] = text
            source[(pid, qid)] = row
