"""Figures for reviewers and the report: derived tables in, matplotlib Figures out.

Every figure function takes the derived tables of the data contract (``agreement.csv``,
``proportions.csv``, ``tests.csv``, the flow table) as data frames plus plain values from
the config and codebook, and returns a :class:`matplotlib.figure.Figure`. Nothing is read
or written here except by :func:`save_figure` / :func:`write_cohort_figures`.

Decisions:

- Figures are built with :class:`~matplotlib.figure.Figure` directly, never ``pyplot``: no
  global figure registry to leak memory in a long Snakemake job, no GUI backend needed.
  PNG is rendered by Agg, SVG by the SVG backend.
- The style (:data:`STYLE`) is applied with ``rc_context`` while a figure is built and
  while it is saved; importing this module changes no global rcParams. (The
  ``matplotlib_fontja`` package is *not* imported, since importing it changes the global
  font; only its IPAexGothic file is registered.)
- Fonts: the family list ``["DejaVu Sans", "IPAexGothic"]`` keeps Latin text in DejaVu
  Sans and falls back to IPAexGothic per glyph for Japanese (matplotlib >= 3.6).
- Colours: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"); meaning is
  never carried by colour alone (positions, reference lines, text values).
- Sizes: journal column widths (3.5 in single, 7 in double); no text below 7 pt.
- Output is byte-for-byte reproducible: no dates or version strings in the metadata, a
  fixed ``svg.hashsalt``, text as paths in SVG; files are written atomically.
- An undefined value (NaN) is shown as the word "undefined", never as a point at 0.
"""
from __future__ import annotations

import importlib.util
import io
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import matplotlib.collections
import numpy as np
import pandas as pd
from cycler import cycler
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter
from matplotlib.transforms import blended_transform_factory

from alliance_pipeline.config import published_figures
from alliance_pipeline.outputs import figure_paths, figure_stems, is_repeated  # noqa: F401 (re-exported)
from alliance_pipeline.tables import atomic_write_bytes

__all__ = [
    "OKABE_ITO", "PALETTE", "STYLE", "SINGLE_COLUMN", "DOUBLE_COLUMN", "FONT_FAMILY",
    "register_fonts", "style", "save_figure", "render_figure",
    "agreement_figure", "shares_figure", "forest_figure", "flow_figure",
    "frequencies_figure", "figure_stems", "write_cohort_figures",
]

# Okabe & Ito (2008), Color Universal Design: distinguishable with the common colour-vision
# deficiencies.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
# Series order: yellow is last because it is faint on white.
PALETTE = [OKABE_ITO[name] for name in (
    "blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue", "black",
    "yellow")]
GREY = "#7F7F7F"
VERDICT_COLOURS = {
    "good": OKABE_ITO["bluish_green"],
    "tentative": OKABE_ITO["orange"],
    "insufficient": OKABE_ITO["vermillion"],
}

SINGLE_COLUMN = 3.5   # inches: one journal column
DOUBLE_COLUMN = 7.0   # inches: full page width
DPI = 300
FONT_FAMILY = ["DejaVu Sans", "IPAexGothic"]
HASH_SALT = "alliance-pipeline"
SMALL = 7             # pt: smallest text in any figure
BASE = 8              # pt

STYLE = {
    "font.family": FONT_FAMILY,
    "font.size": BASE,
    "axes.titlesize": BASE,
    "axes.labelsize": BASE,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "figure.titlesize": BASE + 1,
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "axes.unicode_minus": True,
    "lines.linewidth": 1.0,
    "lines.markersize": 4.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "legend.frameon": False,
    "savefig.dpi": DPI,
    "svg.fonttype": "path",
    "svg.hashsalt": HASH_SALT,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
}

_FONT_FILE = ("fonts", "ipaexg.ttf")
_registered = False


def register_fonts() -> Path | None:
    """Register IPAexGothic (from matplotlib_fontja) with matplotlib's font manager.

    Idempotent. Returns the font file, or None when matplotlib_fontja is not installed
    (Latin text still renders; Japanese would then miss glyphs).
    """
    global _registered
    spec = importlib.util.find_spec("matplotlib_fontja")  # locates, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]).joinpath(*_FONT_FILE)
    if not path.is_file():
        return None
    if not _registered:
        known = {Path(entry.fname).resolve() for entry in font_manager.fontManager.ttflist}
        if path.resolve() not in known:
            font_manager.fontManager.addfont(str(path))
        _registered = True
    return path


class _NoBoldFallbackNotice(logging.Filter):
    """Drop the font manager's notice that IPAexGothic has no bold face: bold Japanese
    falls back to the regular weight, which is expected, not an error."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "IPAexGothic" not in record.getMessage()


@contextmanager
def style():
    """Context in which figures of this module are built and saved."""
    register_fonts()
    logger = logging.getLogger("matplotlib.font_manager")
    notice = _NoBoldFallbackNotice()
    logger.addFilter(notice)
    try:
        with matplotlib.rc_context(STYLE):
            yield
    finally:
        logger.removeFilter(notice)


# --------------------------------------------------------------------------- saving

def render_figure(fig: Figure, fmt: str) -> bytes:
    """The bytes of ``fig`` as ``png`` (300 dpi) or ``svg``, free of dates and versions."""
    buffer = io.BytesIO()
    with style():
        if fmt == "png":
            fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        elif fmt == "svg":
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        else:
            raise ValueError(f"unsupported figure format {fmt!r}; use 'png' or 'svg'")
    return buffer.getvalue()


def save_figure(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """Write ``<stem>.png`` (300 dpi) and ``<stem>.svg`` atomically and reproducibly.

    The suffix is appended to the stem (a dot in the stem is kept). Returns both paths.
    """
    stem = Path(stem)
    written = []
    for fmt in ("png", "svg"):
        path = stem.parent / f"{stem.name}.{fmt}"
        atomic_write_bytes(path, render_figure(fig, fmt))
        written.append(path)
    return written


# --------------------------------------------------------------------------- helpers

def _label(labels: Mapping | None, question: str | None, code: str,
           multi_label: bool | None = None) -> str:
    """Display label of ``code``: labels[(question, code)], labels[question][code],
    labels[code], else the code id; ``*`` is the question as a whole."""
    labels = labels or {}
    for key in ((question, code),):
        if key in labels:
            return str(labels[key])
    nested = labels.get(question) if question is not None else None
    if isinstance(nested, Mapping) and code in nested:
        value = nested[code]
        return str(value.get("label", code) if isinstance(value, Mapping) else value)
    if code in labels and not isinstance(labels[code], Mapping):
        return str(labels[code])
    if code == "*":
        if multi_label is True:
            return "whole question (MASI)"
        if multi_label is False:
            return "whole question (nominal)"
        return "whole question"
    return str(code)


def _codebook_labels(questions: Mapping | None) -> dict:
    """Labels found in codebook-shaped questions (codes: {id: {label: ...}})."""
    found = {}
    for qid, spec in (questions or {}).items():
        if not isinstance(spec, Mapping):
            continue
        for code, label in (spec.get("labels") or {}).items():
            found[(qid, code)] = label
        codes = spec.get("codes", [])
        if isinstance(codes, Mapping):
            for code, info in codes.items():
                if isinstance(info, Mapping) and "label" in info:
                    found[(qid, code)] = info["label"]
    return found


def _merge_labels(questions: Mapping | None, labels: Mapping | None) -> dict:
    """``labels`` plus the codebook's labels for codes ``labels`` does not name."""
    merged = dict(labels or {})
    for (question, code), label in _codebook_labels(questions).items():
        if (question, code) not in merged and code not in merged:
            merged[(question, code)] = label
    return merged


def _num(value) -> float:
    """A float, NaN for anything missing or non-numeric."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _fmt(value: float, digits: int = 2, sign: bool = False) -> str:
    if not np.isfinite(value):
        return "–"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return text.replace("-", "\u2212")


def _fmt_p(value: float) -> str:
    if not np.isfinite(value):
        return "p(adj) –"
    if value < 0.001:
        return "p(adj) < 0.001"
    return f"p(adj) = {value:.3f}"


def _fmt_ci(low: float, high: float, digits: int = 2, sign: bool = False) -> str:
    return f"[{_fmt(low, digits, sign)}, {_fmt(high, digits, sign)}]"


def _numeric_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` as numbers: NaN for values that are not numbers, all NaN when the
    column is missing."""
    column = frame[name] if name in frame.columns else pd.Series(
        [math.nan] * len(frame), index=frame.index, dtype=object)
    return pd.to_numeric(column, errors="coerce")


def _cohorts(frame: pd.DataFrame) -> list:
    if "cohort" not in frame.columns or frame.empty:
        return [None]
    return list(dict.fromkeys(frame["cohort"].tolist()))


def _of_cohort(frame: pd.DataFrame, cohort) -> pd.DataFrame:
    if cohort is None or "cohort" not in frame.columns:
        return frame
    return frame[frame["cohort"] == cohort]


def _dodge(index: int, count: int, width: float = 0.5) -> float:
    if count <= 1:
        return 0.0
    return (index - (count - 1) / 2) * (width / count)


_MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def _row_axis(ax, rows: list[tuple[str, str]]) -> list[float]:
    """Lay out rows top to bottom: ``("header", text)`` rows in bold, ``("row", text)``
    rows as plain tick labels. Returns the y position of each row."""
    ys = [float(len(rows) - 1 - i) for i in range(len(rows))]
    ax.set_yticks(ys, [text for _, text in rows])
    for (kind, _), tick in zip(rows, ax.get_yticklabels()):
        if kind == "header":
            tick.set_fontweight("bold")
    for (kind, _), tick in zip(rows, ax.yaxis.get_major_ticks()):
        if kind == "header":
            tick.tick1line.set_visible(False)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return ys


def _note(ax, y: float, text: str, x: float = 0.01) -> None:
    """Grey italic text at the left of a row, for values that are not drawn."""
    ax.text(x, y, text, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left", va="center", fontsize=SMALL, style="italic", color=GREY,
            gid="undefined")


def _side_text(ax, y: float, text: str) -> None:
    """Value column to the right of the axes."""
    ax.text(1.02, y, text, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left", va="center", fontsize=SMALL, gid="value")


def _side_header(ax, y: float, text: str) -> None:
    ax.text(1.02, y, text, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left", va="center", fontsize=SMALL, color="#404040", gid="value-header")


def _finish_empty(fig: Figure, ax, text: str) -> Figure:
    """The finished figure for no data: ``ax`` blank but for ``text``."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=BASE, color=GREY, gid="undefined")
    return _finish(fig)


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _finish(fig: Figure) -> Figure:
    """Lay the figure out once, at the PNG resolution and with the style active, then
    freeze the layout.

    Ticks are created lazily at the first draw, so drawing here gives them the style's
    fonts. Constrained layout depends on text extents, which differ slightly between
    renderers and dpi; without freezing, saving SVG (72 dpi) after PNG (300 dpi) would move
    the axes a fraction of a pixel and a second save would give different bytes. Frozen,
    PNG and SVG share one layout and every save is identical. (Call
    ``fig.set_layout_engine("constrained")`` to re-enable it after editing a figure.)
    """
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    return fig


def _codes_of(spec: Mapping) -> list[str]:
    codes = spec.get("codes", [])
    return list(codes.keys()) if isinstance(codes, Mapping) else list(codes)


def _ordered_timepoints(study: Sequence[str], asked: Iterable[str]) -> list[str]:
    asked = list(asked)
    return [tp for tp in study if tp in asked] + [tp for tp in asked if tp not in study]


# --------------------------------------------------------------------------- agreement

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
        labels = _merge_labels(questions, labels)
        questions = questions or {}
        question_labels = question_labels or {}

        order: list[tuple[str, str]] = []
        present = list(dict.fromkeys(zip(frame["question"], frame["code"])))
        question_order = list(dict.fromkeys(
            [q for q in questions if q in set(frame["question"])]
            + frame["question"].tolist()))
        for question in question_order:
            in_table = [code for q, code in present if q == question]
            codebook = _codes_of(questions[question]) if question in questions else []
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
                    rows.append(("row", _label(labels, q, code, multi)))

        cohorts = _cohorts(frame)
        height = max(1.8, 0.2 * len(rows) + 1.1)
        fig = _figure(DOUBLE_COLUMN, height)
        ax = fig.add_subplot()
        if not rows:
            return _finish_empty(fig, ax, "no agreement statistics")
        ys = _row_axis(ax, rows)

        alpha = _numeric_column(frame, "krippendorff_alpha")
        low = _numeric_column(frame, "alpha_ci_low")
        high = _numeric_column(frame, "alpha_ci_high")
        finite = pd.concat([alpha, low, high]).dropna()
        left = min(0.0, float(finite.min()) if len(finite) else 0.0) - 0.05
        ax.set_xlim(left, 1.05)

        for index, cohort in enumerate(cohorts):
            sub = _of_cohort(frame, cohort)
            marker = _MARKERS[index % len(_MARKERS)] if len(cohorts) > 1 else "o"
            xs, yv, colours, ci = [], [], [], []
            for row_index in sub.index:
                key = (frame.at[row_index, "question"], frame.at[row_index, "code"])
                if key not in positions:
                    continue
                y = ys[positions[key]] + _dodge(index, len(cohorts))
                a, lo, hi = alpha[row_index], low[row_index], high[row_index]
                if not np.isfinite(a):
                    _note(ax, y, "undefined" if len(cohorts) == 1 else f"undefined ({cohort})")
                    continue
                verdict = str(frame.at[row_index, "verdict"]) if "verdict" in frame else ""
                xs.append(a)
                yv.append(y)
                colours.append(VERDICT_COLOURS.get(verdict, GREY))
                if np.isfinite(lo) and np.isfinite(hi):
                    ci.append(((lo, y), (hi, y)))
                if len(cohorts) == 1:
                    _side_text(ax, y, f"{_fmt(a)} {_fmt_ci(lo, hi)}")
            if ci:
                ax.add_collection(matplotlib.collections.LineCollection(
                    ci, colors="black", linewidths=0.8, gid="ci", zorder=2))
            if xs:
                ax.scatter(xs, yv, c=colours, marker=marker, s=22, zorder=3,
                           edgecolors="black", linewidths=0.4, gid="estimate")

        if len(cohorts) == 1:
            _side_header(ax, ys[0], f"\u03b1 [{confidence:.0%} CI]")
        ax.axvline(acceptable, color="black", linestyle="--", linewidth=0.7, zorder=1,
                   label=f"acceptable {acceptable:.3f}", gid="threshold")
        ax.axvline(good, color="black", linestyle=":", linewidth=0.9, zorder=1,
                   label=f"good {good:.3f}", gid="threshold")
        ax.axvline(0, color=GREY, linewidth=0.5, zorder=0)
        ax.set_xlabel(f"Krippendorff's \u03b1 ({confidence:.0%} CI)")

        handles = [
            Line2D([], [], color="black", linestyle="--", linewidth=0.7,
                   label=f"acceptable {acceptable:.3f}"),
            Line2D([], [], color="black", linestyle=":", linewidth=0.9,
                   label=f"good {good:.3f}"),
        ] + [Line2D([], [], linestyle="none", marker="o", markerfacecolor=colour,
                    markeredgecolor="black", markeredgewidth=0.4, label=f"verdict: {name}")
             for name, colour in VERDICT_COLOURS.items()]
        if len(cohorts) > 1:
            handles += [Line2D([], [], linestyle="none", marker=_MARKERS[i % len(_MARKERS)],
                               color="black", label=str(c)) for i, c in enumerate(cohorts)]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 5))
        return _finish(fig)


# --------------------------------------------------------------------------- shares

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
        cohorts = _cohorts(data)
        ncols = max(1, min(len(codes), 3))
        nrows = max(1, math.ceil(len(codes) / ncols))
        width = SINGLE_COLUMN if ncols == 1 else DOUBLE_COLUMN
        extra = 0.35 if (published or len(cohorts) > 1) else 0.0
        fig = _figure(width, 2.3 * nrows + extra)
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True).ravel()
        if not codes:
            return _finish_empty(fig, axes[0], f"no codes for {question}")
        positions = {tp: float(i) for i, tp in enumerate(timepoints)}
        span = None
        if training_contrast and len(training_contrast) == 2 and all(
                tp in positions for tp in training_contrast):
            span = sorted(positions[tp] for tp in training_contrast)

        for ax in axes[len(codes):]:
            ax.set_axis_off()
        for panel, (ax, code) in enumerate(zip(axes, codes)):
            ax.set_title(_label(labels, question, code))
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
                sub = _of_cohort(sub_code, cohort)
                series_colour = PALETTE[index % len(PALETTE)] if len(cohorts) > 1 else colour
                rows = [(tp, sub[sub["timepoint"] == tp]) for tp in timepoints]
                xs, ps, segments = [], [], []
                for tp, row in rows:
                    if row.empty:
                        continue
                    row = row.iloc[0]
                    x = positions[tp] + _dodge(index, len(cohorts), 0.3)
                    p, lo, hi = (_num(row.get("proportion")), _num(row.get("ci_low")),
                                 _num(row.get("ci_high")))
                    xs.append(x)
                    ps.append(p)
                    if np.isfinite(lo) and np.isfinite(hi):
                        segments.append(((x, lo), (x, hi)))
                    if not np.isfinite(p):
                        ax.text(x, 0.5, "undefined", rotation=90, ha="center", va="center",
                                fontsize=SMALL, style="italic", color=GREY, gid="undefined")
                    n = _num(row.get("n"))
                    if np.isfinite(n) and len(cohorts) == 1:
                        n_by_tp[tp] = n
                if segments:
                    ax.add_collection(matplotlib.collections.LineCollection(
                        segments, colors=series_colour, linewidths=1.0, gid="ci", zorder=2))
                ax.plot(xs, ps, marker=_MARKERS[index % len(_MARKERS)], color=series_colour,
                        zorder=3, gid="estimate",
                        label=str(cohort) if len(cohorts) > 1 else "this cohort")
            if published and code in published:
                values = published[code] or {}
                pub = [(positions[tp], _num(v)) for tp, v in values.items() if tp in positions]
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
                               marker=_MARKERS[i % len(_MARKERS)], label=str(c))
                        for i, c in enumerate(cohorts)]
        if published:
            handles.append(Line2D([], [], linestyle="none", marker="D",
                                  markerfacecolor="none", markeredgecolor="black",
                                  label="published"))
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        return _finish(fig)


# --------------------------------------------------------------------------- forest

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
        cohorts = _cohorts(frame)

        rows: list[tuple[str, str]] = []
        keys: list[tuple[str, str] | None] = []
        for code in codes:
            rows.append(("header", _label(labels, question, code)))
            keys.append(None)
            for name, tps in items:
                arrow = f" ({tps[0]} \u2192 {tps[1]})" if len(tps) == 2 else ""
                rows.append(("row", f"{name}{arrow}"))
                keys.append((code, name))

        height = max(1.6, 0.2 * len(rows) + 0.9)
        fig = _figure(DOUBLE_COLUMN, height)
        ax = fig.add_subplot()
        if not codes or not items:
            return _finish_empty(fig, ax, "no contrasts to show")
        ys = _row_axis(ax, rows)

        rd = _numeric_column(frame, "risk_difference")
        low = _numeric_column(frame, "rd_ci_low")
        high = _numeric_column(frame, "rd_ci_high")
        padj = _numeric_column(frame, "p_adjusted")
        finite = pd.concat([rd, low, high]).dropna()
        reach = max([0.25] + [abs(float(v)) for v in finite])
        reach = min(1.0, reach) + 0.08
        ax.set_xlim(-reach, reach)

        code_index = {code: i for i, code in enumerate(codes)}
        for cindex, cohort in enumerate(cohorts):
            sub = _of_cohort(frame, cohort)
            xs, yv, colours, segments = [], [], [], []
            for key, y in zip(keys, ys):
                if key is None:
                    continue
                code, name = key
                match = sub[(sub["code"].astype(str) == str(code))
                            & (sub["contrast"].astype(str) == name)] if len(sub) else sub
                y = y + _dodge(cindex, len(cohorts))
                suffix = f" ({cohort})" if len(cohorts) > 1 else ""
                if match.empty:
                    _note(ax, y, "not tested" + suffix)
                    continue
                i = match.index[0]
                value, lo, hi = rd[i], low[i], high[i]
                if not np.isfinite(value):
                    note = str(match.at[i, "note"]) if "note" in match.columns else ""
                    note = "" if note in ("", "nan", "None") else f": {note[:60]}"
                    _note(ax, y, f"undefined{note}{suffix}")
                    continue
                xs.append(value)
                yv.append(y)
                colours.append(PALETTE[code_index[code] % len(PALETTE)])
                if np.isfinite(lo) and np.isfinite(hi):
                    segments.append(((lo, y), (hi, y)))
                if len(cohorts) == 1:
                    _side_text(ax, y, f"{_fmt(value, sign=True)} "
                                      f"{_fmt_ci(lo, hi, sign=True)}   {_fmt_p(padj[i])}")
            if segments:
                ax.add_collection(matplotlib.collections.LineCollection(
                    segments, colors="black", linewidths=0.8, gid="ci", zorder=2))
            if xs:
                ax.scatter(xs, yv, c=colours, marker=_MARKERS[cindex % len(_MARKERS)], s=24,
                           zorder=3, edgecolors="black", linewidths=0.4, gid="estimate")
        if len(cohorts) == 1:
            _side_header(ax, ys[0], f"RD [{confidence:.0%} CI]")
        ax.axvline(0, color="black", linewidth=0.7, zorder=1, gid="zero")
        ax.set_xlabel(f"Risk difference, later \u2212 earlier time point ({confidence:.0%} CI)")
        if len(cohorts) > 1:
            fig.legend(handles=[Line2D([], [], linestyle="none", color="black",
                                       marker=_MARKERS[i % len(_MARKERS)], label=str(c))
                                for i, c in enumerate(cohorts)],
                       loc="outside lower center", ncols=len(cohorts))
        return _finish(fig)


# --------------------------------------------------------------------------- flow

_DASHES = ["--", ":", "-."]
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
                             n_total=frame["n_cohort"] if "n_cohort" in frame else math.nan)
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

    ``flow`` is the table of :func:`alliance_pipeline.proportions.participant_flow`
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
        fig = _figure(SINGLE_COLUMN, 2.8)
        ax = fig.add_subplot()
        if frame.empty or not questions:
            return _finish_empty(fig, ax, "no participant counts")
        order = _ordered_timepoints(timepoints, frame["timepoint"].tolist())
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
                xs.append(order.index(tp) + _dodge(qi, len(questions), 0.8))
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
        return _finish(fig)


def flow_from_proportions(proportions: pd.DataFrame) -> pd.DataFrame:
    """A minimal flow table (question, timepoint, n_participants) from proportions.csv,
    where n is the participants answering a question at a time point (equal for its codes).
    """
    if proportions.empty or not {"question", "timepoint", "n"} <= set(proportions.columns):
        return pd.DataFrame(columns=["question", "timepoint", "n_participants"])
    grouped = proportions.groupby(["question", "timepoint"], sort=False)["n"].max()
    return grouped.rename("n_participants").reset_index()


# --------------------------------------------------------------------------- frequencies

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
        data["_share"] = _numeric_column(data, "proportion")
        data = data.sort_values(["_share", "_order"], ascending=[False, True],
                                na_position="last", kind="stable")
        several_tp = "timepoint" in data and data["timepoint"].nunique() > 1
        several_cohorts = len(_cohorts(data)) > 1
        height = max(1.4, 0.28 * len(data) + 0.8)
        fig = _figure(DOUBLE_COLUMN, height)
        ax = fig.add_subplot()
        if data.empty:
            return _finish_empty(fig, ax, f"no frequencies for {question}")
        rows = []
        for _, row in data.iterrows():
            text = _label(labels, question, row["code"])
            if several_tp:
                text += f" ({row['timepoint']})"
            if several_cohorts:
                text += f" [{row['cohort']}]"
            rows.append(("row", text))
        ys = _row_axis(ax, rows)
        shares = data["_share"].to_numpy(dtype=float)
        ax.barh(ys, np.nan_to_num(shares), height=0.6, color=OKABE_ITO["sky_blue"], gid="share")
        segments = []
        for y, (_, row), share in zip(ys, data.iterrows(), shares):
            lo, hi = _num(row.get("ci_low")), _num(row.get("ci_high"))
            k, n = _num(row.get("k")), _num(row.get("n"))
            if np.isfinite(lo) and np.isfinite(hi):
                segments.append(((lo, y), (hi, y)))
            count = f"{int(k)}/{int(n)}" if np.isfinite(k) and np.isfinite(n) else "?"
            if np.isfinite(share):
                right = max(share, hi if np.isfinite(hi) else share)
                ax.text(right + 0.015, y, f"{count} ({share:.0%})", ha="left", va="center",
                        fontsize=SMALL, gid="value")
            else:
                _note(ax, y, f"undefined ({count})")
        if segments:
            ax.add_collection(matplotlib.collections.LineCollection(
                segments, colors="black", linewidths=0.8, gid="ci", zorder=3))
        ax.set_xlim(0, 1.0)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set_xlabel(f"Participants with code ({confidence:.0%} CI)")
        return _finish(fig)


# --------------------------------------------------------------------------- per cohort

_EMPTY = {
    "agreement": ["cohort", "question", "code", "krippendorff_alpha", "alpha_ci_low",
                  "alpha_ci_high", "verdict"],
    "proportions": ["cohort", "question", "code", "timepoint", "n", "k", "proportion",
                    "ci_low", "ci_high"],
    "tests": ["cohort", "question", "code", "test", "contrast", "method",
              "risk_difference", "rd_ci_low", "rd_ci_high", "p_adjusted", "note"],
}


def write_cohort_figures(tables: Mapping[str, pd.DataFrame], *, out_dir: str | os.PathLike,
                         questions: Mapping, labels: Mapping, timepoints: Sequence[str],
                         contrasts: Mapping, acceptable: float, good: float,
                         confidence: float = 0.95, published: Mapping | None = None,
                         question_labels: Mapping | None = None) -> list[Path]:
    """Draw and save every figure of one cohort into ``out_dir``.

    ``tables``: "agreement", "proportions", "tests" and optionally "flow" (without it, the
    flow figure uses the per-time-point n of proportions). ``questions``: qid ->
    {"timepoints", "codes", "multi_label"[, "labels"]} (codebook shape accepted: codes as a
    mapping with labels); ``labels`` (code -> label) take precedence; ``contrasts``: the
    config's name -> [first, second]; ``published``: the config's entry for this cohort
    (question -> code -> {timepoint: figure}, see :func:`~alliance_pipeline.config.published_figures`); the shares
    figures, which show shares of participants, mark the figures on that basis only.
    Returns the written paths in the order of :func:`figure_paths`.
    """
    out_dir = Path(out_dir)
    labels = _merge_labels(questions, labels)
    of_participants: dict = {}
    for fig in published_figures(dict(published or {})):
        if fig["basis"] == "participants":
            of_participants.setdefault(fig["question"], {}).setdefault(
                fig["code"], {})[fig["timepoint"]] = fig["share"]
    published = of_participants

    def table(name: str) -> pd.DataFrame:
        frame = tables.get(name)
        return frame if frame is not None else pd.DataFrame(columns=_EMPTY.get(name, []))

    proportions = table("proportions")
    flow = tables.get("flow")
    if flow is None:
        flow = flow_from_proportions(proportions)
    training = tuple(contrasts.get("training", ("pre2", "post"))) if contrasts else None

    written: list[Path] = []
    figures = {
        "agreement": lambda: agreement_figure(
            table("agreement"), labels=labels, acceptable=acceptable, good=good,
            questions=questions, question_labels=question_labels, confidence=confidence),
        "flow": lambda: flow_figure(flow, timepoints=timepoints,
                                    question_labels=question_labels),
    }
    for qid, spec in questions.items():
        asked = _ordered_timepoints(timepoints, spec.get("timepoints", []))
        codes = _codes_of(spec)
        if is_repeated(spec):
            applicable = {name: tps for name, tps in (contrasts or {}).items()
                          if all(tp in asked for tp in tps)}
            figures[f"shares_{qid}"] = (
                lambda qid=qid, asked=asked, codes=codes: shares_figure(
                    proportions, question=qid, codes=codes, labels=labels, timepoints=asked,
                    training_contrast=training, published=published.get(qid),
                    confidence=confidence))
            figures[f"forest_{qid}"] = (
                lambda qid=qid, codes=codes, applicable=applicable: forest_figure(
                    table("tests"), question=qid, codes=codes, labels=labels,
                    contrasts=applicable, confidence=confidence))
        else:
            figures[f"frequencies_{qid}"] = (
                lambda qid=qid, codes=codes: frequencies_figure(
                    proportions, question=qid, codes=codes, labels=labels,
                    confidence=confidence))
    for stem in figure_stems(questions):
        fig = figures[stem]()
        written += save_figure(fig, out_dir / stem)
        fig.clear()
    return written
