"""The frequencies figure of a question asked once: share of participants with each code,
with Wilson CIs (``proportions.csv`` in, a matplotlib Figure out)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.collections
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    OKABE_ITO,
    SMALL,
    as_float,
    cohorts_of,
    display_label,
    finish_empty,
    finish_figure,
    new_figure,
    numeric_column,
    row_axis,
    row_note,
    style,
)
from alliance_pipeline.report.language import _


def frequencies_figure(proportions: pd.DataFrame, *, question: str, codes: Sequence[str],
                       labels: Mapping, confidence: float = 0.95) -> Figure:
    """Share of participants with each code of a question asked once, with Wilson CIs.

    Horizontal bars sorted by share (largest on top; ties in ``codes`` order, undefined
    last), each annotated "k/n (share)". Rows of several time points or cohorts get the
    time point / cohort added to their label.
    """
    with style():
        codes = list(codes)
        data = proportions
        if "question" in data.columns:
            data = data[(data["question"] == question)
                        & data["code"].astype(str).isin([str(c) for c in codes])]
        else:
            data = data.iloc[0:0]
        data = data.copy()
        data["_order"] = data["code"].astype(str).map({str(c): i for i, c in enumerate(codes)})
        data["_share"] = numeric_column(data, "proportion")
        data = data.sort_values(["_share", "_order"], ascending=[False, True],
                                na_position="last", kind="stable")
        several_tp = "timepoint" in data and data["timepoint"].nunique() > 1
        several_cohorts = len(cohorts_of(data)) > 1
        height = max(1.4, 0.28 * len(data) + 0.8)
        fig = new_figure(DOUBLE_COLUMN, height)
        ax = fig.add_subplot()
        if data.empty:
            return finish_empty(fig, ax, _("no frequencies for {question}").format(question=question))
        rows = []
        for _i, row in data.iterrows():
            text = display_label(labels, question, row["code"])
            if several_tp:
                text += f" ({row['timepoint']})"
            if several_cohorts:
                text += f" [{row['cohort']}]"
            rows.append(("row", text))
        ys = row_axis(ax, rows)
        shares = data["_share"].to_numpy(dtype=float)
        ax.barh(ys, np.nan_to_num(shares), height=0.6, color=OKABE_ITO["sky_blue"], gid="share")
        segments = []
        for y, (_i, row), share in zip(ys, data.iterrows(), shares, strict=True):
            lo, hi = as_float(row.get("ci_low")), as_float(row.get("ci_high"))
            k, n = as_float(row.get("k")), as_float(row.get("n"))
            if np.isfinite(lo) and np.isfinite(hi):
                segments.append(((lo, y), (hi, y)))
            count = f"{int(k)}/{int(n)}" if np.isfinite(k) and np.isfinite(n) else "?"
            if np.isfinite(share):
                right = max(share, hi if np.isfinite(hi) else share)
                ax.text(right + 0.015, y, f"{count} ({share:.0%})", ha="left", va="center",
                        fontsize=SMALL, gid="value")
            else:
                row_note(ax, y, _("undefined ({count})").format(count=count))
        if segments:
            ax.add_collection(matplotlib.collections.LineCollection(
                segments, colors="black", linewidths=0.8, gid="ci", zorder=3))
        ax.set_xlim(0, 1.0)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel(_("Participants with code ({level} CI)").format(level=f"{confidence:.0%}"))
        return finish_figure(fig)
