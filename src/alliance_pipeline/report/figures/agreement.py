"""The agreement figure: Krippendorff's alpha per code with its CI, grouped by question
(``agreement.csv`` in, a matplotlib Figure out; style and helpers in :mod:`.style`)."""
from __future__ import annotations

from collections.abc import Mapping

import matplotlib.collections
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from alliance_pipeline.report.figures.style import (
    DOUBLE_COLUMN,
    GREY,
    MARKERS,
    VERDICT_COLOURS,
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
        frame = agreement.copy()
        for column in ("question", "code"):
            if column not in frame.columns:
                frame[column] = ""
        frame["code"] = frame["code"].astype(str)
        labels = merge_labels(questions, labels)
        questions = questions or {}
        question_labels = question_labels or {}

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

        rows: list[tuple[str, str]] = []
        positions: dict[tuple[str, str], int] = {}
        for question in question_order:
            rows.append(("header", str(question_labels.get(question, question))))
            multi = questions.get(question, {}).get("multi_label") if questions else None
            for q, code in order:
                if q == question:
                    positions[(q, code)] = len(rows)
                    rows.append(("row", display_label(labels, q, code, multi)))

        cohorts = cohorts_of(frame)
        height = max(1.8, 0.2 * len(rows) + 1.1)
        fig = new_figure(DOUBLE_COLUMN, height)
        ax = fig.add_subplot()
        if not rows:
            return finish_empty(fig, ax, _("no agreement statistics"))
        ys = row_axis(ax, rows)

        alpha = numeric_column(frame, "krippendorff_alpha")
        low = numeric_column(frame, "alpha_ci_low")
        high = numeric_column(frame, "alpha_ci_high")
        finite = pd.concat([alpha, low, high]).dropna()
        left = min(0.0, float(finite.min()) if len(finite) else 0.0) - 0.05
        ax.set_xlim(left, 1.05)

        for index, cohort in enumerate(cohorts):
            sub = of_cohort(frame, cohort)
            marker = MARKERS[index % len(MARKERS)] if len(cohorts) > 1 else "o"
            xs, yv, colours, ci = [], [], [], []
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
                xs.append(a)
                yv.append(y)
                colours.append(VERDICT_COLOURS.get(verdict, GREY))
                if np.isfinite(lo) and np.isfinite(hi):
                    ci.append(((lo, y), (hi, y)))
                if len(cohorts) == 1:
                    side_text(ax, y, f"{fmt_value(a)} {fmt_interval(lo, hi)}")
            if ci:
                ax.add_collection(matplotlib.collections.LineCollection(
                    ci, colors="black", linewidths=0.8, gid="ci", zorder=2))
            if xs:
                ax.scatter(xs, yv, c=colours, marker=marker, s=22, zorder=3,
                           edgecolors="black", linewidths=0.4, gid="estimate")

        if len(cohorts) == 1:
            side_header(ax, ys[0], _("α [{level} CI]").format(level=f"{confidence:.0%}"))
        ax.axvline(acceptable, color="black", linestyle="--", linewidth=0.7, zorder=1,
                   label=f"acceptable {acceptable:.3f}", gid="threshold")
        ax.axvline(good, color="black", linestyle=":", linewidth=0.9, zorder=1,
                   label=f"good {good:.3f}", gid="threshold")
        ax.axvline(0, color=GREY, linewidth=0.5, zorder=0)
        ax.set_xlabel(_("Krippendorff's α ({level} CI)").format(level=f"{confidence:.0%}"))

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
        return finish_figure(fig)
