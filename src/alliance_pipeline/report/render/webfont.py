"""The HTML of a report in another language than English carries its own Japanese font.

A reader's machine (or a reviewer's Linux box, or CI) may have no Japanese font at all, and
a browser then draws empty boxes. :func:`embed_font` puts IPAexGothic (matplotlib-fontja,
the font of the PDF and the figures) into the page as an ``@font-face`` with a ``data:``
URI, subset with fontTools to the characters the page uses (a few hundred glyphs, some
hundred kB instead of 4 MB), so the self-contained HTML shows every character anywhere.
The embedded face is the first of the page's fonts (Japanese text in the typeface of the PDF
and the figures; Latin text, not in the subset, in the system's font). The English report is
left as it is.
"""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

from alliance_pipeline.report.render.metadata import font_dir

FONT_FILE = "ipaexg.ttf"
FAMILY = "IPAexGothic"


def subset_font(font: Path, text: str) -> bytes:
    """``font`` reduced to the glyphs of ``text`` (fontTools' subsetter), as TrueType bytes."""
    from fontTools import subset

    options = subset.Options()
    options.name_IDs = ["*"]          # keep the name table: the licence notice travels with it
    options.notdef_outline = True
    options.layout_features = ["*"]   # vertical forms, kerning, CJK punctuation widths
    loaded = subset.load_font(str(font), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))))
    subsetter.subset(loaded)
    out = io.BytesIO()
    loaded.flavor = None
    loaded.save(out)
    return out.getvalue()


def embed_font(html: bytes) -> bytes:
    """``html`` with IPAexGothic, subset to the page's non-ASCII characters, in its head."""
    page = html.decode("utf-8")
    text = "".join(ch for ch in set(page) if ord(ch) > 0x7F)
    if not text:
        return html
    data = base64.b64encode(subset_font(font_dir() / FONT_FILE, text)).decode("ascii")
    # The embedded face comes first: listed after system-ui, Chromium drew some runs with the
    # system's fallback (empty boxes) even once the face had loaded. The subset holds no ASCII,
    # so Latin text still takes the system font that follows.
    style = (f'<style>@font-face {{ font-family: "{FAMILY}"; '
             f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}\n'
             f'body {{ font-family: "{FAMILY}", system-ui, -apple-system, "Segoe UI", sans-serif; }}\n'
             f'code, pre {{ font-family: "{FAMILY}", Menlo, Monaco, Consolas, "Lucida Console", '
             f'monospace; }}</style>\n')
    match = re.search(r"</head>", page, re.I)
    at = match.start() if match else 0
    return (page[:at] + style + page[at:]).encode("utf-8")
