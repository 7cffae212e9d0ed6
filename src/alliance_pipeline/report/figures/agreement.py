"""The agreement figure: Krippendorff's alpha per code with its CI, grouped by question
(``agreement.csv`` in, a matplotlib Figure out; style and helpers in :mod:`.style`)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    GREY,
    MARKERS,
    VERDICT_COLOURS,
    Estimates,
    codes_of,
    cohorts_of,
    display_label,
    dodge,
    finish_empty,
    finish_figure,
    fmt_interval,
    fmt_value,
    merge_labels,
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


def _agreement_frame(agreement: pd.DataFrame) -> pd.DataFrame:
    """A copy with ``question`` and ``code`` columns (empty when missing), codes as text."""
    frame = agreement.copy()
    for column in ("question", "code"):
        if column not in frame.columns:
            frame[column] = ""
    frame["code"] = frame["code"].astype(str)
    return frame


def _row_order(frame: pd.DataFrame, questions: Mapping) -> tuple[list, list[tuple[str, str]]]:
    """The questions in order (the codebook's first) and their ``(question, code)`` rows: the
    codebook's codes, then others of the table, the whole question ``*`` last."""
    order: list[tuple[str, str]] = []
    present = list(dict.fromkeys(zip(frame["question"], frame["code"], strict=True)))
    question_order = list(dict.fromkeys(
        [q for q in questions if q in set(frame["question"])]
        + frame["question"].tolist()))
    for question in question_order:
        in_table = [code for q, code in present if q == question]
        codebook = codes_of(questions[question]) if question in questions else []
        codes = [c for c in codebook if c in in_table] + [
            c for c in in_table if c not in codebook and c != "*"]
        if "*" in in_table:
            codes.append("*")
        order.extend((question, code) for code in codes)
    return question_order, order


def _rows(question_order: list, order: list[tuple[str, str]], *, questions: Mapping,
          question_labels: Mapping, labels: Mapping) -> tuple[list, dict[tuple[str, str], int]]:
    """The figure's rows (a header per question, a row per code) and each code's row index."""
    rows: list[tuple[str, str]] = []
    positions: dict[tuple[str, str], int] = {}
    for question in question_order:
        rows.append(("header", str(question_labels.get(question, question))))
        multi = questions.get(question, {}).get("multi_label") if questions else None
        for q, code in order:
            if q == question:
                positions[(q, code)] = len(rows)
                rows.append(("row", display_label(labels, q, code, multi)))
    return rows, positions


def _draw_cohort(ax, frame: pd.DataFrame, positions: Mapping, ys: list[float], values: tuple, *,
                 index: int, cohorts: list) -> None:
    """One cohort's alphas with their intervals coloured by verdict (a note where undefined),
    and with a single cohort the values at the right. ``values``: alpha, low, high."""
    alpha, low, high = values
    cohort = cohorts[index]
    sub = of_cohort(frame, cohort)
    marks = Estimates()
    for row_index in sub.index:
        key = (frame.at[row_index, "question"], frame.at[row_index, "code"])
        if key not in positions:
            continue
        y = ys[positions[key]] + dodge(index, len(cohorts))
        a, lo, hi = alpha[row_index], low[row_index], high[row_index]
        if not np.isfinite(a):
            row_note(ax, y, _("undefined") if len(cohorts) == 1 else _("undefined ({cohort})").format(cohort=cohort))
            continue
        verdict = str(frame.at[row_index, "verdict"]) if "verdict" in frame else ""
        marks.add(a, y, VERDICT_COLOURS.get(verdict, GREY), lo, hi)
        if len(cohorts) == 1:
            side_text(ax, y, f"{fmt_value(a)} {fmt_interval(lo, hi)}")
    marks.draw(ax, marker=MARKERS[index % len(MARKERS)] if len(cohorts) > 1 else "o", size=22)


def _thresholds(ax, acceptable: float, good: float) -> None:
    """The ``acceptable`` (dashed) and ``good`` (dotted) thresholds and the zero line."""
    ax.axvline(acceptable, color="black", linestyle="--", linewidth=0.7, zorder=1,
               label=f"acceptable {acceptable:.3f}", gid="threshold")
    ax.axvline(good, color="black", linestyle=":", linewidth=0.9, zorder=1,
               label=f"good {good:.3f}", gid="threshold")
    ax.axvline(0, color=GREY, linewidth=0.5, zorder=0)


def _legend(fig: Figure, acceptable: float, good: float, cohorts: list) -> None:
    """The thresholds, the verdicts' colours and (several cohorts) the cohorts' markers."""
    handles = [
        Line2D([], [], color="black", linestyle="--", linewidth=0.7,
               label=_("acceptable {value}").format(value=f"{acceptable:.3f}")),
        Line2D([], [], color="black", linestyle=":", linewidth=0.9,
               label=_("good {value}").format(value=f"{good:.3f}")),
    ] + [Line2D([], [], linestyle="none", marker="o", markerfacecolor=colour,
                markeredgecolor="black", markeredgewidth=0.4, label=_("verdict: {name}").format(name=_(name)))
         for name, colour in VERDICT_COLOURS.items()]
    if len(cohorts) > 1:
        handles += [Line2D([], [], linestyle="none", marker=MARKERS[i % len(MARKERS)],
                           color="black", label=str(c)) for i, c in enumerate(cohorts)]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5))


def agreement_figure(agreement: pd.DataFrame, *, labels: Mapping, acceptable: float,
                     good: float, questions: Mapping | None = None,
                     question_labels: Mapping | None = None,
                     confidence: float = 0.95) -> Figure:
    """Krippendorff's alpha per code with its CI, grouped by question.

    One row per question and code of ``agreement`` (code ``*`` = the question as a whole,
    drawn last in its group), a point at alpha and a bar from alpha_ci_low to
    alpha_ci_high, coloured by verdict; dashed/dotted vertical lines at the ``acceptable``
    and ``good`` thresholds. An undefined alpha is written as "undefined". ``questions``
    (qid -> {"codes", "multi_label", ...}) optionally fixes the order and names ``*`` as
    MASI (multi-label) or nominal. Several cohorts are drawn side by side in each row.
    """
    with style():
        frame = _agreement_frame(agreement)
        labels = merge_labels(questions, labels)
        questions = questions or {}
        question_order, order = _row_order(frame, questions)
        rows, positions = _rows(question_order, order, questions=questions,
                                question_labels=question_labels or {}, labels=labels)
        cohorts = cohorts_of(frame)
        fig = new_figure(DOUBLE_COLUMN, max(1.8, 0.2 * len(rows) + 1.1))
        ax = fig.add_subplot()
        if not rows:
            return finish_empty(fig, ax, _("no agreement statistics"))
        ys = row_axis(ax, rows)
        values = tuple(numeric_column(frame, c) for c in ("krippendorff_alpha", "alpha_ci_low", "alpha_ci_high"))
        finite = pd.concat(values).dropna()
        ax.set_xlim(min(0.0, float(finite.min()) if len(finite) else 0.0) - 0.05, 1.05)
        for index in range(len(cohorts)):
            _draw_cohort(ax, frame, positions, ys, values, index=index, cohorts=cohorts)
        if len(cohorts) == 1:
            side_header(ax, ys[0], _("α [{level} CI]").format(level=f"{confidence:.0%}"))
        _thresholds(ax, acceptable, good)
        ax.set_xlabel(_("Krippendorff's α ({level} CI)").format(level=f"{confidence:.0%}"))
        _legend(fig, acceptable, good, cohorts)
        return finish_figure(fig)
