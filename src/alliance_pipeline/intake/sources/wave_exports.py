"""One form export per time point (``survey.files``): each export read as one wave.

Each export is read by :mod:`alliance_pipeline.intake.read.export_file` (CSV or .xlsx, the
layout recognised: one header row, or Qualtrics' two or three); its participant column and
the columns of the questions asked at that time point must be in its header.
"""
from __future__ import annotations

from pathlib import Path

from alliance_pipeline.common.cohort_files import survey_file
from alliance_pipeline.intake.problems import Findings, Problem
from alliance_pipeline.intake.read.export_file import read_export
from alliance_pipeline.intake.sources.waves import Wave, asked_at, header_problems


def file_waves(raw_dir: Path, survey: dict, *, cohort: str, encoding: str, timepoints: list[str],
               questions: dict, findings: Findings) -> list[Wave]:
    """One wave per export of ``survey.files``; the problems of an export that cannot give its
    wave go to ``findings``."""
    participant = survey["participant_column"].strip()
    waves = []
    for timepoint in [tp for tp in timepoints if tp in survey["files"]]:
        name, sheet, own_encoding = survey_file(survey["files"][timepoint])
        asked = asked_at(survey, questions, timepoint)
        export, found = read_export(raw_dir / name, sheet, own_encoding or encoding,
                                    [participant, *asked.values()],
                                    findings=findings)
        if not found:
            where = f"cohorts.{cohort}.survey"
            holds = {participant: ("the participant", f"{where}.participant_column"),
                     **{header: (f"question {qid}", f"{where}.questions.{qid}")
                        for qid, header in asked.items()}}
            found = header_problems(export, holds, f"the {timepoint} export")
        if not found and not export.rows:
            found = [Problem(str(export.path), None, None, None,
                             "has a header but no responses; export the form's responses again")]
        findings.notes += export.notes
        findings.problems += found
        if not found:
            waves.append(Wave(timepoint, export, export.rows, asked, f"the {timepoint} export"))
    return waves
