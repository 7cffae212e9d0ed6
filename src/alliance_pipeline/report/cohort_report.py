"""Markdown fragments of one cohort's report, written from the derived tables.

``reports/report.qmd`` holds presentation only; every number, table and sentence that
depends on data comes from the fragments built here and pulled in with Quarto's
``{{< include >}}``. The builders are pure (data frames and plain values in, markdown out);
:func:`write_fragments`, :func:`load_tables` and :func:`render_cohort_report` (the rule
render_report's step) are the only functions that touch files.

Inputs, all plain values:

- ``tables``: ``{"agreement", "proportions", "tests", "power", "final_codes", "flow",
  "models"}`` -> DataFrame, as in the data contract; ``flow`` as written by
  :func:`alliance_pipeline.change.proportions.participant_flow` (a minimal question, timepoint,
  n_participants table also works). A missing table gives a section that says so.
- ``study``: :func:`alliance_pipeline.config.settings.study_settings` (title, timepoints, contrasts,
  questions, codebook_version).
- ``cohort``: :func:`alliance_pipeline.config.settings.cohort_settings` (cohort, label, synthetic,
  site, analysis, published).
- ``provenance``: see :mod:`alliance_pipeline.common.provenance`.
- ``quotes``: response texts the config explicitly allows (``report.quotes``); none by
  default. No other response text ever reaches the report: the builders never read a
  ``text`` or ``rationale`` column.

Cross-reference labels are ``fig-<slug>`` and ``tbl-<slug>``; figures are referenced without
extension (``figures/flow``) so each output format picks its own (PNG for HTML, SVG for PDF).

One module per section or small group of sections, each importing
:mod:`~alliance_pipeline.report.format` (numbers, Markdown),
:mod:`~alliance_pipeline.report.lookup` (settings, table rows) and at most an earlier
section's helper (the flow, a contrast in words), never this module:
report/sections/: summary (meta, banner, summary), design (design, flow), coding
(reliability), results, difference (the difference of changes), feedback (feedback, quotes),
published, limitations (power,
limitations), reproducibility. This module assembles them.
"""
from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from alliance_pipeline.common.outputs import figure_stems
from alliance_pipeline.common.privacy import withhold_identifying
from alliance_pipeline.common.provenance import collect_provenance, hash_files, sha256_file
from alliance_pipeline.common.tables import atomic_write_text, read_table
from alliance_pipeline.report.language import current, use_language
from alliance_pipeline.report.lookup import questions_of
from alliance_pipeline.report.manifest import build_manifest, table_entry
from alliance_pipeline.report.render.renderer import render_report
from alliance_pipeline.report.sections.coding import reliability_md
from alliance_pipeline.report.sections.design import design_md, flow_md
from alliance_pipeline.report.sections.difference import difference_md
from alliance_pipeline.report.sections.feedback import feedback_md, quotes_md, select_quotes
from alliance_pipeline.report.sections.limitations import limitations_md, power_md
from alliance_pipeline.report.sections.published import published_md, references_md, source_md
from alliance_pipeline.report.sections.reproducibility import reproducibility_md, untranslated_md
from alliance_pipeline.report.sections.results import results_md
from alliance_pipeline.report.sections.summary import banner_md, meta_yaml, summary_md

FRAGMENTS = ("summary", "banner", "design", "flow", "reliability", "results", "difference",
             "feedback", "quotes", "published", "power", "limitations", "reproducibility",
             "source", "references")
TABLE_FILES = {"agreement": "agreement.csv", "proportions": "proportions.csv",
               "tests": "tests.csv", "power": "power.csv", "final_codes": "final_codes.csv",
               "flow": "flow.csv", "models": "models.csv"}


def conventional_figures(study: Mapping) -> set[str]:
    """File stems of the figures the pipeline makes for this codebook."""
    return set(figure_stems(questions_of(study)))


def build_fragments(tables: Mapping[str, pd.DataFrame], *, study: Mapping, cohort: Mapping,
                    provenance: Mapping | None = None, quotes: Sequence | None = None,
                    figures: Iterable[str] | None = None) -> dict[str, str]:
    """All fragments as ``{file name: text}``: ``meta.yml`` and one ``<name>.md`` each."""
    figs = set(figures) if figures is not None else conventional_figures(study)
    kw: dict[str, Any] = {"study": study, "cohort": cohort}
    return {
        "meta.yml": meta_yaml(study=study, cohort=cohort, quotes=quotes),
        "summary.md": summary_md(tables, **kw),
        "banner.md": banner_md(cohort=cohort),
        "design.md": design_md(**kw),
        "flow.md": flow_md(tables, study=study, figures=figs),
        "reliability.md": reliability_md(tables, **kw, figures=figs),
        "results.md": results_md(tables, **kw, figures=figs),
        "difference.md": difference_md(tables, **kw),
        "feedback.md": feedback_md(tables, **kw, figures=figs),
        "quotes.md": quotes_md(quotes),
        "published.md": published_md(tables, **kw),
        "power.md": power_md(tables, **kw),
        "limitations.md": limitations_md(tables, **kw),
        "reproducibility.md": reproducibility_md(provenance) + untranslated_md(study, current().code),
        "source.md": source_md(study=study),
        "references.md": references_md(study=study),
    }


def coded_blind(coder_files: pd.DataFrame) -> bool:
    """True when every coder file (intake's coder_files.csv) is a blinded pipeline workbook."""
    return len(coder_files) > 0 and bool((coder_files["blind"].astype(str) == "yes").all())


def load_tables(derived_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read a cohort's derived tables (those that exist) for :func:`write_fragments`."""
    derived_dir = Path(derived_dir)
    return {name: read_table(derived_dir / file) for name, file in TABLE_FILES.items()
            if (derived_dir / file).exists()}


def write_fragments(tables: Mapping[str, pd.DataFrame], *, study: Mapping, cohort: Mapping,
                    provenance: Mapping | None, out_dir: str | Path,
                    quotes: Sequence | None = None,
                    figures_dir: str | Path | None = None) -> list[Path]:
    """Write every fragment to ``out_dir`` (atomically); returns the paths written.

    ``figures_dir``: when given, only figures present there (PNG) are placed in the report;
    otherwise the conventional set for the codebook is assumed.
    """
    figures = None
    if figures_dir is not None:
        figures = {p.stem for p in Path(figures_dir).glob("*.png")}
    fragments = build_fragments(tables, study=study, cohort=cohort, provenance=provenance,
                                quotes=quotes, figures=figures)
    out_dir = Path(out_dir)
    written = []
    for name, text in fragments.items():
        path = out_dir / name
        atomic_write_text(path, text)
        written.append(path)
    return written


def render_cohort_report(*, source: str | Path, responses: str | Path, figures_dir: str | Path,
                         tables: Sequence[str], coder_files: str | Path, raw: Sequence[str],
                         codebook: str | Path, lock: str | Path, study: Mapping, cohort: Mapping,
                         config: Mapping, repo_dir: Path, html: str, pdf: str,
                         out_manifest: str | Path | None, language: str = "en") -> str:
    """One cohort's report (HTML, PDF, manifest) from its derived tables; returns the renderer.

    ``language``: the report's language (report/language; its figures are in ``figures_dir``);
    ``out_manifest`` None writes no manifest file (the first language's report writes it).

    Quotes are the responses the config allows (``report.quotes``); a text with an e-mail or
    phone number stays withheld unless ``privacy.allow_identifying_text``. The cohort counts
    as coded blind when every coder file is a blinded workbook the pipeline generated.
    """
    prov = collect_provenance(
        raw_files=hash_files(raw), config=dict(config), codebook_version=study["codebook_version"],
        lock_file=lock, repo_dir=repo_dir,
        command=f"alliance run   (or: snakemake --cores all {html} {pdf})")
    allowed = withhold_identifying(read_table(responses),
                                   allow=cohort["privacy"]["allow_identifying_text"])
    quotes = select_quotes(allowed, cohort["report"]["quotes"])
    cohort = {**cohort, "coders_blind": coded_blind(read_table(coder_files))}
    # exactly the tables the rule gave (what the manifest lists), not whatever else lies there
    frames = {Path(f).stem: read_table(f) for f in tables}
    files = [*tables, responses, coder_files]
    hashes = dict(hash_files(files))
    contents = build_manifest(
        report="cohort", cohorts=[cohort["cohort"]], provenance=prov, config=config,
        codebook=(codebook, sha256_file(codebook)), lock=("requirements.lock", sha256_file(lock)),
        tables=[table_entry(Path(f).stem, f, hashes[Path(f).as_posix()], frames.get(Path(f).stem))
                for f in files])
    with tempfile.TemporaryDirectory() as scratch, use_language(language):
        fragments = Path(scratch) / "fragments"
        write_fragments(frames, study=study, cohort=cohort, provenance=prov, out_dir=fragments,
                        quotes=quotes, figures_dir=figures_dir)
        return render_report(Path(source), fragments, Path(html), Path(pdf),
                             figures_dir=Path(figures_dir), work_dir=Path(scratch) / "work",
                             manifest=contents,
                             out_manifest=Path(out_manifest) if out_manifest is not None else None)
