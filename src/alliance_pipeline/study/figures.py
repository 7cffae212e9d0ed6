"""The study report's figures (rule study_figures): per repeated question, a forest plot of one
contrast's risk difference, per code one row per cohort (its Newcombe interval) and the
pooled Mantel–Haenszel estimate as a diamond, with the values and the risk-difference I² at
the right; drawn with the cohort figures' style (:mod:`alliance_pipeline.report.figures.style`)
and the pieces of their forest figure (:mod:`alliance_pipeline.report.figures.forest`), both
imported where a figure is drawn (they load matplotlib, which a job's start-up leaves out).

From the study tables of :mod:`alliance_pipeline.study.pooling`: ``cohort_rows``
(``cohorts.csv``) and ``pooled`` (``pooled.csv``). The contrast shown and the codes' labels
are looked up by :mod:`alliance_pipeline.study.lookup`, which the fragments use too, so the
study report's text loads no plotting library.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alliance_pipeline.common.outputs import repeated_questions
from alliance_pipeline.report.format import fmt_ci, fmt_pct
from alliance_pipeline.report.language import _
from alliance_pipeline.study.lookup import forest_contrast, study_code_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from alliance_pipeline.report.figures.style import Estimates

RD_COLUMNS = ("rd_ci_low", "rd_ci_high")


def _first(hits: pd.DataFrame):
    return hits.iloc[0] if len(hits) else None


def _pooled_diamond(ax, summary: pd.DataFrame, code: str, y: float, colour: str) -> None:
    """A code's pooled estimate: a diamond over its interval (a marker when the interval is
    undefined) and its values with I² at the right, or a note when undefined."""
    from matplotlib.patches import Polygon

    from alliance_pipeline.report.figures.style import row_note, side_text

    r = _first(summary[summary["code"] == code])
    if r is None or not np.isfinite(r["risk_difference"]):
        row_note(ax, y, _("pooled estimate undefined"))
        return
    lo, hi, mid = r["rd_ci_low"], r["rd_ci_high"], r["risk_difference"]
    if np.isfinite(lo) and np.isfinite(hi):
        ax.add_patch(Polygon([(lo, y), (mid, y + 0.3), (hi, y), (mid, y - 0.3)],
                             closed=True, facecolor=colour, edgecolor="black",
                             linewidth=0.5, gid="pooled", zorder=3))
    else:
        ax.scatter([mid], [y], marker="D", c=[colour], edgecolors="black", s=30, zorder=3)
    i2 = r["het_rd_i2"]
    side_text(ax, y, f"{mid:+.2f} {fmt_ci(lo, hi)}  I² {fmt_pct(i2, 0)}")


def _cohort_estimate(ax, mine: pd.DataFrame, code: str, cohort: str, y: float, colour: str,
                     marks: Estimates) -> None:
    """A cohort's estimate of a code (into ``marks``) with its values and n at the right, or a
    note when it is not tested or undefined."""
    from alliance_pipeline.report.figures.style import row_note, side_text

    r = _first(mine[(mine["code"] == code) & (mine["cohort"] == cohort)])
    if r is None or not np.isfinite(r["risk_difference"]):
        row_note(ax, y, _("not tested") if r is None else _("undefined"))
        return
    marks.add(r["risk_difference"], y, colour, r["rd_ci_low"], r["rd_ci_high"])
    side_text(ax, y, f"{r['risk_difference']:+.2f} {fmt_ci(r['rd_ci_low'], r['rd_ci_high'])}"
                     f"  n {int(r['n'])}")


def forest_figure(cohort_rows: pd.DataFrame, pooled: pd.DataFrame, *, study: Mapping,
                  question: str, contrast: str, cohorts: Sequence[str], confidence: float = 0.95) -> Figure:
    """Forest plot of one contrast's risk difference: per code, one row per cohort (its
    Newcombe interval) and the pooled Mantel–Haenszel estimate as a diamond, with the
    values and the risk-difference I² at the right. Built with the cohort figures' style."""
    from alliance_pipeline.report.figures.forest import code_rows, forest_axes, rd_axis, set_reach
    from alliance_pipeline.report.figures.style import (
        PALETTE,
        Estimates,
        finish_figure,
        row_axis,
        style,
    )

    spec = study["questions"][question]
    with style():
        rows, keys = code_rows(spec["codes"], lambda code: study_code_label(study, question, code),
                               [(name, name) for name in cohorts] + [(_("pooled (MH)"), None)])
        fig, ax = forest_axes(rows)
        ys = row_axis(ax, rows)
        mine = cohort_rows[(cohort_rows["question"] == question) & (cohort_rows["contrast"] == contrast)]
        summary = pooled[(pooled["question"] == question) & (pooled["contrast"] == contrast)]
        set_reach(ax, pd.concat([pd.to_numeric(mine[c], errors="coerce") for c in RD_COLUMNS]
                                + [pd.to_numeric(summary[c], errors="coerce") for c in RD_COLUMNS]))
        marks = Estimates()
        code_index = {c: i for i, c in enumerate(spec["codes"])}
        for key, y in zip(keys, ys, strict=True):
            if key is None:
                continue
            code, member = key
            colour = PALETTE[code_index[code] % len(PALETTE)]
            if member is None:
                _pooled_diamond(ax, summary, code, y, colour)
            else:
                _cohort_estimate(ax, mine, code, member, y, colour, marks)
        marks.draw(ax, marker="s", size=20)
        first, second = study["contrasts"][contrast]
        rd_axis(ax, _("Risk difference {second} − {first} ({contrast}), {level} CI").format(
            second=second, first=first, contrast=contrast, level=f"{confidence:.0%}"),
            header_y=ys[0], confidence=confidence)
        return finish_figure(fig)


def write_study_figures(cohort_rows: pd.DataFrame, pooled: pd.DataFrame, *, study: Mapping,
                        cohorts: Sequence[str], out_dir: str | Path,
                        confidence: float = 0.95) -> list[Path]:
    """``forest_<question>.png`` and ``.svg`` per repeated question under ``out_dir``."""
    from alliance_pipeline.report.figures.style import save_figure

    written = []
    contrast = forest_contrast(study)
    for question in repeated_questions(study["questions"]):
        fig = forest_figure(cohort_rows, pooled, study=study, question=question, contrast=contrast,
                            cohorts=cohorts, confidence=confidence)
        written += save_figure(fig, Path(out_dir) / f"forest_{question}")
    return written
