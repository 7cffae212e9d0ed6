"""What intake is told about one cohort: :class:`CohortSpec`, made once by
:func:`alliance_pipeline.intake.cohort.read_cohort` and passed to every stage."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CohortSpec:
    """One cohort's settings as intake uses them.

    ``questions`` is the codebook's questions as plain values; ``id_pattern`` the pseudonym
    pattern of participant ids; ``allow_similar_ids`` accepts ids that differ only in case
    or leading zeros; ``survey`` the cohort's ``survey:`` block (form exports instead of
    responses.csv) or None; ``coding_key`` maps a filled workbook's unit ids back to
    responses.
    """
    cohort: str
    encoding: str
    timepoints: list[str]
    questions: dict
    id_pattern: str
    allow_similar_ids: bool = False
    survey: dict | None = None
    coding_key: str = ""
