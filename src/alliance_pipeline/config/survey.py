"""The checks of a cohort's ``survey:`` block that the schema cannot make (docs/data-contract.md):
form exports, one per time point (``files:``) or one long export of every wave (``file:``,
``timepoint_column:``, ``timepoints:``), and the questions' headers (one, or one per wave).
Called by :func:`alliance_pipeline.config.load.cross_reference_problems`.
"""
from __future__ import annotations

import codecs
from pathlib import Path

from alliance_pipeline.common.cohort_files import SURVEY_SUFFIXES, survey_file
from alliance_pipeline.common.hints import did_you_mean


def _export_problems(key: str, value: str | dict) -> list[str]:
    """An export of a ``survey:`` block is a .csv or .xlsx file; a sheet only for .xlsx, an
    encoding only for .csv and one Python knows."""
    name, sheet, encoding = survey_file(value)
    suffix = Path(name).suffix.lower()
    if suffix not in SURVEY_SUFFIXES:
        return [f"{key}: {name!r} is not a .csv or .xlsx file; save the export as .xlsx (Excel "
                "workbook) or as CSV"]
    if sheet is not None and suffix == ".csv":
        return [f"{key}: a CSV file has no sheets; remove `sheet:` or give the .xlsx export"]
    if encoding is not None and suffix == ".xlsx":
        return [f"{key}: an .xlsx workbook has no encoding to set; remove `encoding:`"]
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            return [f"{key}.encoding: {encoding!r} is not an encoding Python knows; write e.g. "
                    "utf-8 or cp932 (Excel on Japanese Windows)"]
    return []


def survey_problems(cohort: str, survey: dict, timepoints: list[str], questions: dict) -> list[str]:
    """What the schema cannot check in a cohort's ``survey:`` block (see docs/data-contract.md).

    Either ``files`` (one export per time point) or ``file`` with ``timepoint_column`` and
    ``timepoints`` (one long export). Time points are study time points; files are .csv or
    .xlsx (a sheet only for .xlsx); question ids are the codebook's; each question has an
    export at one of its own time points; each question asked at an exported time point has a
    column header there (one string, or one per wave); no two questions (or a question and the
    participant or wave column) share a header at a time point.
    """
    where = f"cohorts.{cohort}.survey"
    long = "file" in survey
    if long == ("files" in survey):
        return [f"{where}: give either files: (one export per time point) or file: (one long "
                "export of every wave, with timepoint_column: and timepoints:), "
                + ("not both" if long else "one of them")]
    problems = _wave_problems(where, survey) if long else _files_problems(where, survey)
    if long and any(key not in survey for key in ("timepoint_column", "timepoints")):
        return problems
    waves = survey["timepoints"] if long else survey["files"]
    for tp, value in waves.items():
        if tp not in timepoints:
            key = "timepoints" if long else "files"
            problems.append(f"{where}.{key}.{tp}: not a study time point ({', '.join(timepoints)})"
                            f"{did_you_mean(tp, timepoints)}; name the export by its time point")
        if not long:
            problems += _export_problems(f"{where}.files.{tp}", value)
    if long:
        problems += _export_problems(f"{where}.file", survey["file"])
    exported = [tp for tp in waves if tp in timepoints]
    problems += _question_problems(where, survey, questions, exported, long)
    problems += _shared_header_problems(where, survey, questions, exported, problems)
    return problems


def _wave_problems(where: str, survey: dict) -> list[str]:
    """A long export's wave column and its values: both given, one value per time point."""
    problems = [f"{where}.{key}: missing; a long export (file:) needs timepoint_column: (the "
                "column of the wave) and timepoints: (time point -> its value in that column)"
                for key in ("timepoint_column", "timepoints") if key not in survey]
    if problems:
        return problems
    by_value: dict[str, list[str]] = {}
    for tp, value in survey["timepoints"].items():
        by_value.setdefault(str(value).strip(), []).append(tp)
    return [f"{where}.timepoints: {', '.join(tps)} share the value {value!r}; give each time "
            "point its own wave" for value, tps in by_value.items() if len(tps) > 1]


def _files_problems(where: str, survey: dict) -> list[str]:
    """One export per time point has no wave column."""
    return [f"{where}.{key}: only a long export (file:) has a wave column; with files: (one "
            "export per time point) remove it" for key in ("timepoint_column", "timepoints")
            if key in survey]


def _question_problems(where: str, survey: dict, questions: dict, exported: list[str],
                       long: bool) -> list[str]:
    """Each question of the block: a codebook question, exported at one of its time points,
    its headers at its own time points, none the participant or wave column; each question
    asked at an exported time point has a header."""
    problems = []
    what = "survey.timepoints has a wave" if long else "survey.files has an export"
    add = "map its time point under timepoints:" if long else "add the export of its time point under files:"
    columns = {survey["participant_column"].strip(): "the participant column"}
    if long:
        columns[survey["timepoint_column"].strip()] = "the wave column"
    for qid, value in survey["questions"].items():
        if qid not in questions:
            problems.append(f"{where}.questions.{qid}: not a question of the codebook "
                            f"({', '.join(questions)}){did_you_mean(qid, questions)}")
            continue
        asked = questions[qid]["timepoints"]
        if not set(asked) & set(exported):
            problems.append(f"{where}.questions.{qid}: the question is asked at "
                            f"{', '.join(asked)} but {what} for none of them; {add}")
        problems += _header_problems(f"{where}.questions.{qid}", value, asked, exported, columns)
    for qid, question in questions.items():
        asked_here = [tp for tp in question["timepoints"] if tp in exported]
        if qid not in survey["questions"] and asked_here:
            problems.append(f"{where}.questions: question {qid} (asked at "
                            f"{', '.join(asked_here)}) has no column header; add "
                            f"`{qid}: \"<its column header>\"`")
    return problems


def _header_problems(key: str, value: str | dict, asked: list[str], exported: list[str],
                     columns: dict[str, str]) -> list[str]:
    """A question's header(s): at its own time points, not another column's, one per
    exported time point it is asked at when given per wave."""
    problems = []
    headers = value if isinstance(value, dict) else {None: value}
    for tp, header in headers.items():
        if tp is not None and tp not in asked:
            problems.append(f"{key}.{tp}: the question is not asked at {tp!r} (its time "
                            f"points: {', '.join(asked)}){did_you_mean(tp, asked)}")
        if header.strip() in columns:
            problems.append(f"{key}: {header!r} is {columns[header.strip()]}; "
                            "give the header of the question's own column")
    if isinstance(value, dict):
        lacking = [tp for tp in asked if tp in exported and tp not in value]
        if lacking:
            problems.append(f"{key}: no header for {', '.join(lacking)} (the question is asked "
                            f"there); add `{lacking[0]}: \"<its column header>\"`, or give one "
                            "header for every wave")
    return problems


def _shared_header_problems(where: str, survey: dict, questions: dict, exported: list[str],
                            found: list[str]) -> list[str]:
    """Two questions that share a column header at one time point (each pair once, and not
    again when ``found`` has it)."""
    problems: list[str] = []
    for tp in exported:
        by_header: dict[str, list[str]] = {}
        for qid, value in survey["questions"].items():
            header = value.get(tp) if isinstance(value, dict) else value
            if header is not None and qid in questions and tp in questions[qid]["timepoints"]:
                by_header.setdefault(header.strip(), []).append(qid)
        for header, qids in by_header.items():
            if len(qids) > 1:
                problem = (f"{where}.questions: {', '.join(qids)} share the column header "
                           f"{header!r}; give each question its own column")
                if problem not in found and problem not in problems:
                    problems.append(problem)
    return problems
