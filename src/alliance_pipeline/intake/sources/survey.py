"""Form exports as a cohort's raw input (the cohort's ``survey:`` block in config).

Either one export per time point (``files:``;
:mod:`alliance_pipeline.intake.sources.wave_exports`) or one long export holding every wave
(``file:`` with ``timepoint_column`` and ``timepoints``;
:mod:`alliance_pipeline.intake.sources.long_export`). Every wave's rows pass the same checks
(:class:`alliance_pipeline.intake.sources.waves.Reader`); the responses are one row per
answered question, the unanswered ones listed apart.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from alliance_pipeline.intake.problems import Findings
from alliance_pipeline.intake.sources.long_export import long_waves, merge_repeats
from alliance_pipeline.intake.sources.wave_exports import file_waves
from alliance_pipeline.intake.sources.waves import Reader

COLUMNS = ["response_id", "participant_id", "timepoint", "question", "text"]


def read_survey(raw_dir: str | Path, survey: dict, *, cohort: str, encoding: str, timepoints: list[str],
                questions: dict, id_pattern: str, findings: Findings, allow_similar_ids: bool = False
                ) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """Read a cohort's form exports into responses (``COLUMNS`` plus ``item``, empty).

    Returns ``(responses or None, unanswered)``: ``unanswered`` lists
    ``timepoint, question, participant_id`` for every empty answer; responses is None when
    ``findings`` holds problems. Checks, each problem located (file, row and column, or sheet
    and cell): the file reads; the participant column and each question's column are in the
    header (with the nearest header name); no header row read as data; a pseudonymous
    participant id on every row with answers; a participant once per wave; ids equal up to
    case or leading zeros across the exports (unless ``allow_similar_ids``). ``findings``
    also gets the warnings and, as notes, the layout recognised per export and the rows left
    out (Qualtrics previews and spam, unmapped waves).
    """
    raw_dir = Path(raw_dir)
    before = len(findings.problems)
    read_waves = long_waves if "file" in survey else file_waves
    waves = read_waves(raw_dir, survey, cohort=cohort, encoding=encoding, timepoints=timepoints,
                       questions=questions, findings=findings)
    reader = Reader(survey, questions, id_pattern, allow_similar_ids, findings, cohort=cohort)
    records: list = []
    unanswered: list = []
    for wave in waves:
        reader.collect(wave)
        merge_repeats(reader, wave)
        Reader.emit(wave, records, unanswered)
    unanswered_frame = pd.DataFrame(unanswered, columns=["timepoint", "question", "participant_id"])
    findings.warnings += reader.folding.warnings()
    if len(findings.problems) > before:
        return None, unanswered_frame
    responses = pd.DataFrame(records, columns=COLUMNS, dtype=object)
    responses["item"] = ""
    return responses, unanswered_frame
