"""The intake step's log lines about a cohort read by :func:`alliance_pipeline.intake.cohort.read_cohort`
(:class:`~alliance_pipeline.intake.cohort.CohortTables`).

In this order: the notes on survey exports (the layout recognised, rows left out), the warnings (problems that do not stop the run), per time point and question
the participants who did not answer, the responses a coder did not code, the response texts
that contain e-mail addresses or phone numbers, and the counts of the tables.
"""
from __future__ import annotations

import logging

from alliance_pipeline.intake.cohort import CohortTables


def log_cohort(tables: CohortTables, log: logging.Logger) -> None:
    """Log what a run should show about the cohort's ``tables`` (:func:`read_cohort`'s)."""
    for note in tables.notes:  # survey exports: the layout recognised, rows left out
        log.info("%s", note)
    for warning in tables.warnings:
        log.warning("%s", warning)
    for (timepoint, question), group in tables.unanswered.groupby(["timepoint", "question"], sort=False):
        log.info("%s, %s: %d participant(s) did not answer (empty in the export): %s", timepoint,
                 question, len(group), ";".join(group["participant_id"]))
    for row in tables.coverage.itertuples():
        if row.n_missing:
            log.warning("coder %s did not code %d response(s): %s", row.coder, row.n_missing, row.missing)
    flagged = tables.responses.query("identifying != ''")
    if len(flagged):
        log.warning("%d response text(s) contain e-mail addresses or phone numbers: %s",
                    len(flagged), ";".join(flagged["response_id"]))
    log.info("%d responses, %d codings, %d adjudications", len(tables.responses),
             len(tables.codings), len(tables.adjudication))
