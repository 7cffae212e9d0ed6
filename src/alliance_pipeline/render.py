"""Render a cohort's Quarto report to one self-contained HTML file and a Typst PDF.

:func:`render_report` copies ``report.qmd``, the project's ``_quarto.yml``, the fragments
(to ``_fragments/``) and the figures (to ``figures/``) into a work folder and renders there:

- with the ``quarto`` CLI on PATH: ``quarto render report.qmd --to html`` (the .qmd sets
  ``embed-resources: true``) and ``--to typst``;
- without it (this machine and CI): the *same* source through the fallback here. It expands
  what the report uses of Quarto's markdown into plain Pandoc markdown that reads the same,
  then Pandoc 3 (pypandoc) writes standalone HTML with every image embedded as a data URI
  (``--embed-resources``; math as MathML, nothing fetched) and Typst source, which the
  ``typst`` package compiles to PDF with IPAexGothic on its font path.

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

import datetime as _dt
import importlib.metadata
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

import yaml

from .config import deep_merge
from .tables import atomic_write_bytes

FONT_DIR_ENV = "ALLIANCE_REPORT_FONT_DIR"
RENDERER_ENV = "ALLIANCE_REPORT_RENDERER"  # auto | quarto | fallback
LATIN_FONT = "Libertinus Serif"  # embedded in Typst
CJK_FONT = "IPAexGothic"          # shipped by matplotlib-fontja
CALLOUT_TITLES = {"note": "Note", "tip": "Tip", "warning": "Warning", "important": "Important",
                  "caution": "Caution"}
CALLOUT_COLOURS = {"note": "#0758e5", "tip": "#198754", "warning": "#ffc107",
                   "important": "#dc3545", "caution": "#fd7e14"}
XREF_KINDS = {"fig": "Figure", "tbl": "Table"}
FORMAT_ALIASES = {"html": {"html", "html5", "html4"}, "typst": {"typst"}, "pdf": {"typst", "latex"}}
IMAGE_PREFERENCE = {"html": (".png", ".svg", ".jpg", ".jpeg"), "typst": (".svg", ".png", ".jpg", ".jpeg")}


class RenderError(RuntimeError):
    """The report source uses something the renderer cannot do, or a renderer failed."""


# ---------------------------------------------------------------- fonts and versions

def font_dir() -> Path:
    """The folder holding IPAexGothic (matplotlib-fontja), or ``$ALLIANCE_REPORT_FONT_DIR``."""
    env = os.environ.get(FONT_DIR_ENV)
    if env:
        return Path(env)
    import matplotlib_fontja

    return Path(matplotlib_fontja.__file__).resolve().parent / "fonts"


def pandoc_version() -> str:
    import pypandoc

    return str(pypandoc.get_pandoc_version())


def typst_version() -> str:
    """Version of the Typst compiler inside the ``typst`` package (e.g. ``0.15.1``)."""
    import typst

    try:
        raw = typst.eval(b"", "sys.version")  # '"version(0, 15, 1)"'
        numbers = re.findall(r"\d+", raw)
        if numbers:
            return ".".join(numbers)
    except Exception:  # noqa: BLE001 - fall back to the binding's own version
        pass
    return importlib.metadata.version("typst")


def quarto_version(quarto: str) -> str:
    out = subprocess.run([quarto, "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def fallback_description() -> str:
    return (f"Rendered by the Pandoc {pandoc_version()} + Typst {typst_version()} fallback "
            "(no quarto CLI on PATH)")


# ---------------------------------------------------------------- front matter and metadata

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def split_front_matter(text: str) -> tuple[dict, str]:
    """``(metadata, body)`` of a markdown document with optional YAML front matter."""
    text = text.lstrip("\ufeff")
    match = _FRONT.match(text)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise RenderError("the front matter is not a YAML mapping")
    return meta, text[match.end():]


def load_metadata(qmd: Path, *, extra: Mapping | None = None) -> tuple[dict, str]:
    """Merged metadata and body: project ``_quarto.yml`` < ``metadata-files`` < front matter < extra."""
    meta, body = split_front_matter(qmd.read_text(encoding="utf-8"))
    merged: dict = {}
    project = qmd.parent / "_quarto.yml"
    if project.exists():
        proj = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
        merged = deep_merge(merged, {k: v for k, v in proj.items() if k != "project"})
    files = meta.get("metadata-files") or []
    if isinstance(files, str):
        files = [files]
    for name in files:
        path = qmd.parent / name
        if not path.exists():
            raise RenderError(f"metadata file {name} (metadata-files) not found next to {qmd.name}")
        merged = deep_merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    merged = deep_merge(merged, meta)
    merged = deep_merge(merged, dict(extra or {}))
    return merged, body


def meta_lookup(meta: Mapping, key: str):
    node: Any = meta
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return node


def meta_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(meta_text(v) for v in value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value)


def truthy(meta: Mapping, key: str) -> bool:
    try:
        value = meta_lookup(meta, key)
    except KeyError:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0")
    return bool(value)


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
        _, inner = split_front_matter(path.read_text(encoding="utf-8"))
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
    title = title or CALLOUT_TITLES.get(kind, kind.capitalize())
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
    for i, (_, in_code) in enumerate(_in_code(lines)):
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
            ident, _, _ = parse_attrs("{" + m.group("attrs") + "}")
            if ident.startswith("fig-"):
                lines[i] = _number(line, m, ident, "fig", numbers, counters)
            continue
        m = _TABLE_CAPTION.match(line)
        if m:
            ident, _, _ = parse_attrs("{" + m.group("attrs") + "}")
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
        text = str(n) if minus else f"{XREF_KINDS[kind]} {n}"
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
    return line[:start] + f"{XREF_KINDS[kind]} {counters[kind]}: {cap}" + line[end:]


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

def _format_options(meta: Mapping, fmt: str) -> dict:
    formats = meta.get("format") or {}
    if isinstance(formats, str):
        return {}
    opts = formats.get(fmt) or {}
    return dict(opts) if isinstance(opts, Mapping) else {}


def preprocess(qmd: Path, fmt: str, *, extra_meta: Mapping | None = None) -> tuple[dict, str]:
    """Quarto source -> (Pandoc metadata, plain Pandoc markdown body) for ``fmt`` (html|typst)."""
    qmd = Path(qmd)
    meta, body = load_metadata(qmd, extra=extra_meta)
    body = expand_includes(body, qmd.parent, qmd.parent)
    body = expand_shortcodes(body, meta, fmt)
    meta = expand_meta_strings(meta, meta, fmt)
    body = "\n".join(render_blocks(parse_blocks(body), meta, fmt))
    body = resolve_crossrefs(body)
    opts = _format_options(meta, fmt)
    body = resolve_images(body, qmd.parent, fmt, opts.get("default-image-extension"))
    return meta, body


_PANDOC_META_DROP = {"format", "metadata-files", "project", "execute", "jupyter", "engine",
                     "tbl-colwidths"}


def _pandoc_markdown(meta: Mapping, body: str) -> str:
    keep = {k: v for k, v in meta.items() if k not in _PANDOC_META_DROP}
    keep = {k: (meta_text(v) if isinstance(v, (_dt.date, _dt.datetime)) else v) for k, v in keep.items()}
    return "---\n" + yaml.safe_dump(keep, sort_keys=False, allow_unicode=True) + "---\n\n" + body + "\n"


HTML_STYLE = """<style>
body { max-width: 60em; font-family: system-ui, -apple-system, "Segoe UI", "Hiragino Sans",
  "Noto Sans JP", "IPAexGothic", sans-serif; }
table { font-size: 0.85em; margin: 1em auto; }
th, td { padding: 0.2em 0.6em; }
caption { caption-side: top; text-align: left; font-style: italic; }
figure { text-align: center; margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; }
figcaption { font-style: italic; font-size: 0.9em; }
.callout { border-left: 0.3em solid #6c757d; background: #f8f9fa; padding: 0.5em 1em; margin: 1em 0; }
.callout-warning { border-left-color: #ffc107; background: #fff8e1; }
.callout-important { border-left-color: #dc3545; background: #fdecea; }
.callout-note { border-left-color: #0758e5; background: #e8f0fe; }
.callout-tip { border-left-color: #198754; background: #e9f5ee; }
.callout-caution { border-left-color: #fd7e14; background: #fff1e6; }
pre { white-space: pre-wrap; font-size: 0.8em; }
</style>
"""

TYPST_HEADER = f"""// fallback: figures and tables are numbered in the text ("Figure 1: ..."), as Quarto does
#set figure(numbering: none)
#set text(font: ("{LATIN_FONT}", "{CJK_FONT}"))
"""


_TEMPLATE_OPTIONS = ("papersize", "margin", "fontsize", "mainfont", "linestretch", "section-numbering")


def _column_widths(meta: Mapping, fmt: str) -> list[str]:
    """Pandoc's ``--columns`` for Quarto's ``tbl-colwidths`` (format option over top level).

    ``false``: no source line counts as long, so pipe tables keep natural column widths
    (Typst and the browser size columns to their content). ``true``, ``auto`` or unset:
    Pandoc's default, as Quarto does: a pipe table with a source line over 72 characters
    gets column widths proportional to its separator dashes. Explicit width lists are
    refused (the fallback does not apply them).
    """
    opts = _format_options(meta, fmt)
    value = opts.get("tbl-colwidths", meta.get("tbl-colwidths", True))
    if value is False:
        return ["--columns=100000"]
    if value is True or value == "auto":
        return []
    raise RenderError(f"tbl-colwidths: {value!r}: the fallback renderer supports true, auto "
                      "and false only")


def _pandoc_args(meta: Mapping, fmt: str, work: Path, header: Path) -> list[str]:
    opts = _format_options(meta, fmt)
    # --wrap=none: output lines are never broken, so a sentence stays whole in the HTML source
    args = ["--standalone", f"--resource-path={work}", f"--include-in-header={header}",
            "--wrap=none", *_column_widths(meta, fmt)]
    if opts.get("toc"):
        args += ["--toc", f"--toc-depth={int(opts.get('toc-depth', 3))}"]
    if opts.get("number-sections"):
        args.append("--number-sections")
    if fmt == "html":
        args += ["--embed-resources", "--mathml", "--section-divs"]
    return args


def _pandoc_meta(meta: Mapping, fmt: str) -> dict:
    """Document metadata plus the format's template options (papersize, margin, ...)."""
    opts = _format_options(meta, fmt)
    out = dict(meta)
    if fmt == "typst":
        out.update({k: opts[k] for k in _TEMPLATE_OPTIONS if k in opts})
    return out


def render_fallback(qmd: Path, out_html: Path, out_pdf: Path, *, work_dir: Path,
                    extra_meta: Mapping | None = None, timestamp: int | None = None) -> None:
    """Render ``qmd`` (already inside ``work_dir``) to HTML and PDF without Quarto."""
    import pypandoc
    import typst

    work_dir = Path(work_dir)
    for fmt in ("html", "typst"):
        meta, body = preprocess(qmd, fmt, extra_meta=extra_meta)
        source = work_dir / f".fallback.{fmt}.md"
        source.write_text(_pandoc_markdown(_pandoc_meta(meta, fmt), body), encoding="utf-8")
        header = work_dir / (".fallback.header.html" if fmt == "html" else ".fallback.header.typ")
        header.write_text(HTML_STYLE if fmt == "html" else TYPST_HEADER, encoding="utf-8")
        args = _pandoc_args(meta, fmt, work_dir, header)
        if fmt == "html":
            target = work_dir / ".fallback.html"
            pypandoc.convert_file(str(source), "html5", format="markdown", outputfile=str(target),
                                  extra_args=args, cworkdir=str(work_dir))
            atomic_write_bytes(out_html, target.read_bytes())
        else:
            typ = pypandoc.convert_file(str(source), "typst", format="markdown",
                                        extra_args=args, cworkdir=str(work_dir))
            typ_path = work_dir / "report.typ"
            typ_path.write_text(typ, encoding="utf-8")
            try:
                pdf = typst.compile(str(typ_path), root=str(work_dir), font_paths=[str(font_dir())],
                                    ignore_system_fonts=True, timestamp=timestamp)
            except Exception as err:  # typst.TypstError carries the diagnostic
                raise RenderError(f"Typst failed on {typ_path}: {err}") from err
            atomic_write_bytes(out_pdf, pdf)


# ---------------------------------------------------------------- quarto

QUARTO_TIMEOUT = 600


def render_quarto(quarto: str, qmd: Path, out_html: Path, out_pdf: Path, *, work_dir: Path) -> None:
    """``quarto render`` in ``work_dir`` to html and typst; outputs moved atomically."""
    for fmt, out, produced in (("html", out_html, "report.html"), ("typst", out_pdf, "report.pdf")):
        result = subprocess.run([quarto, "render", qmd.name, "--to", fmt], cwd=work_dir,
                                capture_output=True, text=True, timeout=QUARTO_TIMEOUT)
        if result.returncode != 0:
            raise RenderError(f"quarto render --to {fmt} failed:\n{result.stderr[-4000:]}")
        path = work_dir / produced
        if not path.exists():
            raise RenderError(f"quarto render --to {fmt} did not produce {produced}")
        atomic_write_bytes(out, path.read_bytes())


# ---------------------------------------------------------------- entry point

def _render_date(date: str | _dt.date | None) -> tuple[str, int]:
    """(ISO date shown in the report, UNIX seconds for the PDF); honours SOURCE_DATE_EPOCH."""
    if isinstance(date, _dt.date):
        day = date
    elif isinstance(date, str):
        day = _dt.date.fromisoformat(date)
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        day = _dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), _dt.timezone.utc).date()
    else:
        day = _dt.datetime.now(_dt.timezone.utc).date()
    stamp = int(_dt.datetime(day.year, day.month, day.day, tzinfo=_dt.timezone.utc).timestamp())
    return day.isoformat(), stamp


def _prepare_work_dir(qmd: Path, fragments_dir: Path, figures_dir: Path, work_dir: Path,
                      render_meta: Mapping, project_extra: Mapping | None) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("_fragments", "figures"):
        if (work_dir / sub).exists():
            shutil.rmtree(work_dir / sub)
    shutil.copytree(fragments_dir, work_dir / "_fragments")
    (work_dir / "figures").mkdir()
    if figures_dir is not None and Path(figures_dir).exists():
        for path in sorted(Path(figures_dir).iterdir()):
            if path.is_file() and path.suffix.lower() in (".png", ".svg", ".jpg", ".jpeg", ".pdf"):
                shutil.copy2(path, work_dir / "figures" / path.name)
    (work_dir / "_fragments" / "render.yml").write_text(
        yaml.safe_dump(dict(render_meta), sort_keys=False, allow_unicode=True), encoding="utf-8")
    target = work_dir / qmd.name
    shutil.copyfile(qmd, target)
    project_src = qmd.parent / "_quarto.yml"
    project = yaml.safe_load(project_src.read_text(encoding="utf-8")) if project_src.exists() else {}
    project = deep_merge(project or {"project": {"type": "default"}}, project_extra or {})
    (work_dir / "_quarto.yml").write_text(yaml.safe_dump(project, sort_keys=False, allow_unicode=True),
                                          encoding="utf-8")
    for stale in ("report.html", "report.pdf", "report.typ"):
        (work_dir / stale).unlink(missing_ok=True)
    return target


def render_report(qmd: Path, fragments_dir: Path, out_html: Path, out_pdf: Path, *,
                  figures_dir: Path, work_dir: Path | None = None, renderer: str | None = None,
                  date: str | _dt.date | None = None, manifest: Mapping | None = None,
                  out_manifest: Path | None = None) -> str:
    """Render the report; returns the renderer description also printed in the report.

    ``manifest`` (:func:`alliance_pipeline.manifest.build_manifest`): completed with the
    renderer and date, checked against its schema, embedded in the HTML and the PDF and
    written to ``out_manifest``.

    ``renderer``: ``auto`` (default; Quarto when ``quarto`` is on PATH), ``quarto`` or
    ``fallback``; ``$ALLIANCE_REPORT_RENDERER`` overrides the default. ``date``: the render
    date shown (default: ``$SOURCE_DATE_EPOCH`` or today, UTC); it also stamps the PDF.
    ``work_dir``: scratch folder (default: a temporary one, removed afterwards).
    """
    qmd, fragments_dir = Path(qmd), Path(fragments_dir)
    out_html, out_pdf = Path(out_html), Path(out_pdf)
    choice = (renderer or os.environ.get(RENDERER_ENV) or "auto").lower()
    if choice not in ("auto", "quarto", "fallback"):
        raise ValueError(f"renderer must be auto, quarto or fallback, not {choice!r}")
    quarto = shutil.which("quarto") if choice in ("auto", "quarto") else None
    if choice == "quarto" and not quarto:
        raise RenderError("renderer=quarto but no quarto CLI is on PATH")
    day, stamp = _render_date(date)
    description = f"Rendered by Quarto {quarto_version(quarto)}" if quarto else fallback_description()
    render_meta = {"renderer": description, "date": day}
    fonts = str(font_dir())
    project_extra = {"format": {"typst": {"font-paths": [fonts]}}}

    def run(work: Path) -> None:
        target = _prepare_work_dir(qmd, fragments_dir, Path(figures_dir), work, render_meta, project_extra)
        html, pdf = (out_html, out_pdf) if manifest is None else (work / "out.html", work / "out.pdf")
        if quarto:
            render_quarto(quarto, target, html, pdf, work_dir=work)
        else:
            render_fallback(target, html, pdf, work_dir=work, timestamp=stamp)
        if manifest is not None:
            _embed_manifest(manifest, description, day, html, pdf, out_html, out_pdf, out_manifest)

    if work_dir is None:
        with tempfile.TemporaryDirectory(prefix="report-") as tmp:
            run(Path(tmp))
    else:
        run(Path(work_dir))
    return description


def _embed_manifest(manifest: Mapping, renderer: str, day: str, html: Path, pdf: Path,
                    out_html: Path, out_pdf: Path, out_manifest: Path | None) -> None:
    """Write the rendered ``html`` and ``pdf`` with the completed manifest inside, and its copy."""
    from . import manifest as manifests

    final = manifests.complete(manifest, renderer=renderer, date=day)
    problems = manifests.problems(final)
    if problems:
        raise RenderError("the report's manifest does not match schemas/manifest.schema.yaml: "
                          + "; ".join(problems))
    text = manifests.to_json(final)
    atomic_write_bytes(out_html, manifests.embed_html(html.read_bytes(), text))
    atomic_write_bytes(out_pdf, manifests.embed_pdf(pdf.read_bytes(), text))
    if out_manifest is not None:
        atomic_write_bytes(out_manifest, text.encode("utf-8"))
