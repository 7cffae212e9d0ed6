"""Where a rendered report's words sit on its PDF pages (poppler's ``pdftotext -bbox``), and
the checks built on it: every word inside the text block, every table row on one line.

A table row whose cells all appear on one visual line of the page has no wrapped cell and
no wrapped header; a wrapped cell splits its row over two lines. The rows to look for come
from the report's own tables (the markdown fragments or the rendered HTML), so the check
knows nothing of the renderer.
"""
from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

from bs4 import BeautifulSoup

from conftest import require_component

OVERHANG_PT = 3.0  # Typst hangs a trailing comma, period or hyphen into the margin


def squash(text: str) -> str:
    """Text without whitespace, markup, soft hyphens, and with Typst's typography undone."""
    text = unicodedata.normalize("NFKC", text)
    for typeset, plain in (("\u2212", "-"), ("\u2019", "'"), ("\u2018", "'"), ("\xad", "")):
        text = text.replace(typeset, plain)
    return re.sub(r"[\s*`\\]", "", text)


def fragment_rows(fragments: Path) -> list[tuple[str, list[str]]]:
    """(fragment, cells) for the header and every row of every pipe table in the fragments."""
    rows = []
    for path in sorted(Path(fragments).glob("*.md")):
        lines = path.read_text(encoding="utf-8").splitlines()
        in_table = False
        for i, line in enumerate(lines):
            starts = (line.startswith("|") and i + 1 < len(lines)
                      and re.fullmatch(r"\|[-:|]+\|", lines[i + 1]) is not None)
            in_table = starts or (in_table and line.startswith("|"))
            if in_table and not re.fullmatch(r"\|[-:|]+\|", line):
                cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
                rows.append((path.name, [c.replace("\\|", "|").strip() for c in cells]))
    return rows


def html_rows(html: Path) -> list[tuple[str, list[str]]]:
    """(table id or caption, cells) for the header and every row of every table of a page."""
    soup = BeautifulSoup(Path(html).read_text(encoding="utf-8"), "html.parser")
    rows = []
    for table in soup.find_all("table"):
        caption = table.find("caption")
        name = table.get("id") or (caption.get_text(" ", strip=True)[:40] if caption else "table")
        for tr in table.find_all("tr"):
            rows.append((name, [c.get_text(" ", strip=True) for c in tr.find_all(["th", "td"])]))
    return rows


def pdf_pages(pdf: Path) -> list[dict]:
    """Per page: its width, its words (x0, y0, x1, y1, text) and its visual lines (words
    sharing a baseline, left to right, squashed)."""
    exe = require_component("pdftotext", "the PDF layout test (text positions)",
                            "Debian: apt-get install poppler-utils")
    out = subprocess.run([exe, "-bbox", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout
    pages = []
    for page in BeautifulSoup(out, "html.parser").find_all("page"):
        words = [(float(w["xmin"]), float(w["ymin"]), float(w["xmax"]), float(w["ymax"]), w.get_text())
                 for w in page.find_all("word")]
        lines: list[list] = []
        for word in sorted(words, key=lambda w: (w[1] + w[3]) / 2):
            middle = (word[1] + word[3]) / 2
            if lines and abs(middle - lines[-1][0]) <= 2.5:
                lines[-1][1].append(word)
            else:
                lines.append([middle, [word]])
        pages.append({"width": float(page["width"]), "words": words,
                      "lines": [squash("".join(w[4] for w in sorted(ws))) for _, ws in lines]})
    return pages


def layout_problems(pdf: Path, rows: list[tuple[str, list[str]]], margin_pt: float) -> list[str]:
    """Words outside the text block (``margin_pt`` left and right), and table rows not laid
    out on one line."""
    pages = pdf_pages(pdf)
    problems = []
    for number, page in enumerate(pages, 1):
        for x0, _, x1, _, text in page["words"]:
            if x0 < margin_pt - OVERHANG_PT or x1 > page["width"] - margin_pt + OVERHANG_PT:
                problems.append(f"page {number}: {text!r} outside the text block ({x0:.1f}-{x1:.1f} pt)")
    lines = [line for page in pages for line in page["lines"]]
    for name, cells in rows:
        if not any(squash("".join(cells)) in line for line in lines):
            problems.append(f"{name}: row not on one line: {' | '.join(cells)}")
    return problems
