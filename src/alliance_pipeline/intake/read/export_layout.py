"""The layout of a form export: how many header rows it has and what they hold.

Most tools (Google Forms, Microsoft Forms, LimeSurvey, REDCap) write one header row. Qualtrics
writes three (its "Understanding your dataset" page): row 1 the column ids (``StartDate``,
``Status``, ``ResponseId``, ``Q1``, ...), row 2 the question texts (``Start Date``,
``Response Type``, ..., the question as asked), row 3 one ``{"ImportId":"QID1_TEXT"}`` object
per column. The legacy exporter (or a user who deleted row 3) leaves two: ids (or ``V1``,
``V2``, ...) and texts. :func:`recognise` tells these apart from the first three rows, so the
header rows are never read as a participant; a column may then be named by its id (row 1) or
by its question text (row 2) (:func:`resolve`). :func:`left_out` finds Qualtrics' survey-preview,
generated test and spam rows (``Status`` "Survey Preview" / "Survey Test" / "Spam", or 1 / 2 /
8 in a numeric export).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

IMPORT_ID = re.compile(r'^\s*\{\s*"ImportId"\s*:')
# row 1 of a Qualtrics export (its metadata columns) and row 2 (their labels; the legacy
# exporter's row 2 holds the old ids: ResponseID, ResponseSet, ..., Status, StartDate)
QUALTRICS_IDS = {"StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
                 "Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName",
                 "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude",
                 "DistributionChannel", "UserLanguage"}
QUALTRICS_LABELS = {"Start Date", "End Date", "Response Type", "IP Address", "Recorded Date",
                    "Response ID", "Recipient Last Name", "Recipient First Name", "Recipient Email",
                    "External Data Reference", "Location Latitude", "Location Longitude",
                    "Distribution Channel", "User Language", "ResponseID", "ResponseSet",
                    "ExternalDataReference", "EmailAddress", "StartDate", "EndDate", "Status"}
# Qualtrics' response types (Status, "Response Type"): 0 IP Address, 1 Survey Preview, 2 Survey
# Test (generated test responses), 4 Imported, 8 Spam, 16 Offline; sums combine them (9 a
# preview flagged as spam, 12 imported spam, 17 an offline preview). Previews, generated
# tests and spam are not participants' answers.
LEFT_OUT = {"survey preview": "survey preview", "1": "survey preview", "17": "survey preview",
            "survey test": "survey test", "2": "survey test",
            "spam": "spam", "8": "spam", "9": "spam", "12": "spam"}
ONE_ROW = "one header row"


@dataclass
class Layout:
    """What :func:`recognise` found: a name for the log, the header rows after row 1 to skip,
    the question texts (row 2 of a Qualtrics export, else empty)."""
    name: str = ONE_ROW
    skip: int = 0
    texts: list[str] = field(default_factory=list)

    @property
    def qualtrics(self) -> bool:
        return self.name != ONE_ROW


def _is_qualtrics_header(header: list[str]) -> bool:
    legacy = {"V1", "V2", "V3"} <= set(header)
    return legacy or len(QUALTRICS_IDS & set(header)) >= 3


def recognise(header: list[str], second: list[str], third: list[str]) -> Layout:
    """The layout from the header row and the two rows below it (cells as text)."""
    second = [c.strip() for c in second]
    if any(IMPORT_ID.match(c) for c in third):
        return Layout("Qualtrics export with 3 header rows (column ids, question texts, "
                      "ImportIds); rows 2-3 skipped", 2, second)
    if any(IMPORT_ID.match(c) for c in second):
        return Layout("Qualtrics export with 2 header rows (column ids, ImportIds; the "
                      "question-text row deleted); row 2 skipped", 1, [])
    labels = len(QUALTRICS_LABELS & set(second))
    if labels >= 3 or (labels >= 1 and _is_qualtrics_header(header)):
        return Layout("Qualtrics export with 2 header rows (column ids, question texts; the "
                      "legacy exporter, or the ImportId row deleted); row 2 skipped", 1, second)
    return Layout()


def resolve(name: str, header: list[str], layout: Layout) -> tuple[str | None, int]:
    """The row-1 header a config ``name`` means, and how many columns it could mean: the
    column whose id (row 1) is ``name``, else the one whose question text (row 2) is."""
    if name in header:
        return name, header.count(name)
    matches = [i for i, text in enumerate(layout.texts) if text == name and i < len(header)]
    if not matches:
        return None, 0
    return header[matches[0]], len(matches)


def status_column(header: list[str], layout: Layout) -> str | None:
    """Qualtrics' response-type column: ``Status`` (row 1), or the legacy exporter's ``V7``
    whose row 2 says ``Status``."""
    if not layout.qualtrics:
        return None
    if "Status" in header:
        return "Status"
    for i, text in enumerate(layout.texts):
        if text in ("Status", "Response Type") and i < len(header):
            return header[i]
    return None


def left_out(status: str) -> str | None:
    """``"survey preview"``, ``"survey test"`` or ``"spam"`` for a row Qualtrics marks so
    (its Status, as text or number), else None."""
    return LEFT_OUT.get(status.strip().lower())
