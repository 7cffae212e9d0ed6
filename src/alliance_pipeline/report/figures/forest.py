"""The forest figure of a repeated question: the McNemar contrasts' risk differences with
their CIs (``tests.csv`` in, a matplotlib Figure out).

Its pieces serve the study report's forest figure too (:mod:`alliance_pipeline.study.figures`):
the rows per code (:func:`code_rows`), the figure sized to them (:func:`forest_axes`), the
x range (:func:`set_reach`) and the
zero line with the axis label (:func:`rd_axis`)."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    MARKERS,
    PALETTE,
    Estimates,
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


def _arrow(tps: tuple) -> str:
    """`` (first → second)`` of a contrast's two time points, "" when not two."""
    return f" ({tps[0]} \u2192 {tps[1]})" if len(tps) == 2 else ""


def _contrast_items(contrasts) -> list[tuple[str, tuple]]:
    if isinstance(contrasts, Mapping):
        return [(str(name), tuple(tps or ())) for name, tps in contrasts.items()]
    return [(str(name), ()) for name in contrasts]


def code_rows(codes: Sequence[str], header: Callable[[str], str],
              members: Sequence[tuple[str, Any]]) -> tuple[list[tuple[str, str]], list]:
    """A forest figure's rows: per code a header (``header(code)``) and one row per member
    ``(label, member)``. Returns the rows for :func:`row_axis` and each row's key:
    ``(code, member)``, None for a header."""
    rows: list[tuple[str, str]] = []
    keys: list[tuple[str, Any] | None] = []
    for code in codes:
        rows.append(("header", header(code)))
        keys.append(None)
        for label, member in members:
            rows.append(("row", label))
            keys.append((code, member))
    return rows, keys


def forest_axes(rows: Sequence) -> tuple[Figure, Any]:
    """A page-wide figure as tall as its ``rows`` need, and its axes."""
    fig = new_figure(DOUBLE_COLUMN, max(1.6, 0.2 * len(rows) + 0.9))
    return fig, fig.add_subplot()


def set_reach(ax, values: pd.Series) -> None:
    """The x range: symmetric about 0, reaching the largest |value| (at least 0.25, at most 1)."""
    reach = max([0.25] + [abs(float(v)) for v in values.dropna()])
    reach = min(1.0, reach) + 0.08
    ax.set_xlim(-reach, reach)


def rd_axis(ax, xlabel: str, *, header_y: float | None, confidence: float) -> None:
    """The values' header ``RD [CI]`` at ``header_y`` (None: no values are written), the
    zero line and the x axis' label."""
    if header_y is not None:
        side_header(ax, header_y, _("RD [{level} CI]").format(level=f"{confidence:.0%}"))
    ax.axvline(0, color="black", linewidth=0.7, zorder=1, gid="zero")
    ax.set_xlabel(xlabel)


def _mcnemar_tests(tests: pd.DataFrame, question: str) -> pd.DataFrame:
    """The question's McNemar rows other than ``clustered`` (none when a column is missing)."""
    needed = {"test", "question", "code", "contrast"}
    if not needed <= set(tests.columns):
        return tests.iloc[0:0]
    method = tests["method"].astype(str) if "method" in tests else ""
    return tests[(tests["test"] == "mcnemar") & (method != "clustered") & (tests["question"] == question)]


def _undefined_note(match: pd.DataFrame, i) -> str:
    """``: <note>`` (its first 60 characters) of an undefined row, "" when it has none."""
    note = str(match.at[i, "note"]) if "note" in match.columns else ""
    return "" if note in ("", "nan", "None") else f": {note[:60]}"


def _draw_cohort(ax, sub: pd.DataFrame, keys: list, ys: list[float], values: tuple, *,
                 cindex: int, cohorts: list, code_index: Mapping) -> None:
    """One cohort's contrasts (``sub``): per row its estimate and interval, or a note, and
    with a single cohort the values at the right. ``values``: rd, low, high, adjusted p."""
    rd, low, high, padj = values
    marks = Estimates()
    for key, y in zip(keys, ys, strict=True):
        if key is None:
            continue
        code, name = key
        match = sub[(sub["code"].astype(str) == str(code))
                    & (sub["contrast"].astype(str) == name)] if len(sub) else sub
        y = y + dodge(cindex, len(cohorts))
        suffix = f" ({cohorts[cindex]})" if len(cohorts) > 1 else ""
        if match.empty:
            row_note(ax, y, _("not tested") + suffix)
            continue
        i = match.index[0]
        value, lo, hi = rd[i], low[i], high[i]
        if not np.isfinite(value):
            row_note(ax, y, _("undefined") + f"{_undefined_note(match, i)}{suffix}")
            continue
        marks.add(value, y, PALETTE[code_index[code] % len(PALETTE)], lo, hi)
        if len(cohorts) == 1:
            side_text(ax, y, f"{fmt_value(value, sign=True)} "
                             f"{fmt_interval(lo, hi, sign=True)}   {fmt_p_adjusted(padj[i])}")
    marks.draw(ax, marker=MARKERS[cindex % len(MARKERS)], size=24)


def _cohort_legend(fig: Figure, cohorts: list) -> None:
    fig.legend(handles=[Line2D([], [], linestyle="none", color="black",
                               marker=MARKERS[i % len(MARKERS)], label=str(c))
                        for i, c in enumerate(cohorts)],
               loc="outside lower center", ncols=len(cohorts))


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
        frame = _mcnemar_tests(tests, question)
        cohorts = cohorts_of(frame)
        rows, keys = code_rows(codes, lambda code: display_label(labels, question, code),
                               [(f"{name}{_arrow(tps)}", name) for name, tps in items])
        fig, ax = forest_axes(rows)
        if not codes or not items:
            return finish_empty(fig, ax, _("no contrasts to show"))
        ys = row_axis(ax, rows)
        values = tuple(numeric_column(frame, column)
                       for column in ("risk_difference", "rd_ci_low", "rd_ci_high", "p_adjusted"))
        set_reach(ax, pd.concat(values[:3]))
        code_index = {code: i for i, code in enumerate(codes)}
        for cindex, cohort in enumerate(cohorts):
            _draw_cohort(ax, of_cohort(frame, cohort), keys, ys, values, cindex=cindex,
                         cohorts=cohorts, code_index=code_index)
        rd_axis(ax, _("Risk difference, later − earlier time point ({level} CI)").format(level=f"{confidence:.0%}"),
                header_y=ys[0] if len(cohorts) == 1 else None, confidence=confidence)
        if len(cohorts) > 1:
            _cohort_legend(fig, cohorts)
        return finish_figure(fig)
