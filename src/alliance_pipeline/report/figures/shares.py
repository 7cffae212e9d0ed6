"""The shares figure of a repeated question: share of participants with each code per time
point, with Wilson CIs (``proportions.csv`` in, a matplotlib Figure out)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.collections
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    GREY,
    MARKERS,
    PALETTE,
    SINGLE_COLUMN,
    SMALL,
    as_float,
    cohorts_of,
    display_label,
    dodge,
    finish_empty,
    finish_figure,
    new_figure,
    of_cohort,
    style,
)


def shares_figure(proportions: pd.DataFrame, *, question: str, codes: Sequence[str],
                  labels: Mapping, timepoints: Sequence[str],
                  training_contrast: Sequence[str] | None = ("pre2", "post"),
                  published: Mapping | None = None, confidence: float = 0.95) -> Figure:
    """Share of participants with each code per time point, with Wilson CIs.

    One panel per code (in ``codes`` order, up to three per row), time points on x in the
    order of ``timepoints``, each tick showing n. The span between the two time points of
    ``training_contrast`` is shaded and labelled "training" (skipped when either is not a
    time point). ``published`` (code -> {timepoint: share}) adds open diamonds for values a
    paper reported. Several cohorts are drawn as separate, dodged series.
    """
    with style():
        codes = list(codes)
        timepoints = list(timepoints)
        data = proportions[proportions["question"] == question] if "question" in \
            proportions.columns else proportions.iloc[0:0]
        cohorts = cohorts_of(data)
        ncols = max(1, min(len(codes), 3))
        nrows = max(1, math.ceil(len(codes) / ncols))
        width = SINGLE_COLUMN if ncols == 1 else DOUBLE_COLUMN
        extra = 0.35 if (published or len(cohorts) > 1) else 0.0
        fig = new_figure(width, 2.3 * nrows + extra)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
        if not codes:
            return finish_empty(fig, axes[0], f"no codes for {question}")
        positions = {tp: float(i) for i, tp in enumerate(timepoints)}
        span = None
        if training_contrast and len(training_contrast) == 2 and all(
                tp in positions for tp in training_contrast):
            span = sorted(positions[tp] for tp in training_contrast)

        for ax in axes[len(codes):]:
            ax.set_axis_off()
        for panel, (ax, code) in enumerate(zip(axes, codes, strict=True)):
            ax.set_title(display_label(labels, question, code))
            ax.set_xlim(-0.4, max(len(timepoints) - 1, 0) + 0.4)
            ax.set_ylim(-0.02, 1.12)
            ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
            if panel % ncols == 0:
                ax.set_ylabel(f"Participants with code ({confidence:.0%} CI)")
            if span is not None:
                ax.axvspan(span[0], span[1], color="black", alpha=0.08, linewidth=0,
                           zorder=0, gid="training")
                ax.text((span[0] + span[1]) / 2, 1.06, "training",
                        ha="center", va="center", fontsize=SMALL, color="#404040")
            n_by_tp: dict[str, float] = {}
            colour = PALETTE[panel % len(PALETTE)]
            sub_code = data[data["code"].astype(str) == str(code)]
            for index, cohort in enumerate(cohorts):
                sub = of_cohort(sub_code, cohort)
                series_colour = PALETTE[index % len(PALETTE)] if len(cohorts) > 1 else colour
                rows = [(tp, sub[sub["timepoint"] == tp]) for tp in timepoints]
                xs, ps, segments = [], [], []
                for tp, found in rows:
                    if found.empty:
                        continue
                    row = found.iloc[0]
                    x = positions[tp] + dodge(index, len(cohorts), 0.3)
                    p, lo, hi = (as_float(row.get("proportion")), as_float(row.get("ci_low")),
                                 as_float(row.get("ci_high")))
                    xs.append(x)
                    ps.append(p)
                    if np.isfinite(lo) and np.isfinite(hi):
                        segments.append(((x, lo), (x, hi)))
                    if not np.isfinite(p):
                        ax.text(x, 0.5, "undefined", rotation=90, ha="center", va="center",
                                fontsize=SMALL, style="italic", color=GREY, gid="undefined")
                    n = as_float(row.get("n"))
                    if np.isfinite(n) and len(cohorts) == 1:
                        n_by_tp[tp] = n
                if segments:
                    ax.add_collection(matplotlib.collections.LineCollection(
                        segments, colors=series_colour, linewidths=1.0, gid="ci", zorder=2))
                ax.plot(xs, ps, marker=MARKERS[index % len(MARKERS)], color=series_colour,
                        zorder=3, gid="estimate",
                        label=str(cohort) if len(cohorts) > 1 else "this cohort")
            if published and code in published:
                values = published[code] or {}
                pub = [(positions[tp], as_float(v)) for tp, v in values.items() if tp in positions]
                if pub:
                    ax.plot([x for x, _ in pub], [v for _, v in pub], linestyle="none",
                            marker="D", markerfacecolor="none", markeredgecolor="black",
                            markersize=5, zorder=4, gid="published", label="published")
            ax.set_xticks(
                [positions[tp] for tp in timepoints],
                [f"{tp}\nn={int(n_by_tp[tp])}" if tp in n_by_tp else str(tp)
                 for tp in timepoints])
            if sub_code.empty:
                ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center",
                        va="center", fontsize=SMALL, color=GREY, gid="undefined")

        handles = []
        if len(cohorts) > 1:
            handles += [Line2D([], [], color=PALETTE[i % len(PALETTE)],
                               marker=MARKERS[i % len(MARKERS)], label=str(c))
                        for i, c in enumerate(cohorts)]
        if published:
            handles.append(Line2D([], [], linestyle="none", marker="D",
                                  markerfacecolor="none", markeredgecolor="black",
                                  label="published"))
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        return finish_figure(fig)
