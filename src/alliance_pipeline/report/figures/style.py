"""The figures' shared style, fonts, saving and drawing helpers (one module per figure family
beside it: agreement, shares, forest, flow, frequencies; :mod:`.cohort_figures` draws a
cohort's set). Derived tables in, matplotlib Figures out.

Every figure function takes the derived tables of the data contract (``agreement.csv``,
``proportions.csv``, ``tests.csv``, the flow table) as data frames plus plain values from
the config and codebook, and returns a :class:`matplotlib.figure.Figure`. Nothing is read
or written except by :func:`save_figure` / :func:`~alliance_pipeline.report.figures.cohort_figures.write_cohort_figures`.

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
from matplotlib.transforms import blended_transform_factory

from alliance_pipeline.common.tables import atomic_write_bytes
from alliance_pipeline.report.language import _, is_source

__all__ = [
    "OKABE_ITO", "PALETTE", "STYLE", "SINGLE_COLUMN", "DOUBLE_COLUMN", "FONT_FAMILY",
    "register_fonts", "style", "save_figure", "render_figure",
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
        # Japanese (and any report language but English): IPAexGothic first, so Latin and
        # Japanese labels share one typeface
        with matplotlib.rc_context(STYLE if is_source() else {**STYLE, "font.family": ["IPAexGothic", "DejaVu Sans"]}):
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

def display_label(labels: Mapping | None, question: str | None, code: str,
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
            return _("whole question (MASI)")
        if multi_label is False:
            return _("whole question (nominal)")
        return _("whole question")
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


def merge_labels(questions: Mapping | None, labels: Mapping | None) -> dict:
    """``labels`` plus the codebook's labels for codes ``labels`` does not name."""
    merged = dict(labels or {})
    for (question, code), label in _codebook_labels(questions).items():
        if (question, code) not in merged and code not in merged:
            merged[(question, code)] = label
    return merged


def as_float(value) -> float:
    """A float, NaN for anything missing or non-numeric."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def fmt_value(value: float, digits: int = 2, sign: bool = False) -> str:
    if not np.isfinite(value):
        return "–"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    return text.replace("-", "\u2212")


def fmt_p_adjusted(value: float) -> str:
    if not np.isfinite(value):
        return "p(adj) –"
    if value < 0.001:
        return "p(adj) < 0.001"
    return f"p(adj) = {value:.3f}"


def fmt_interval(low: float, high: float, digits: int = 2, sign: bool = False) -> str:
    return f"[{fmt_value(low, digits, sign)}, {fmt_value(high, digits, sign)}]"


def numeric_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` as numbers: NaN for values that are not numbers, all NaN when the
    column is missing."""
    column = frame[name] if name in frame.columns else pd.Series(
        [math.nan] * len(frame), index=frame.index, dtype=object)
    return pd.to_numeric(column, errors="coerce")


def cohorts_of(frame: pd.DataFrame) -> list:
    if "cohort" not in frame.columns or frame.empty:
        return [None]
    return list(dict.fromkeys(frame["cohort"].tolist()))


def of_cohort(frame: pd.DataFrame, cohort) -> pd.DataFrame:
    if cohort is None or "cohort" not in frame.columns:
        return frame
    return frame[frame["cohort"] == cohort]


def dodge(index: int, count: int, width: float = 0.5) -> float:
    if count <= 1:
        return 0.0
    return (index - (count - 1) / 2) * (width / count)


MARKERS = ["o", "s", "^", "D", "v", "P", "X"]


def row_axis(ax, rows: list[tuple[str, str]]) -> list[float]:
    """Lay out rows top to bottom: ``("header", text)`` rows in bold, ``("row", text)``
    rows as plain tick labels. Returns the y position of each row."""
    ys = [float(len(rows) - 1 - i) for i in range(len(rows))]
    ax.set_yticks(ys, [text for _i, text in rows])
    for (kind, _text), tick in zip(rows, ax.get_yticklabels(), strict=True):
        if kind == "header":
            tick.set_fontweight("bold")
    for (kind, _text), tick in zip(rows, ax.yaxis.get_major_ticks(), strict=True):
        if kind == "header":
            tick.tick1line.set_visible(False)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    return ys


class Estimates:
    """Estimates with their intervals, collected row by row and drawn at once."""

    def __init__(self) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.colours: list[str] = []
        self.segments: list[tuple[tuple[float, float], tuple[float, float]]] = []

    def add(self, value: float, y: float, colour: str, low: float, high: float) -> None:
        """One estimate at row ``y``; its interval when both ends are finite."""
        self.xs.append(value)
        self.ys.append(y)
        self.colours.append(colour)
        if np.isfinite(low) and np.isfinite(high):
            self.segments.append(((low, y), (high, y)))

    def draw(self, ax, *, marker: str, size: float) -> None:
        """The intervals as lines (gid ``ci``) and the estimates as markers (``estimate``)."""
        if self.segments:
            ax.add_collection(matplotlib.collections.LineCollection(
                self.segments, colors="black", linewidths=0.8, gid="ci", zorder=2))
        if self.xs:
            ax.scatter(self.xs, self.ys, c=self.colours, marker=marker, s=size, zorder=3,
                       edgecolors="black", linewidths=0.4, gid="estimate")


def row_note(ax, y: float, text: str, x: float = 0.01) -> None:
    """Grey italic text at the left of a row, for values that are not drawn."""
    ax.text(x, y, text, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left", va="center", fontsize=SMALL, style="italic", color=GREY,
            gid="undefined")


def side_text(ax, y: float, text: str) -> None:
    """Value column to the right of the axes."""
    ax.text(1.02, y, text, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left", va="center", fontsize=SMALL, gid="value")


def side_header(ax, y: float, text: str) -> None:
    ax.text(1.02, y, text, transform=blended_transform_factory(ax.transAxes, ax.transData),
            ha="left", va="center", fontsize=SMALL, color="#404040", gid="value-header")


def finish_empty(fig: Figure, ax, text: str) -> Figure:
    """The finished figure for no data: ``ax`` blank but for ``text``."""
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=BASE, color=GREY, gid="undefined")
    return finish_figure(fig)


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def finish_figure(fig: Figure) -> Figure:
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


def codes_of(spec: Mapping) -> list[str]:
    codes = spec.get("codes", [])
    return list(codes.keys()) if isinstance(codes, Mapping) else list(codes)


def ordered_timepoints(study: Sequence[str], asked: Iterable[str]) -> list[str]:
    asked = list(asked)
    return [tp for tp in study if tp in asked] + [tp for tp in asked if tp not in study]

