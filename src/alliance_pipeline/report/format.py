"""Number and Markdown formatting shared by the cohort report and the study report.

Numbers: ``fmt_*`` (``—`` for an undefined value, :data:`DASH`), :func:`round_half_up`;
Markdown: :func:`esc` (escapes Pandoc/Quarto syntax), :func:`slug` (cross-reference labels),
:func:`md_table`, :func:`md_figure`, :func:`md_code` (lists of words:
:func:`alliance_pipeline.report.language.format_list`). Both reports write
numbers alike because both use these (:mod:`alliance_pipeline.report.cohort_report`,
:mod:`alliance_pipeline.study.fragments`). Imports nothing of the report's sections.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from alliance_pipeline.report.language import N_, _, localise_number

DASH = "—"  # shown for an undefined value

METHOD_NAMES = {"exact": N_("exact binomial"), "midp": N_("mid-p"), "asymptotic": N_("asymptotic χ²"),
                "asymptotic_cc": N_("asymptotic χ² with continuity correction"),
                "clustered": N_("clustered (Obuchowski)")}


METHOD_COLUMN = {"exact": N_("exact"), "midp": N_("midp"), "asymptotic": N_("asymptotic"),
                 "asymptotic_cc": N_("asymptotic_cc"), "clustered": N_("clustered")}


def method_short(method: str) -> str:
    """A McNemar method as a table's Method column shows it (its id in English)."""
    return _(METHOD_COLUMN[method]) if method in METHOD_COLUMN else method


def method_name(method: str) -> str:
    """A McNemar method's name in words, in the report's language (the id when unknown)."""
    return _(METHOD_NAMES[method]) if method in METHOD_NAMES else method


def is_missing(x) -> bool:
    """Undefined: None, NaN or an empty cell (read_table keeps all-empty columns as '')."""
    if x is None:
        return True
    if isinstance(x, str):
        return not x.strip()
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fixed(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals, a value that rounds to zero without a sign.

    >>> fixed(-0.004), fixed(-0.0), fixed(-0.006)
    ('0.00', '0.00', '-0.01')
    """
    text = f"{float(x):.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def fmt_num(x, digits: int = 2) -> str:
    """A number with ``digits`` decimals (never ``-0.00``); ``—`` when undefined."""
    if is_missing(x):
        return DASH
    return localise_number(fixed(x, digits))


def fmt_pct(x, digits: int = 1) -> str:
    """A share 0..1 as a percentage (``64.7%``); ``—`` when undefined."""
    if is_missing(x):
        return DASH
    return localise_number(f"{float(x) * 100:.{digits}f}") + "%"


def fmt_p(p) -> str:
    """A p-value: three decimals, ``< 0.001`` below that; ``—`` when undefined."""
    if is_missing(p):
        return DASH
    p = float(p)
    return localise_number("< 0.001" if p < 0.001 else f"{p:.3f}")


def fmt_p_eq(p) -> str:
    """``p`` for running text: ``= 0.031`` or ``< 0.001``."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def fmt_ci(lo, hi, digits: int = 2, pct: bool = False) -> str:
    """``[lo, hi]`` (a bound that rounds to zero prints ``0.00``, never ``-0.00``); ``—`` when
    either bound is undefined.

    >>> fmt_ci(-0.001, 0.5)
    '[0.00, 0.50]'
    """
    if is_missing(lo) or is_missing(hi):
        return DASH
    if pct:
        lo, hi = float(lo) * 100, float(hi) * 100
    return f"[{localise_number(fixed(lo, digits))}, {localise_number(fixed(hi, digits))}]"


def fmt_int(x) -> str:
    if is_missing(x):
        return DASH
    return localise_number(str(int(round(float(x)))))


def round_half_up(x: float, digits: int = 2) -> float:
    """Round as people do (0.125 -> 0.13), on the decimal written form of the float."""
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(x))).quantize(quantum, rounding=ROUND_HALF_UP))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$@~^])")


def esc(text) -> str:
    """Escape text from the config or codebook so Markdown shows it literally."""
    text = "" if is_missing(text) else str(text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"\s+", " ", text).strip()


def slug(*parts: str) -> str:
    """A cross-reference-safe id part: lower case, letters/digits joined by hyphens."""
    text = "-".join(str(p) for p in parts)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


_PIPE = re.compile(r"(?<!\\)\|")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, align: str | None = None,
             caption: str | None = None, label: str | None = None) -> str:
    """A pipe table; ``align`` one letter per column (l, r, c); caption with ``{#tbl-...}``."""
    rows = [[_PIPE.sub(r"\\|", str(c).replace("\n", " ")) for c in row] for row in rows]
    headers = [_PIPE.sub(r"\\|", str(h)) for h in headers]
    align = align or "l" * len(headers)
    widths = [max([len(headers[i])] + [len(r[i]) for r in rows] + [3]) for i in range(len(headers))]
    seps = []
    for a, w in zip(align, widths, strict=True):
        dashes = "-" * max(3, min(w, 40))
        seps.append({"l": ":" + dashes[1:], "r": dashes[1:] + ":", "c": ":" + dashes[2:] + ":"}.get(a, dashes))
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(seps) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if caption:
        lines += ["", f": {caption}" + (f" {{#{label}}}" if label else "")]
    return "\n".join(lines) + "\n"


def md_figure(stem: str, caption: str, label: str, *, width: str | None = None) -> str:
    """An image paragraph with a cross-reference id; path without extension (format picks)."""
    attrs = f"#{label}" + (f" width={width}" if width else "")
    return f"![{caption}](figures/{stem}){{{attrs}}}\n"


def md_code(text: str, lang: str = "") -> str:
    """A fenced code block; shortcode openers in the text are defused."""
    text = text.replace("{{<", "{{\u200b<").rstrip("\n")
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}\n"


def row_value(row, column):
    if row is None or column not in row.index:
        return float("nan")
    return row[column]


def fmt_odds_ratio(row) -> str:
    """Paired odds ratio with its interval; ``∞`` when b = 0 < c (only the lower bound exists)."""
    odds, lo, hi = row_value(row, "odds_ratio"), row_value(row, "or_ci_low"), row_value(row, "or_ci_high")
    b, c = row_value(row, "b"), row_value(row, "c")
    infinite = is_missing(odds) and not is_missing(b) and not is_missing(c) and float(b) == 0 and float(c) > 0
    if infinite:
        return f"∞ [{fmt_num(lo)}, ∞]" if not is_missing(lo) else "∞"
    if is_missing(odds):
        return DASH
    if is_missing(lo) and is_missing(hi):
        return fmt_num(odds)
    return f"{fmt_num(odds)} [{fmt_num(lo)}, {fmt_num(hi)}]"
