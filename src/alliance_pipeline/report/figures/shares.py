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
from alliance_pipeline.report.language import _


def _training_span(training_contrast: Sequence[str] | None, positions: Mapping) -> list | None:
    """The x span of the training contrast's two time points; None when either is not one."""
    if training_contrast and len(training_contrast) == 2 and all(
            tp in positions for tp in training_contrast):
        return sorted(positions[tp] for tp in training_contrast)
    return None


def _panel(ax, title: str, *, ylabel: str | None, n_timepoints: int, span: list | None) -> None:
    """A code's panel: its title, the share axis (``ylabel`` on the first of a row) and the
    training span shaded and labelled."""
    ax.set_title(title)
    ax.set_xlim(-0.4, max(n_timepoints - 1, 0) + 0.4)
    ax.set_ylim(-0.02, 1.12)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if span is not None:
        ax.axvspan(span[0], span[1], color="black", alpha=0.08, linewidth=0,
                   zorder=0, gid="training")
        ax.text((span[0] + span[1]) / 2, 1.06, _("training"),
                ha="center", va="center", fontsize=SMALL, color="#404040")


def _series(ax, sub: pd.DataFrame, *, timepoints: list, positions: Mapping, index: int,
            cohorts: list, colour: str, n_by_tp: dict[str, float]) -> None:
    """One cohort's shares of a code with their intervals, "undefined" where a share is;
    with a single cohort each time point's n goes into ``n_by_tp``."""
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
            ax.text(x, 0.5, _("undefined"), rotation=90, ha="center", va="center",
                    fontsize=SMALL, style="italic", color=GREY, gid="undefined")
        n = as_float(row.get("n"))
        if np.isfinite(n) and len(cohorts) == 1:
            n_by_tp[tp] = n
    if segments:
        ax.add_collection(matplotlib.collections.LineCollection(
            segments, colors=colour, linewidths=1.0, gid="ci", zorder=2))
    ax.plot(xs, ps, marker=MARKERS[index % len(MARKERS)], color=colour,
            zorder=3, gid="estimate",
            label=str(cohorts[index]) if len(cohorts) > 1 else _("this cohort"))


def _published(ax, values: Mapping, positions: Mapping) -> None:
    """The shares a paper reported (``{timepoint: share}``) as open diamonds."""
    pub = [(positions[tp], as_float(v)) for tp, v in values.items() if tp in positions]
    if pub:
        ax.plot([x for x, _i in pub], [v for _i, v in pub], linestyle="none",
                marker="D", markerfacecolor="none", markeredgecolor="black",
                markersize=5, zorder=4, gid="published", label=_("published"))


def _legend(fig: Figure, cohorts: list, published: Mapping | None) -> None:
    """The cohorts' series (several cohorts) and the published values, when any."""
    handles = []
    if len(cohorts) > 1:
        handles += [Line2D([], [], color=PALETTE[i % len(PALETTE)],
                           marker=MARKERS[i % len(MARKERS)], label=str(c))
                    for i, c in enumerate(cohorts)]
    if published:
        handles.append(Line2D([], [], linestyle="none", marker="D",
                              markerfacecolor="none", markeredgecolor="black",
                              label=_("published")))
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))


def _code_panel(ax, data: pd.DataFrame, code: str, *, panel: int, cohorts: list,
                timepoints: list, positions: Mapping, published: Mapping | None) -> None:
    """A code's cohorts' series, its published values and the time points' ticks with n."""
    n_by_tp: dict[str, float] = {}
    colour = PALETTE[panel % len(PALETTE)]
    sub_code = data[data["code"].astype(str) == str(code)]
    for index, cohort in enumerate(cohorts):
        _series(ax, of_cohort(sub_code, cohort), timepoints=timepoints, positions=positions,
                index=index, cohorts=cohorts, n_by_tp=n_by_tp,
                colour=PALETTE[index % len(PALETTE)] if len(cohorts) > 1 else colour)
    if published and code in published:
        _published(ax, published[code] or {}, positions)
    ax.set_xticks(
        [positions[tp] for tp in timepoints],
        [f"{tp}\nn={int(n_by_tp[tp])}" if tp in n_by_tp else str(tp)
         for tp in timepoints])
    if sub_code.empty:
        ax.text(0.5, 0.5, _("no data"), transform=ax.transAxes, ha="center",
                va="center", fontsize=SMALL, color=GREY, gid="undefined")


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
            return finish_empty(fig, axes[0], _("no codes for {question}").format(question=question))
        positions = {tp: float(i) for i, tp in enumerate(timepoints)}
        span = _training_span(training_contrast, positions)
        for ax in axes[len(codes):]:
            ax.set_axis_off()
        ylabel = _("Participants with code ({level} CI)").format(level=f"{confidence:.0%}")
        for panel, (ax, code) in enumerate(zip(axes[:len(codes)], codes, strict=True)):
            _panel(ax, display_label(labels, question, code), ylabel=ylabel if panel % ncols == 0 else None,
                   n_timepoints=len(timepoints), span=span)
            _code_panel(ax, data, code, panel=panel, cohorts=cohorts, timepoints=timepoints,
                        positions=positions, published=published)
        _legend(fig, cohorts, published)
        return finish_figure(fig)
