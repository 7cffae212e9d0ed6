"""The fallback renderer (no quarto CLI): the Pandoc markdown of :mod:`.markdown` to
standalone HTML by Pandoc 3 (pypandoc; images embedded as data URIs, math as MathML) and to
Typst source, compiled to PDF by the ``typst`` package with IPAexGothic on its font path."""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from alliance_pipeline.common.tables import atomic_write_bytes
from alliance_pipeline.report.language import _
from alliance_pipeline.report.render.markdown import preprocess
from alliance_pipeline.report.render.metadata import (
    RenderError,
    font_dir,
    format_options,
    meta_text,
)

LATIN_FONT = "Libertinus Serif"  # embedded in Typst
CJK_FONT = "IPAexGothic"          # shipped by matplotlib-fontja


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


def fallback_description() -> str:
    return _("Rendered by the Pandoc {pandoc} + Typst {typst} fallback (no quarto CLI on "
             "PATH)").format(pandoc=pandoc_version(), typst=typst_version())


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


def column_widths(meta: Mapping, fmt: str) -> list[str]:
    """Pandoc's ``--columns`` for Quarto's ``tbl-colwidths`` (format option over top level).

    ``false``: no source line counts as long, so pipe tables keep natural column widths
    (Typst and the browser size columns to their content). ``true``, ``auto`` or unset:
    Pandoc's default, as Quarto does: a pipe table with a source line over 72 characters
    gets column widths proportional to its separator dashes. Explicit width lists are
    refused (the fallback does not apply them).
    """
    opts = format_options(meta, fmt)
    value = opts.get("tbl-colwidths", meta.get("tbl-colwidths", True))
    if value is False:
        return ["--columns=100000"]
    if value is True or value == "auto":
        return []
    raise RenderError(f"tbl-colwidths: {value!r}: the fallback renderer supports true, auto "
                      "and false only")


def _pandoc_args(meta: Mapping, fmt: str, work: Path, header: Path) -> list[str]:
    opts = format_options(meta, fmt)
    # --wrap=none: output lines are never broken, so a sentence stays whole in the HTML source
    args = ["--standalone", f"--resource-path={work}", f"--include-in-header={header}",
            "--wrap=none", *column_widths(meta, fmt)]
    if opts.get("toc"):
        args += ["--toc", f"--toc-depth={int(opts.get('toc-depth', 3))}"]
    if opts.get("number-sections"):
        args.append("--number-sections")
    if fmt == "html":
        args += ["--embed-resources", "--mathml", "--section-divs"]
    return args


def _pandoc_meta(meta: Mapping, fmt: str) -> dict:
    """Document metadata plus the format's template options (papersize, margin, ...)."""
    opts = format_options(meta, fmt)
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
