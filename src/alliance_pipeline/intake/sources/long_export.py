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
from dataclasses import dataclass, field
from pathlib import Path

from alliance_pipeline.common.cohort_files import survey_file
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.export_file import Export, read_export
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
    tcol = survey["timepoint_column"].strip()
    mapped = {tp: str(v).strip() for tp, v in survey["timepoints"].items() if tp in timepoints}
    asked = {tp: asked_at(survey, questions, tp) for tp in timepoints if tp in mapped}
    holds = {survey["participant_column"].strip(): ("the participant", f"{where}.participant_column"),
             tcol: ("the time point", f"{where}.timepoint_column")}
    for tp_asked in asked.values():
        for qid, header in tp_asked.items():
            holds.setdefault(header, (f"question {qid}", f"{where}.questions.{qid}"))
    export = _read(raw_dir, survey, encoding, holds, findings)
    if export is None:
        return []
    split = _split_by_wave(export, export.columns[tcol][0] or tcol, mapped, asked, holds, findings)
    _warn_of_waves(export, split, mapped, where, findings)
    answered = _repeating_instruments(export, split, asked, findings)
    waves = [Wave(tp, export, split.rows[tp], asked[tp], f"{tcol} {mapped[tp]!r}", mapped[tp])
             for tp in timepoints if tp in mapped]
    instance_col = next((c for c in INSTANCE_COLUMNS if c in export.positions), None)
    for wave in waves:
        wave.repeats = [(row, cells, cells[split.repeat_col].strip(),
                         cells.get(instance_col, "").strip() if instance_col else "")
                        for row, cells in split.repeat_rows[wave.timepoint]
                        if cells[split.repeat_col].strip() in answered]
    return waves


def _read(raw_dir: Path, survey: dict, encoding: str, holds: dict, findings: Findings) -> Export | None:
    """The export read with the columns it must hold, or None with its problems in ``findings``."""
    name, sheet, own_encoding = survey_file(survey["file"])
    export, found = read_export(raw_dir / name, sheet, own_encoding or encoding, list(holds),
                                [*REPEAT_COLUMNS, *INSTANCE_COLUMNS], findings)
    if not found:
        found = header_problems(export, holds, "the export")
    if not found and not export.rows:
        found = [Problem(str(export.path), None, None, None,
                         "has a header but no responses; export the records again")]
    findings.notes += export.notes
    findings.problems += found
    return None if found else export


@dataclass
class _Split:
    """The export's rows by time point: a wave's own rows and its repeating instruments' rows."""
    tcol_id: str
    repeat_col: str | None
    rows: dict[str, list] = field(default_factory=dict)
    repeat_rows: dict[str, list] = field(default_factory=dict)
    unmapped: Counter = field(default_factory=Counter)


def _split_by_wave(export: Export, tcol_id: str, mapped: dict[str, str], asked: dict,
                   holds: dict, findings: Findings) -> _Split:
    """Each row to its time point by the wave column; a header row pasted in and a row with
    answers but no wave are problems, values mapped to no time point are counted."""
    split = _Split(tcol_id, next((c for c in REPEAT_COLUMNS if c in export.positions), None),
                   {tp: [] for tp in mapped}, {tp: [] for tp in mapped})
    to_tp = {value: tp for tp, value in mapped.items()}
    question_columns = {export.columns[h][0] or h for tp_asked in asked.values() for h in tp_asked.values()}
    headers = {h.casefold() for h in [*export.header, *export.layout.texts, *holds] if h}
    for row, cells in export.rows:
        value = cells.get(tcol_id, "").strip()
        if value not in to_tp:
            if value.casefold() in headers:  # a header row pasted in (two exports joined)
                findings.problems.append(Problem(**export.where(
                    row, tcol_id, value=value,
                    message=f"is a column header, not a wave: {SECOND_HEADER}")))
            elif value:
                split.unmapped[value] += 1
            elif not all(is_blank(cells.get(c, "")) for c in question_columns):
                findings.problems.append(Problem(**export.where(
                    row, tcol_id, value="", message="is empty but the row has answers; every row "
                    "needs its wave (export the records again with the event column)")))
            continue
        if split.repeat_col and cells.get(split.repeat_col, "").strip():
            split.repeat_rows[to_tp[value]].append((row, cells))
        else:
            split.rows[to_tp[value]].append((row, cells))
    return split


def _warn_of_waves(export: Export, split: _Split, mapped: dict[str, str], where: str,
                   findings: Findings) -> None:
    """Warnings: values of the wave column mapped to no time point, time points no row has."""
    tcol_id = split.tcol_id
    if split.unmapped:
        findings.warnings.append(Problem(str(export.path), None, tcol_id, None,
                                         f"values that map to no time point are ignored: "
                                         f"{_shown(split.unmapped)}; if one is a time point, map "
                                         f"it under {where}.timepoints"))
    present = Counter(cells.get(tcol_id, "").strip() for _, cells in export.rows)
    for tp, value in mapped.items():
        if not present[value]:
            findings.warnings.append(Problem(str(export.path), None, tcol_id, None,
                                             f"no row has {value!r} (time point {tp}); the values "
                                             f"present are {', '.join(repr(v) for v in present if v) or 'none'}"))


def _repeating_instruments(export: Export, split: _Split, asked: dict, findings: Findings) -> set[str]:
    """The repeating instruments whose rows hold a question's field (read); the others are
    problems, with how to export without them."""
    by_instrument: dict[str, list[int]] = {}
    answered: set[str] = set()
    for tp, tp_rows in split.repeat_rows.items():
        for row, cells in tp_rows:
            instrument = cells[split.repeat_col].strip()
            by_instrument.setdefault(instrument, []).append(row)
            if not all(is_blank(cells.get(export.columns[h][0], "")) for h in asked[tp].values()):
                answered.add(instrument)
    fields = ", ".join(dict.fromkeys(h for tp_asked in asked.values() for h in tp_asked.values()))
    for instrument, numbers in by_instrument.items():
        if instrument not in answered:
            findings.problems.append(Problem(**export.where(
                numbers[0], split.repeat_col, value=instrument,
                message=f"is a repeating instrument ({len(numbers)} row(s), first in row "
                        f"{numbers[0]}) that holds none of the questions' fields ({fields}); "
                        "its rows are not a participant's answers. Export the records without "
                        "that instrument (REDCap: Data Exports, a report of the events and the "
                        "instruments that hold the questions) and point survey.file at it")))
    return answered


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
