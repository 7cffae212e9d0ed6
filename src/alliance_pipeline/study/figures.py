"""The study report's figures (rule study_figures): per repeated question, a forest plot of one
contrast's risk difference, per code one row per cohort (its Newcombe interval) and the
pooled Mantel–Haenszel estimate as a diamond, with the values and the risk-difference I² at
the right; drawn with the cohort figures' style (:mod:`alliance_pipeline.report.figures.style`,
imported where a figure is drawn).

From the study tables of :mod:`alliance_pipeline.study.pooling`: ``cohort_rows``
(``cohorts.csv``) and ``pooled`` (``pooled.csv``). :func:`forest_contrast` (the contrast the
forest plot shows) and :func:`study_code_label` (a code's label in the study's codebook) are
used by the fragments too (:mod:`alliance_pipeline.study.fragments`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from alliance_pipeline.common.outputs import repeated_questions
from alliance_pipeline.report.format import fmt_ci, fmt_pct
from alliance_pipeline.report.language import _

FOREST_CONTRAST = "training"


# ---------------------------------------------------------------- settings helpers

def forest_contrast(study: Mapping) -> str:
    """The contrast the forest plot shows: ``training`` when configured, else the first."""
    contrasts = list(study["contrasts"])
    return FOREST_CONTRAST if FOREST_CONTRAST in contrasts else contrasts[0]


def study_code_label(study: Mapping, question: str, code: str) -> str:
    return study["questions"][question]["labels"].get(code, code)


# ---------------------------------------------------------------- the forest figure

def forest_figure(cohort_rows: pd.DataFrame, pooled: pd.DataFrame, *, study: Mapping,
                  question: str, contrast: str, cohorts: Sequence[str], confidence: float = 0.95):
    """Forest plot of one contrast's risk difference: per code, one row per cohort (its
    Newcombe interval) and the pooled Mantel–Haenszel estimate as a diamond, with the
    values and the risk-difference I² at the right. Built with the cohort figures' style."""
    import matplotlib.collections
    from matplotlib.patches import Polygon

    from alliance_pipeline.report.figures import style as F

    spec = study["questions"][question]
    with F.style():
        rows: list[tuple[str, str]] = []
        keys: list[tuple[str, str | None] | None] = []
        for code in spec["codes"]:
            rows.append(("header", study_code_label(study, question, code)))
            keys.append(None)
            for name in cohorts:
                rows.append(("row", name))
                keys.append((code, name))
            rows.append(("row", _("pooled (MH)")))
            keys.append((code, None))
        fig = F.new_figure(F.DOUBLE_COLUMN, max(1.6, 0.2 * len(rows) + 0.9))
        ax = fig.add_subplot()
        ys = F.row_axis(ax, rows)
        mine = cohort_rows[(cohort_rows["question"] == question) & (cohort_rows["contrast"] == contrast)]
        summary = pooled[(pooled["question"] == question) & (pooled["contrast"] == contrast)]
        values = pd.concat([pd.to_numeric(mine[c], errors="coerce") for c in ("rd_ci_low", "rd_ci_high")]
                           + [pd.to_numeric(summary[c], errors="coerce") for c in ("rd_ci_low", "rd_ci_high")])
        reach = min(1.0, max([0.25] + [abs(float(v)) for v in values.dropna()])) + 0.08
        ax.set_xlim(-reach, reach)
        segments, xs, yv, colours = [], [], [], []
        code_index = {c: i for i, c in enumerate(spec["codes"])}
        for key, y in zip(keys, ys, strict=True):
            if key is None:
                continue
            code, member = key
            colour = F.PALETTE[code_index[code] % len(F.PALETTE)]
            if member is None:
                hit = summary[summary["code"] == code]
                r = hit.iloc[0] if len(hit) else None
                if r is None or not np.isfinite(r["risk_difference"]):
                    F.row_note(ax, y, _("pooled estimate undefined"))
                    continue
                lo, hi, mid = r["rd_ci_low"], r["rd_ci_high"], r["risk_difference"]
                if np.isfinite(lo) and np.isfinite(hi):
                    ax.add_patch(Polygon([(lo, y), (mid, y + 0.3), (hi, y), (mid, y - 0.3)],
                                         closed=True, facecolor=colour, edgecolor="black",
                                         linewidth=0.5, gid="pooled", zorder=3))
                else:
                    ax.scatter([mid], [y], marker="D", c=[colour], edgecolors="black", s=30, zorder=3)
                i2 = r["het_rd_i2"]
                F.side_text(ax, y, f"{mid:+.2f} {fmt_ci(lo, hi)}  I² {fmt_pct(i2, 0)}")
                continue
            hit = mine[(mine["code"] == code) & (mine["cohort"] == member)]
            r = hit.iloc[0] if len(hit) else None
            if r is None or not np.isfinite(r["risk_difference"]):
                F.row_note(ax, y, _("not tested") if r is None else _("undefined"))
                continue
            xs.append(r["risk_difference"])
            yv.append(y)
            colours.append(colour)
            if np.isfinite(r["rd_ci_low"]) and np.isfinite(r["rd_ci_high"]):
                segments.append(((r["rd_ci_low"], y), (r["rd_ci_high"], y)))
            F.side_text(ax, y, f"{r['risk_difference']:+.2f} {fmt_ci(r['rd_ci_low'], r['rd_ci_high'])}"
                               f"  n {int(r['n'])}")
        if segments:
            ax.add_collection(matplotlib.collections.LineCollection(
                segments, colors="black", linewidths=0.8, gid="ci", zorder=2))
        if xs:
            ax.scatter(xs, yv, c=colours, marker="s", s=20, zorder=3, edgecolors="black",
                       linewidths=0.4, gid="estimate")
        F.side_header(ax, ys[0], _("RD [{level} CI]").format(level=f"{confidence:.0%}"))
        ax.axvline(0, color="black", linewidth=0.7, zorder=1, gid="zero")
        first, second = study["contrasts"][contrast]
        ax.set_xlabel(_("Risk difference {second} − {first} ({contrast}), {level} CI").format(
            second=second, first=first, contrast=contrast, level=f"{confidence:.0%}"))
        return F.finish_figure(fig)


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
