"""The forest figure of a repeated question: the McNemar contrasts' risk differences with
their CIs (``tests.csv`` in, a matplotlib Figure out)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.collections
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    MARKERS,
    PALETTE,
    cohorts_of,
    display_label,
    dodge,
    finish_empty,
    finish_figure,
    fmt_interval,
    fmt_p_adjusted,
    fmt_value,
    new_figure,
    numeric_column,
    of_cohort,
    row_axis,
    row_note,
    side_header,
    side_text,
    style,
)
from alliance_pipeline.report.language import _


def _contrast_items(contrasts) -> list[tuple[str, tuple]]:
    if isinstance(contrasts, Mapping):
        return [(str(name), tuple(tps or ())) for name, tps in contrasts.items()]
    return [(str(name), ()) for name in contrasts]


def forest_figure(tests: pd.DataFrame, *, question: str, codes: Sequence[str],
                  labels: Mapping, contrasts, confidence: float = 0.95) -> Figure:
    """Forest plot of the McNemar contrasts' risk differences with their CIs.

    Uses the rows of ``tests`` with test ``mcnemar`` and a method other than
    ``clustered``. Rows are grouped by code (``codes`` order); within a code, one row per
    contrast in ``contrasts`` order (a mapping name -> [first, second] as in the config, or
    a list of names). The values and adjusted p are written at the right. A contrast with
    no row says "not tested"; one with an undefined risk difference says "undefined".
    """
    with style():
        codes = list(codes)
        items = _contrast_items(contrasts)
        frame = tests
        needed = {"test", "question", "code", "contrast"}
        if needed <= set(frame.columns):
            method = frame["method"].astype(str) if "method" in frame else ""
            frame = frame[(frame["test"] == "mcnemar") & (method != "clustered")
                          & (frame["question"] == question)]
        else:
            frame = frame.iloc[0:0]
        cohorts = cohorts_of(frame)

        rows: list[tuple[str, str]] = []
        keys: list[tuple[str, str] | None] = []
        for code in codes:
            rows.append(("header", display_label(labels, question, code)))
            keys.append(None)
            for name, tps in items:
                arrow = f" ({tps[0]} \u2192 {tps[1]})" if len(tps) == 2 else ""
                rows.append(("row", f"{name}{arrow}"))
                keys.append((code, name))

        height = max(1.6, 0.2 * len(rows) + 0.9)
        fig = new_figure(DOUBLE_COLUMN, height)
        ax = fig.add_subplot()
        if not codes or not items:
            return finish_empty(fig, ax, _("no contrasts to show"))
        ys = row_axis(ax, rows)

        rd = numeric_column(frame, "risk_difference")
        low = numeric_column(frame, "rd_ci_low")
        high = numeric_column(frame, "rd_ci_high")
        padj = numeric_column(frame, "p_adjusted")
        finite = pd.concat([rd, low, high]).dropna()
        reach = max([0.25] + [abs(float(v)) for v in finite])
        reach = min(1.0, reach) + 0.08
        ax.set_xlim(-reach, reach)

        code_index = {code: i for i, code in enumerate(codes)}
        for cindex, cohort in enumerate(cohorts):
            sub = of_cohort(frame, cohort)
            xs, yv, colours, segments = [], [], [], []
            for key, y in zip(keys, ys, strict=True):
                if key is None:
                    continue
                code, name = key
                match = sub[(sub["code"].astype(str) == str(code))
                            & (sub["contrast"].astype(str) == name)] if len(sub) else sub
                y = y + dodge(cindex, len(cohorts))
                suffix = f" ({cohort})" if len(cohorts) > 1 else ""
                if match.empty:
                    row_note(ax, y, _("not tested") + suffix)
                    continue
                i = match.index[0]
                value, lo, hi = rd[i], low[i], high[i]
                if not np.isfinite(value):
                    note = str(match.at[i, "note"]) if "note" in match.columns else ""
                    note = "" if note in ("", "nan", "None") else f": {note[:60]}"
                    row_note(ax, y, _("undefined") + f"{note}{suffix}")
                    continue
                xs.append(value)
                yv.append(y)
                colours.append(PALETTE[code_index[code] % len(PALETTE)])
                if np.isfinite(lo) and np.isfinite(hi):
                    segments.append(((lo, y), (hi, y)))
                if len(cohorts) == 1:
                    side_text(ax, y, f"{fmt_value(value, sign=True)} "
                                      f"{fmt_interval(lo, hi, sign=True)}   {fmt_p_adjusted(padj[i])}")
            if segments:
                ax.add_collection(matplotlib.collections.LineCollection(
                    segments, colors="black", linewidths=0.8, gid="ci", zorder=2))
            if xs:
                ax.scatter(xs, yv, c=colours, marker=MARKERS[cindex % len(MARKERS)], s=24,
                           zorder=3, edgecolors="black", linewidths=0.4, gid="estimate")
        if len(cohorts) == 1:
            side_header(ax, ys[0], _("RD [{level} CI]").format(level=f"{confidence:.0%}"))
        ax.axvline(0, color="black", linewidth=0.7, zorder=1, gid="zero")
        ax.set_xlabel(_("Risk difference, later − earlier time point ({level} CI)").format(level=f"{confidence:.0%}"))
        if len(cohorts) > 1:
            fig.legend(handles=[Line2D([], [], linestyle="none", color="black",
                                       marker=MARKERS[i % len(MARKERS)], label=str(c))
                                for i, c in enumerate(cohorts)],
                       loc="outside lower center", ncols=len(cohorts))
        return finish_figure(fig)
