"""A cohort's raw files: which files its raw folder holds.

- :func:`response_files`: responses.csv, or the survey exports of the cohort's ``survey:``
  block (:func:`survey_exports` lists them, :func:`survey_file` reads one entry;
  :data:`SURVEY_SUFFIXES`);
- :func:`coder_files`: codes/*.csv and codes/*.xlsx, editor lock files and hidden files left out;
- :func:`raw_files`: all of a cohort's raw inputs (responses, coder files, adjudication);
- :func:`not_a_file`: why a path cannot be read as a file.

The start-up check that every cohort's folder holds these files is
:func:`alliance_pipeline.config.load.check_cohort_folders` (a config check: it raises ``ConfigError``).
"""
from __future__ import annotations

import os
from pathlib import Path

SURVEY_SUFFIXES = (".csv", ".xlsx")


def survey_file(value: str | dict) -> tuple[str, str | int | None, str | None]:
    """``(file, sheet, encoding)`` of a ``survey.files`` entry (or of a long export's
    ``survey.file``): ``name.csv`` or ``{file: ..., sheet: ..., encoding: ...}``; the sheet
    by name or index, None when none is given, as the encoding (then the cohort's)."""
    if isinstance(value, dict):
        return value["file"], value.get("sheet"), value.get("encoding")
    return value, None, None


def survey_exports(survey: dict) -> dict[str, str | dict]:
    """The exports of a ``survey:`` block by config key: ``files`` entries by time point, or
    ``{"file": ...}`` for one long export of every wave."""
    if "file" in survey:
        return {"file": survey["file"]}
    return dict(survey.get("files", {}))


def not_a_file(path: Path, what: str = "file") -> str | None:
    """Why ``path`` exists but cannot be read as a file (a folder, a broken link), or None."""
    if path.is_symlink() and not path.exists():
        return (f"is a link to {os.readlink(path)}, which does not exist; put the {what} "
                "itself here (or fix the link)")
    if path.is_dir():
        return f"is a folder, not a {what}; put the {what} itself here"
    if path.exists() and not path.is_file():
        return f"is not a regular {what}; put the {what} itself here"
    return None


def response_files(entry: dict | str | Path) -> list[str]:
    """A cohort's responses: responses.csv, or the survey exports of its ``survey:`` block.
    ``entry`` is the cohort's config entry (or its raw folder)."""
    if not isinstance(entry, dict):
        entry = {"raw": entry}
    raw = Path(entry["raw"])
    if "survey" in entry:
        return [str(raw / survey_file(value)[0]) for value in survey_exports(entry["survey"]).values()]
    return [str(raw / "responses.csv")]


def coder_files(raw: str | Path) -> list[Path]:
    """The coder files of a cohort's raw folder: the regular files (or links to them)
    codes/*.csv and codes/*.xlsx, editor lock files (``~$name``, ``.~lock.name#``) and hidden
    files left out. The one list both the workflow and intake read (intake reports the rest)."""
    return [p for p in sorted((Path(raw) / "codes").glob("*")) if p.suffix in (".csv", ".xlsx")
            and not p.name.startswith(("~$", ".")) and p.is_file()]


def raw_files(entry: dict | str | Path) -> list[str]:
    """A cohort's raw input files: its :func:`response_files`, codes/*.csv and codes/*.xlsx
    (editor lock files left out), adjudication.csv or adjudication.xlsx if present."""
    raw = Path(entry["raw"] if isinstance(entry, dict) else entry)
    codes = coder_files(raw)
    adjudication = [raw / f"adjudication{suffix}" for suffix in (".csv", ".xlsx")
                    if (raw / f"adjudication{suffix}").is_file()]
    return [*response_files(entry), *map(str, codes), *map(str, adjudication)]
