"""Render a cohort's Quarto report to one self-contained HTML file and a Typst PDF.

:func:`render_report` copies ``report.qmd``, the project's ``_quarto.yml``, the fragments
(to ``_fragments/``) and the figures (to ``figures/``) into a work folder and renders there:

- with the ``quarto`` CLI on PATH: ``quarto render report.qmd --to html`` (the .qmd sets
  ``embed-resources: true``) and ``--to typst``;
- without it (this machine and CI): the *same* source through the fallback renderer. It expands
  what the report uses of Quarto's markdown into plain Pandoc markdown that reads the same,
  then Pandoc 3 (pypandoc) writes standalone HTML with every image embedded as a data URI
  (``--embed-resources``; math as MathML, nothing fetched) and Typst source, which the
  ``typst`` package compiles to PDF with IPAexGothic on its font path.

Modules of report/render/: this one chooses the renderer and prepares the work folder;
:mod:`.quarto` runs the ``quarto`` CLI; :mod:`.markdown` turns the Quarto source into plain
Pandoc markdown and :mod:`.fallback` writes HTML (Pandoc) and PDF (Typst) from it;
:mod:`.metadata` holds what they share (front matter and metadata, fonts, :class:`RenderError`).
"""
from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from alliance_pipeline.common.tables import atomic_write_bytes
from alliance_pipeline.config.settings import deep_merge
from alliance_pipeline.report import manifest as manifests
from alliance_pipeline.report.language import (
    SOURCE_LANGUAGE,
    _,
    format_day,
    is_source,
    use_language,
)
from alliance_pipeline.report.render.fallback import fallback_description, render_fallback
from alliance_pipeline.report.render.metadata import RenderError, font_dir
from alliance_pipeline.report.render.quarto import quarto_version, render_quarto
from alliance_pipeline.report.render.translate import localise_source
from alliance_pipeline.report.render.webfont import embed_font

RENDERER_ENV = "ALLIANCE_REPORT_RENDERER"  # auto | quarto | fallback


def _render_date(date: str | _dt.date | None) -> tuple[str, int]:
    """(ISO date shown in the report, UNIX seconds for the PDF); honours SOURCE_DATE_EPOCH."""
    if isinstance(date, _dt.date):
        day = date
    elif isinstance(date, str):
        day = _dt.date.fromisoformat(date)
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        day = _dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), _dt.UTC).date()
    else:
        day = _dt.datetime.now(_dt.UTC).date()
    stamp = int(_dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC).timestamp())
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
    target.write_bytes(localise_source(qmd.read_text(encoding="utf-8")).encode("utf-8"))
    project_src = qmd.parent / "_quarto.yml"
    project = yaml.safe_load(project_src.read_text(encoding="utf-8")) if project_src.exists() else {}
    project = deep_merge(project or {"project": {"type": "default"}}, dict(project_extra or {}))
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

    ``manifest`` (:func:`alliance_pipeline.report.manifest.build_manifest`): completed with the
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

    def describe() -> str:
        return _("Rendered by Quarto {version}").format(version=quarto_version(quarto)) if quarto \
            else fallback_description()

    with use_language(SOURCE_LANGUAGE):
        description = describe()  # the manifest's words are English in every language
    render_meta = {"renderer": describe(), "date": format_day(_dt.date.fromisoformat(day))}
    fonts = str(font_dir())
    project_extra = {"format": {"typst": {"font-paths": [fonts]}}}

    def run(work: Path) -> None:
        target = _prepare_work_dir(qmd, fragments_dir, Path(figures_dir), work, render_meta, project_extra)
        html, pdf = (out_html, out_pdf) if manifest is None else (work / "out.html", work / "out.pdf")
        if quarto:
            render_quarto(quarto, target, html, pdf, work_dir=work)
        else:
            render_fallback(target, html, pdf, work_dir=work, timestamp=stamp)
        if not is_source():  # the reader may have no Japanese font: the page brings its own
            atomic_write_bytes(html, embed_font(html.read_bytes()))
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
