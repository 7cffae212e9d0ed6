"""Settings and table look-ups the study report's fragments, sections and figures share.

The study's settings (:func:`forest_contrast`, :func:`study_code_label`), a cohort's
(:func:`cohort_label`, :func:`analysis_overrides`) and rows of the cohorts' stacked tables
(:func:`select_row`, :func:`participants`). Imports no plotting library, so the report's
fragments use these without loading one.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.report.language import _, localised

FOREST_CONTRAST = "training"


def forest_contrast(study: Mapping) -> str:
    """The contrast the forest plot shows: ``training`` when configured, else the first."""
    contrasts = list(study["contrasts"])
    return FOREST_CONTRAST if FOREST_CONTRAST in contrasts else contrasts[0]


def study_code_label(study: Mapping, question: str, code: str) -> str:
    return study["questions"][question]["labels"].get(code, code)


def cohort_label(cohorts: Mapping, name: str) -> str:
    """A cohort's label in the language in use, else its name."""
    entry = cohorts.get(name, {})
    return localised(entry, "label") or name


def analysis_overrides(settings: Mapping, analysis: Mapping, prefix: str = "") -> list[str]:
    """Dotted keys where a cohort's analysis differs from the study's, with both values."""
    out = []
    for key, value in settings.items():
        base = analysis.get(key)
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            out += analysis_overrides(value, base, f"{prefix}{key}.")
        elif value != base:
            out.append(_("{key} = {value} (study: {base})").format(key=f"{prefix}{key}", value=value, base=base))
    return out


def participants(flow: pd.DataFrame | None, cohort: str) -> int | None:
    """Participants of a cohort: the largest ``n_cohort`` of its flow table."""
    if flow is None or "n_cohort" not in flow.columns:
        return None
    n = pd.to_numeric(flow.loc[flow["cohort"] == cohort, "n_cohort"], errors="coerce")
    return int(n.max()) if n.notna().any() else None


def select_row(frame: pd.DataFrame | None, *, exclude_method: str | None = None, **where):
    """The first row whose columns equal ``where`` (compared as text), leaving out rows of
    method ``exclude_method``; None when there is none or a column of ``where`` is missing."""
    if frame is None or frame.empty:
        return None
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        if column not in frame.columns:
            return None
        mask &= frame[column].astype(str) == str(value)
    if exclude_method is not None:
        mask &= frame["method"].astype(str) != exclude_method
    hits = frame[mask]
    return None if hits.empty else hits.iloc[0]
