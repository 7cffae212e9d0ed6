"""The participant-flow figure (the flow table, or one made from ``proportions.csv``, in; a
matplotlib Figure out)."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from alliance_pipeline.report.figures.style import (
    PALETTE,
    SINGLE_COLUMN,
    SMALL,
    dodge,
    finish_empty,
    finish_figure,
    new_figure,
    ordered_timepoints,
    style,
)

_DASHES: list[Literal["--", ":", "-."]] = ["--", ":", "-."]
_COUNT_NAMES = ("n_participants", "participants", "n")
_COMPLETE_NAMES = ("n_complete", "complete_cases", "n_complete_cases", "complete")
_TOTAL_NAMES = ("n_total", "n_enrolled", "enrolled")


def _first_column(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((name for name in names if name in frame.columns), None)


def _flow_long(flow: pd.DataFrame, timepoints: Sequence[str]) -> pd.DataFrame:
    """Long form (question, timepoint, n_participants[, n_complete, n_total]) of a flow
    table given long or wide (one column per time point)."""
    frame = flow.copy()
    if "question" not in frame.columns:
        frame["question"] = ""
    if "step" in frame.columns:
        # proportions.participant_flow: question, step, name, timepoints, n_cohort, n, ...
        steps = frame["step"].astype(str)
        complete = frame[steps == "complete"].groupby("question", sort=False)["n"].first()
        frame = frame[steps == "timepoint"].rename(columns={"name": "timepoint"})
        frame = frame.assign(n_participants=frame["n"],
                             n_complete=frame["question"].map(complete),
                             n_total=frame.get("n_cohort", math.nan))
    if "timepoint" not in frame.columns:
        wide = [tp for tp in timepoints if tp in frame.columns]
        keep = [c for c in frame.columns if c not in wide]
        frame = frame.melt(id_vars=keep, value_vars=wide, var_name="timepoint",
                           value_name="n_participants")
    count = _first_column(frame, _COUNT_NAMES)
    frame["n_participants"] = pd.to_numeric(frame[count], errors="coerce") if count \
        else math.nan
    for target, names in (("n_complete", _COMPLETE_NAMES), ("n_total", _TOTAL_NAMES)):
        column = _first_column(frame, names)
        frame[target] = pd.to_numeric(frame[column], errors="coerce") if column else math.nan
    return frame[["question", "timepoint", "n_participants", "n_complete", "n_total"]]


def flow_figure(flow: pd.DataFrame, *, timepoints: Sequence[str],
                question_labels: Mapping | None = None) -> Figure:
    """Participant flow: participants answering each question at each time point.

    ``flow`` is the table of :func:`alliance_pipeline.change.proportions.participant_flow`
    (question, step, name, n_cohort, n, ...: its ``timepoint`` rows give the bars, its
    ``complete`` row the complete cases, n_cohort the reference for "missing"), or any
    table with columns question, timepoint, n_participants (or ``n``), and optionally
    n_complete (complete cases over all the question's time points; ``complete_cases``
    also accepted) and n_total (participants enrolled). A wide table with one column per
    time point is accepted too. One bar per question within each time point, labelled
    with its count and "(−k)" for the participants missing relative to n_total (or to the
    question's largest time point); the complete-case count is a dashed line per question.
    """
    with style():
        timepoints = list(timepoints)
        frame = _flow_long(flow, timepoints)
        question_labels = question_labels or {}
        questions = list(dict.fromkeys(frame["question"].tolist()))
        fig = new_figure(SINGLE_COLUMN, 2.8)
        ax = fig.add_subplot()
        if frame.empty or not questions:
            return finish_empty(fig, ax, "no participant counts")
        order = ordered_timepoints(timepoints, frame["timepoint"].tolist())
        width = 0.8 / len(questions)
        complete_handles: list[Line2D] = []
        missing_explained = False
        top = float(np.nanmax(frame["n_participants"].to_numpy(dtype=float))) \
            if frame["n_participants"].notna().any() else 1.0
        for qi, question in enumerate(questions):
            sub = frame[frame["question"] == question]
            colour = PALETTE[qi % len(PALETTE)]
            xs, ns = [], []
            for tp in order:
                row = sub[sub["timepoint"] == tp]
                if row.empty:
                    continue
                xs.append(order.index(tp) + dodge(qi, len(questions), 0.8))
                ns.append(float(row["n_participants"].iloc[0]))
            if not xs:
                continue
            bars = ax.bar(xs, np.nan_to_num(ns), width=width * 0.95, color=colour,
                          label=str(question_labels.get(question, question)),
                          gid="participants")
            totals = sub["n_total"].dropna()
            reference = float(totals.iloc[0]) if len(totals) else float(np.nanmax(ns)) \
                if np.isfinite(ns).any() else math.nan
            texts = []
            for n in ns:
                if not np.isfinite(n):
                    texts.append("?")
                    continue
                missing = reference - n if np.isfinite(reference) else 0
                texts.append(f"{int(n)}" + (f"\n(\u2212{int(missing)})" if missing > 0 else ""))
            ax.bar_label(bars, labels=texts, fontsize=SMALL, padding=1.5)
            complete = sub["n_complete"].dropna()
            if len(complete) and len(xs) >= 2:
                value = float(complete.iloc[0])
                dash = _DASHES[len(complete_handles) % len(_DASHES)]
                ax.hlines(value, min(xs) - width / 2, max(xs) + width / 2, colors="black",
                          linestyles=dash, linewidth=0.9, gid="complete", zorder=3)
                name = question_labels.get(question, question)
                complete_handles.append(Line2D(
                    [], [], color="black", linestyle=dash, linewidth=0.9,
                    label=f"complete cases, {name}: {int(value)}"))
            if any(text.count("\n") for text in texts):
                missing_explained = True
        ax.set_xticks(range(len(order)), order)
        ax.set_xlim(-0.6, len(order) - 0.4)
        ax.set_ylim(0, top * 1.3 if np.isfinite(top) and top > 0 else 1)
        ax.set_ylabel("Participants")
        handles, _ = ax.get_legend_handles_labels()
        handles += complete_handles
        if missing_explained:
            against = "enrolled" if frame["n_total"].notna().any() else \
                "the question's largest time point"
            handles.append(Patch(facecolor="none", edgecolor="none",
                                 label=f"(\u2212k): missing vs. {against}"))
        fig.legend(handles=handles, loc="outside lower center", ncols=1)
        return finish_figure(fig)


def flow_from_proportions(proportions: pd.DataFrame) -> pd.DataFrame:
    """A minimal flow table (question, timepoint, n_participants) from proportions.csv,
    where n is the participants answering a question at a time point (equal for its codes).
    """
    if proportions.empty or not {"question", "timepoint", "n"} <= set(proportions.columns):
        return pd.DataFrame(columns=["question", "timepoint", "n_participants"])
    grouped = proportions.groupby(["question", "timepoint"], sort=False)["n"].max()
    return grouped.rename("n_participants").reset_index()
