"""A report source (``reports/*.qmd``) in the language in use, and its messages for Babel.

The .qmd files stay English and renderable as they are. Their words are messages of the
same catalogue as the fragments: each heading (``# Summary``), each ``title="..."`` of a
div, and each prose paragraph of the body (outside front matter, code and raw blocks;
lines with an ``{{< include >}}`` or with neither words outside shortcodes nor a
``{{< meta >}}`` value are not prose).
:func:`qmd_messages` finds them; :func:`extract_qmd` is the Babel extractor
(``babel.cfg`` maps ``reports/*.qmd`` to it); :func:`localise_source` rewrites a source
for the language in use (the messages translated, ``lang:`` set, the Typst text language
set so Japanese lines break correctly). In English the source is returned unchanged.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from alliance_pipeline.report.language import _, current

_HEADING = re.compile(r"^(#{1,6} )(.+?)\s*$")
_TITLE = re.compile(r'title="([^"]+)"')
_SHORTCODE = re.compile(r"\{\{<.*?>\}\}")
_FENCE = re.compile(r"^(`{3,}|~{3,})")


def _is_prose(line: str) -> bool:
    if "{{< include" in line or line.startswith((":::", "<", "|", "!")):
        return False
    if "{{< meta " in line:  # a sentence around a value: its punctuation is the language's
        return True
    return re.search(r"[A-Za-z]{2,}", _SHORTCODE.sub("", line).replace("`", "")) is not None


def qmd_messages(text: str) -> Iterator[tuple[int, int, int, str]]:
    """``(line number, start, end, message)`` of each translatable span of a .qmd source;
    start and end are offsets into ``text``."""
    lines = text.split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    i = 0
    if lines and lines[0].strip() == "---":  # front matter
        i = 1
        while i < len(lines) and lines[i].strip() not in ("---", "..."):
            i += 1
        i += 1
    fence: str | None = None
    paragraph: list[int] = []

    def flush():
        if paragraph:
            first, last = paragraph[0], paragraph[-1]
            start, end = offsets[first], offsets[last] + len(lines[last])
            yield first + 1, start, end, text[start:end]
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        opens, heading = _FENCE.match(line), _HEADING.match(line)
        if fence:
            if line.startswith(fence):
                fence = None
        elif opens:
            yield from flush()
            fence = opens.group(1)
        elif heading:
            yield from flush()
            yield i + 1, offsets[i] + heading.start(2), offsets[i] + heading.end(2), heading.group(2)
        elif not line.strip():
            yield from flush()
        elif line.startswith(":::"):
            yield from flush()
            for m in _TITLE.finditer(line):
                yield i + 1, offsets[i] + m.start(1), offsets[i] + m.end(1), m.group(1)
        elif _is_prose(line):
            paragraph.append(i)
        else:
            yield from flush()
        i += 1
    yield from flush()


def extract_qmd(fileobj, keywords, comment_tags, options):
    """Babel extraction method for .qmd report sources (see babel.cfg)."""
    text = fileobj.read().decode(options.get("encoding", "utf-8"))
    for lineno, _start, _end, message in qmd_messages(text):
        yield lineno, "_", message, ["report source (.qmd)"]


_TYPST_FONT = re.compile(r'^(#set text\(font: .*\))\s*$', re.M)


def localise_source(text: str) -> str:
    """The .qmd source in the language in use (unchanged in English)."""
    language = current()
    if language.is_source:
        return text
    pieces, last = [], 0
    for _lineno, start, end, message in qmd_messages(text):
        pieces += [text[last:start], _(message)]
        last = end
    text = "".join(pieces) + text[last:]
    text = re.sub(r"^lang: *\S+\s*$", f"lang: {language.code}", text, count=1, flags=re.M)
    return _TYPST_FONT.sub(lambda m: m.group(1) + f'\n#set text(lang: "{language.code}")', text, count=1)
