"""Quarto markdown -> plain Pandoc markdown that reads the same, for the fallback renderer
(:func:`preprocess`; :mod:`.fallback` renders its output).

The fallback supports: YAML front matter with ``metadata-files`` (and the project's
``_quarto.yml``); ``{{< include file >}}`` (recursive, paths relative to the including file,
``/`` = project root); ``{{< meta key.sub >}}`` (also inside front-matter strings);
``{{< pagebreak >}}``; escaped shortcodes ``{{{< ... >}}}``; fenced divs ``.content-visible`` /
``.content-hidden`` with ``when-format``/``unless-format``/``when-meta``/``unless-meta``;
callouts ``.callout-note|tip|warning|important|caution`` with ``title=`` or a leading heading;
figures ``![caption](path){#fig-id}`` and table captions ``: caption {#tbl-id}``, numbered
"Figure N" / "Table N" in order, and references ``@fig-id``, ``@tbl-id``, ``[@fig-id]``,
``-@fig-id``; images without extension (``default-image-extension`` per format, falling back
to whichever of .svg/.png exists); format options ``toc``, ``toc-depth``, ``number-sections``,
``papersize``, ``margin``, ``fontsize``, ``tbl-colwidths`` (true, auto, false) and
``format-links`` (the fallback never writes links to other formats). Anything else Quarto-specific (other shortcodes,
``@sec-`` references, figure divs) is refused with an error rather than rendered wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from alliance_pipeline.report.language import N_, _
from alliance_pipeline.report.render.metadata import (
    RenderError,
    format_options,
    load_metadata,
    meta_lookup,
    meta_text,
    split_front_matter,
    truthy,
)

CALLOUT_TITLES = {"note": N_("Note"), "tip": N_("Tip"), "warning": N_("Warning"),
                  "important": N_("Important"), "caution": N_("Caution")}
CALLOUT_COLOURS = {"note": "#0758e5", "tip": "#198754", "warning": "#ffc107",
                   "important": "#dc3545", "caution": "#fd7e14"}
XREF_KINDS = {"fig": N_("Figure {n}"), "tbl": N_("Table {n}")}  # a figure's or table's name in text


def xref_name(kind: str, n: int) -> str:
    """``Figure 3`` / ``Table 2`` in the report's language."""
    return _(XREF_KINDS[kind]).format(n=n)
FORMAT_ALIASES = {"html": {"html", "html5", "html4"}, "typst": {"typst"}, "pdf": {"typst", "latex"}}
IMAGE_PREFERENCE = {"html": (".png", ".svg", ".jpg", ".jpeg"), "typst": (".svg", ".png", ".jpg", ".jpeg")}


# ---------------------------------------------------------------- shortcodes

_INCLUDE = re.compile(r"^[ \t]*\{\{<\s*include\s+(\"[^\"]+\"|'[^']+'|\S+)\s*>\}\}[ \t]*$", re.M)
_ESCAPED_SC = re.compile(r"\{\{\{<(.*?)>\}\}\}", re.S)
_SHORTCODE = re.compile(r"\{\{<\s*([\w-]+)((?:\s+[^>]*?)?)\s*>\}\}", re.S)
_ESC_OPEN, _ESC_CLOSE = "\x00SC_OPEN\x00", "\x00SC_CLOSE\x00"


def expand_includes(text: str, base: Path, root: Path, _stack: tuple = ()) -> str:
    """Replace every ``{{< include path >}}`` line by the file's text, recursively."""
    def repl(match):
        name = match.group(1).strip("\"'")
        path = (root / name.lstrip("/")) if name.startswith("/") else (base / name)
        path = path.resolve()
        if path in _stack:
            raise RenderError(f"include cycle: {' -> '.join(p.name for p in _stack + (path,))}")
        if not path.exists():
            raise RenderError(f"included file not found: {name} (from {base})")
        inner = split_front_matter(path.read_text(encoding="utf-8"))[1]
        return expand_includes(inner.rstrip("\n"), path.parent, root, _stack + (path,))
    return _INCLUDE.sub(repl, text)


def expand_shortcodes(text: str, meta: Mapping, fmt: str) -> str:
    """Expand ``meta`` and ``pagebreak``; refuse any other shortcode; keep escaped ones literal."""
    text = _ESCAPED_SC.sub(lambda m: f"{_ESC_OPEN}{m.group(1)}{_ESC_CLOSE}", text)

    def repl(match):
        name, args = match.group(1), match.group(2).strip()
        if name == "meta":
            key = args.strip("\"'")
            try:
                return meta_text(meta_lookup(meta, key))
            except KeyError:
                raise RenderError(f"{{{{< meta {key} >}}}}: no such metadata key") from None
        if name == "pagebreak":
            return ("\n```{=typst}\n#pagebreak()\n```\n" if fmt == "typst"
                    else '\n```{=html}\n<div style="page-break-after: always;"></div>\n```\n')
        if name == "include":
            raise RenderError(f"include must stand on a line of its own: {match.group(0)}")
        raise RenderError(f"shortcode {name!r} is not supported by the fallback renderer")
    text = _SHORTCODE.sub(repl, text)
    leftover = re.search(r"\{\{<.{0,60}", text)
    if leftover:
        raise RenderError(f"malformed shortcode: {leftover.group(0)!r}")
    return text.replace(_ESC_OPEN, "{{<").replace(_ESC_CLOSE, ">}}")


def expand_meta_strings(node, meta: Mapping, fmt: str):
    if isinstance(node, str):
        return expand_shortcodes(node, meta, fmt) if "{{<" in node else node
    if isinstance(node, list):
        return [expand_meta_strings(v, meta, fmt) for v in node]
    if isinstance(node, dict):
        return {k: expand_meta_strings(v, meta, fmt) for k, v in node.items()}
    return node


# ---------------------------------------------------------------- fenced divs

_CODE_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_DIV_OPEN = re.compile(r"^[ \t]{0,3}(:{3,})[ \t]*(\{[^{}]*\}|[^\s{}:]+)[ \t]*:*[ \t]*$")
_DIV_CLOSE = re.compile(r"^[ \t]{0,3}:{3,}[ \t]*$")
_ATTR_TOKEN = re.compile(r"""#([^\s}]+)|\.([^\s}]+)|([\w:-]+)=("[^"]*"|'[^']*'|[^\s}]+)""")


class Div:
    def __init__(self, fence: str, attrs: str):
        self.fence = fence
        self.id, self.classes, self.kv = parse_attrs(attrs)
        self.children: list = []

    def header(self) -> str:
        parts = ([f"#{self.id}"] if self.id else []) + [f".{c}" for c in self.classes]
        parts += [f'{k}="{v}"' for k, v in self.kv.items()]
        return f"{self.fence} {{{' '.join(parts)}}}"


def parse_attrs(attrs: str) -> tuple[str, list[str], dict[str, str]]:
    attrs = attrs.strip()
    if not attrs.startswith("{"):
        return "", [attrs], {}
    ident, classes, kv = "", [], {}
    for m in _ATTR_TOKEN.finditer(attrs[1:-1]):
        if m.group(1):
            ident = m.group(1)
        elif m.group(2):
            classes.append(m.group(2))
        else:
            kv[m.group(3)] = m.group(4).strip("\"'")
    return ident, classes, kv


def _closes_fence(fence: str, line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)


def _in_code(lines):
    """``(line, in_code)`` for each line; in_code for the lines of fenced code and raw blocks,
    their opening and closing fences included."""
    fence = None
    for line in lines:
        if fence:
            if _closes_fence(fence, line):
                fence = None
            yield line, True
            continue
        m = _CODE_FENCE.match(line)
        if m:
            fence = m.group(1)
        yield line, bool(m)


def parse_blocks(text: str) -> list:
    """Lines and nested :class:`Div` nodes; code blocks are kept whole as plain lines."""
    root: list = []
    stack: list[Div] = []
    for line, in_code in _in_code(text.split("\n")):
        target = stack[-1].children if stack else root
        if in_code:
            target.append(line)
            continue
        m = _DIV_OPEN.match(line)
        if m:
            div = Div(m.group(1), m.group(2))
            target.append(div)
            stack.append(div)
            continue
        if _DIV_CLOSE.match(line) and stack:
            stack.pop()
            continue
        target.append(line)
    if stack:
        raise RenderError(f"unclosed fenced div: {stack[-1].header()}")
    return root


def _format_matches(spec: str, fmt: str) -> bool:
    names = {s.strip() for s in spec.replace(",", " ").split()}
    return any(fmt in FORMAT_ALIASES.get(n, {n}) for n in names)


def _visible(div: Div, meta: Mapping, fmt: str) -> bool:
    conds = []
    if "when-format" in div.kv:
        conds.append(_format_matches(div.kv["when-format"], fmt))
    if "unless-format" in div.kv:
        conds.append(not _format_matches(div.kv["unless-format"], fmt))
    if "when-meta" in div.kv:
        conds.append(truthy(meta, div.kv["when-meta"]))
    if "unless-meta" in div.kv:
        conds.append(not truthy(meta, div.kv["unless-meta"]))
    return all(conds)


def render_blocks(nodes: list, meta: Mapping, fmt: str) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        if "content-visible" in node.classes or "content-hidden" in node.classes:
            show = _visible(node, meta, fmt)
            if "content-hidden" in node.classes:
                show = not show if any(k in node.kv for k in ("when-format", "unless-format", "when-meta", "unless-meta")) else False
            if show:
                out.extend(render_blocks(node.children, meta, fmt))
            continue
        kinds = [c for c in node.classes if c.startswith("callout-")]
        if kinds:
            out.extend(render_callout(node, kinds[0].split("-", 1)[1], meta, fmt))
            continue
        if node.id.startswith(("fig-", "tbl-")):
            raise RenderError(f"cross-referenced divs ({node.header()}) are not supported by the "
                              "fallback; use ![caption](path){#fig-...} or a table caption")
        out.append(node.header())
        out.extend(render_blocks(node.children, meta, fmt))
        out.append(node.fence)
    return out


def render_callout(div: Div, kind: str, meta: Mapping, fmt: str) -> list[str]:
    children = list(div.children)
    title = div.kv.get("title")
    if title is None:
        first = next((i for i, c in enumerate(children) if not (isinstance(c, str) and not c.strip())), None)
        if first is not None and isinstance(children[first], str) and re.match(r"^#{1,6}\s", children[first]):
            title = re.sub(r"^#{1,6}\s+", "", children[first]).strip()
            del children[first]
    title = title or (_(CALLOUT_TITLES[kind]) if kind in CALLOUT_TITLES else kind.capitalize())
    body = render_blocks(children, meta, fmt)
    colour = CALLOUT_COLOURS.get(kind, "#6c757d")
    if fmt == "typst":
        return ["", "```{=typst}",
                f'#block(width: 100%, inset: 8pt, radius: 3pt, fill: rgb("{colour}").lighten(88%), '
                f'stroke: (left: 4pt + rgb("{colour}")))[',
                "```", "", f"**{title}**", ""] + body + ["", "```{=typst}", "]", "```", ""]
    return ["", f"::: {{.callout .callout-{kind}}}", f"**{title}**", ""] + body + [":::", ""]


# ---------------------------------------------------------------- cross-references and images

_FIGURE = re.compile(r"^(?P<indent>[ \t]{0,3})!\[(?P<cap>(?:\\.|[^\]\\])*)\]\((?P<src>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)"
                     r"\{(?P<attrs>[^{}]*)\}[ \t]*$")
_TABLE_CAPTION = re.compile(r"^(?P<lead>:|Table:)[ \t]+(?P<cap>.*?)[ \t]*\{(?P<attrs>[^{}]*)\}[ \t]*$")
_IMAGE = re.compile(r"(!\[(?:\\.|[^\]\\])*\]\()([^)\s]+)((?:\s+\"[^\"]*\")?\))")
_REF = re.compile(r"(\[)?(-)?@((?:fig|tbl|sec|eq|lst|thm)-[A-Za-z0-9_:.-]*[A-Za-z0-9_])(\])?")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


def _outside_code(lines: list[str]):
    """Indices of lines outside fenced code and raw blocks."""
    for i, (_line, in_code) in enumerate(_in_code(lines)):
        if not in_code:
            yield i


def resolve_crossrefs(text: str) -> str:
    """Number figures and tables in order; turn references into linked "Figure N" text."""
    lines = text.split("\n")
    numbers: dict[str, int] = {}
    counters = {k: 0 for k in XREF_KINDS}
    for i in _outside_code(lines):
        line = lines[i]
        m = _FIGURE.match(line)
        if m:
            ident, _cls, _kv = parse_attrs("{" + m.group("attrs") + "}")
            if ident.startswith("fig-"):
                lines[i] = _number(line, m, ident, "fig", numbers, counters)
            continue
        m = _TABLE_CAPTION.match(line)
        if m:
            ident, _cls, _kv = parse_attrs("{" + m.group("attrs") + "}")
            if ident.startswith("tbl-"):
                lines[i] = _number(line, m, ident, "tbl", numbers, counters)
    unresolved = []

    def repl(m):
        bracket, minus, label, close = m.groups()
        kind = label.split("-", 1)[0]
        if label not in numbers:
            unresolved.append(label)
            return m.group(0)
        n = numbers[label]
        text = str(n) if minus else xref_name(kind, n)
        link = f"[{text}](#{label})"
        if bracket and close:  # [@fig-x]: the brackets belong to the reference
            return link
        return (bracket or "") + link + (close or "")  # a lone bracket belongs to the text

    for i in _outside_code(lines):
        line = lines[i]
        if "@" not in line:
            continue
        pieces = []
        last = 0
        for code in _INLINE_CODE.finditer(line):
            pieces.append(_REF.sub(repl, line[last:code.start()]))
            pieces.append(code.group(0))
            last = code.end()
        pieces.append(_REF.sub(repl, line[last:]))
        lines[i] = "".join(pieces)
    if unresolved:
        raise RenderError("unresolved cross-references: " + ", ".join(dict.fromkeys(unresolved)))
    return "\n".join(lines)


def _number(line: str, m, ident: str, kind: str, numbers: dict, counters: dict) -> str:
    if ident in numbers:
        raise RenderError(f"duplicate cross-reference label #{ident}")
    counters[kind] += 1
    numbers[ident] = counters[kind]
    cap = m.group("cap")
    start, end = m.span("cap")
    return line[:start] + f"{xref_name(kind, counters[kind])}: {cap}" + line[end:]


def resolve_images(text: str, base: Path, fmt: str, default_ext: str | None = None) -> str:
    """Give extension-less image paths the format's extension (one that exists)."""
    prefs = list(IMAGE_PREFERENCE.get(fmt, (".png",)))
    if default_ext:
        ext = "." + default_ext.lstrip(".")
        prefs = [ext] + [p for p in prefs if p != ext]

    def repl(m):
        src = m.group(2)
        if re.match(r"^[a-z]+:", src) or Path(src).suffix:
            return m.group(0)
        for ext in prefs:
            if (base / (src + ext)).exists():
                return m.group(1) + src + ext + m.group(3)
        raise RenderError(f"image {src} not found with any of {', '.join(prefs)} in {base}")
    return _IMAGE.sub(repl, text)


# ---------------------------------------------------------------- fallback pipeline

def preprocess(qmd: Path, fmt: str, *, extra_meta: Mapping | None = None) -> tuple[dict, str]:
    """Quarto source -> (Pandoc metadata, plain Pandoc markdown body) for ``fmt`` (html|typst)."""
    qmd = Path(qmd)
    meta, body = load_metadata(qmd, extra=extra_meta)
    body = expand_includes(body, qmd.parent, qmd.parent)
    body = expand_shortcodes(body, meta, fmt)
    meta = expand_meta_strings(meta, meta, fmt)
    body = "\n".join(render_blocks(parse_blocks(body), meta, fmt))
    body = resolve_crossrefs(body)
    opts = format_options(meta, fmt)
    body = resolve_images(body, qmd.parent, fmt, opts.get("default-image-extension"))
    return meta, body
