"""The located problem of an input file and the error that lists them.

:class:`Problem` names the file, the row as a spreadsheet shows it (the header is row 1),
the column (or a workbook's sheet and A1 cell), the value and what to do;
:class:`IntakeError` carries every problem of a cohort's raw files, at most
:data:`MAX_LISTED` of them listed per file. Personal data in a value or message is masked
(:func:`alliance_pipeline.common.privacy.mask_value`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from alliance_pipeline.common.privacy import mask_text, mask_value

MAX_LISTED = 50  # problems listed per file before "... and N more"


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
        value = "" if self.value is None else f" {_show(mask_value(self.value, self.column))}"
        return f"{where}:{value} {mask_text(self.message)}"


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


@dataclass
class Findings:
    """What reading a cohort's raw files found, collected as the stages run.

    ``problems`` stop the run (:class:`IntakeError` lists them), ``warnings`` do not (the
    intake step logs them), ``notes`` say what was recognised (an export's layout, the rows
    left out). One object is passed down through the stages; each adds what it finds.
    """
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
