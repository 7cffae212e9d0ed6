"""Compare two English cohort reports (HTML, and PDF text) apart from where they were built.

    python tests/english_baseline/compare_reports.py <before>/reports/pilot <after>/reports/pilot

Masks what differs between two checkouts by design: the ``Pipeline commit: ...`` line of the
appendix (commit hash, dirty state) and the embedded manifest's ``commit`` and ``dirty``
entries. Everything else of ``report.html`` must be byte-identical, and the text of
``report.pdf`` (poppler's pdftotext) identical but for the same line. Exit status 0 when
they agree. How #24 used it (the move of every sentence to the message catalogue): the
pilot run with the code of 8a30330 and with the catalogue, same config and codebook (see
docs/languages.md, "The English report is unchanged").
"""
from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

_COMMIT_LINE = re.compile(r"Pipeline commit: .*?Codebook\s+version: ", re.S)
_MANIFEST = re.compile(r'^\s*"(commit|dirty)": .*$', re.M)


def masked_html(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return _MANIFEST.sub(r'"\1": <masked>', _COMMIT_LINE.sub("Pipeline commit: <masked> Codebook version: ", text))


def masked_pdf_text(path: Path) -> str:
    """The PDF's words in reading order, page numbers (a line of digits alone) left out, so a
    longer commit line that moves a page break changes nothing else."""
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    lines = [line for line in text.replace("\f", "\n").splitlines() if not line.strip().isdigit()]
    words = _COMMIT_LINE.sub("Pipeline commit: <masked> Codebook version: ", " ".join(" ".join(lines).split()))
    return words.replace(" ", "\n")


def compare(before: Path, after: Path) -> list[str]:
    problems = []
    for name, read in (("report.html", masked_html), ("report.pdf", masked_pdf_text)):
        a, b = read(before / name), read(after / name)
        if a != b:
            diff = difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=3)
            problems.append(f"{name} differs:\n" + " ".join(list(diff)[:60]))
    return problems


if __name__ == "__main__":
    found = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n".join(found) or "the English reports agree (build commit aside)")
    sys.exit(1 if found else 0)
