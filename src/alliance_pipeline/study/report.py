"""The study report rendered (rule study_report): HTML, PDF and manifest from the study tables
and each cohort's tables, its fragments written by :mod:`alliance_pipeline.study.fragments` and
rendered by the cohort reports' renderer (:mod:`alliance_pipeline.report.render.renderer`).
"""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from alliance_pipeline.common.outputs import report_stem
from alliance_pipeline.common.provenance import collect_provenance, hash_files, sha256_file
from alliance_pipeline.common.tables import read_table
from alliance_pipeline.report.language import use_language
from alliance_pipeline.report.manifest import build_manifest, table_entry
from alliance_pipeline.report.render.renderer import render_report
from alliance_pipeline.study.fragments import COHORT_TABLES, stack_tables, write_fragments


def render_study_report(*, source: str | Path, project: str | Path, pooled: str | Path,
                        cohort_rows: str | Path, differences: str | Path, models: Sequence[str],
                        cohort_tables: Mapping[str, Sequence[str]],
                        raw: Sequence[str], codebook: str | Path, lock: str | Path,
                        settings: Mapping, study: Mapping, analysis: Mapping, config: Mapping,
                        figures_dir: str | Path, repo_dir: Path, html: str, pdf: str,
                        out_manifest: str | Path | None, language: str = "en") -> str:
    """The study report (HTML, PDF, manifest) from the study tables and each cohort's tables.

    ``cohort_tables``: per name of :data:`COHORT_TABLES`, its file of each cohort in the order
    of ``settings`` (``{cohort: cohort_settings}``); ``models``: each cohort's ``models.csv`` in
    that order, or none (the report then says the difference of changes is missing);
    ``differences``: the pooled ``differences.csv``. The template (``source``) is staged as
    report.qmd beside the project's _quarto.yml (``project``), so the shared renderer (Quarto,
    or its Pandoc + Typst fallback) treats it as it treats a cohort report; fragments go to a
    scratch folder. Returns the renderer's description. ``language``: the report's language
    (its figures in ``figures_dir``; it links the cohort reports of the same language);
    ``out_manifest`` None writes no manifest file.
    """
    per_cohort = {name: {table: read_table(cohort_tables[table][i]) for table in COHORT_TABLES}
                  for i, name in enumerate(settings)}
    tables = stack_tables(per_cohort)
    tables["pooled"] = read_table(pooled)
    tables["cohort_rows"] = read_table(cohort_rows)
    tables["differences"] = read_table(differences)
    model_frames: dict[str | Path, pd.DataFrame] = {f: read_table(f) for f in models}
    if model_frames:
        tables["models"] = pd.concat(model_frames.values(), ignore_index=True)
    prov = collect_provenance(
        raw_files=hash_files(raw), config=dict(config), codebook_version=study["codebook_version"],
        lock_file=lock, repo_dir=repo_dir,
        command=f"alliance run   (or: snakemake --cores all {html} {pdf})")
    files = [("pooled", pooled), ("cohort_rows", cohort_rows), ("differences", differences)] + [
        (table, cohort_tables[table][i]) for i in range(len(settings)) for table in COHORT_TABLES] + [
        ("models", f) for f in models]
    hashes = dict(hash_files(f for _, f in files))
    frames: dict[str | Path, pd.DataFrame] = {pooled: tables["pooled"], cohort_rows: tables["cohort_rows"],
              differences: tables["differences"], **model_frames,
              **{cohort_tables[t][i]: per_cohort[name][t] for i, name in enumerate(settings)
                 for t in COHORT_TABLES}}
    contents = build_manifest(
        report="study", cohorts=list(settings), provenance=prov, config=config,
        codebook=(codebook, sha256_file(codebook)), lock=("requirements.lock", sha256_file(lock)),
        tables=[table_entry("cohorts" if name == "cohort_rows" else name, f,
                            hashes[Path(f).as_posix()], frames[f]) for name, f in files])
    languages = [str(code) for code in (config.get("report") or {}).get("languages") or ["en"]]
    cohort_report = f"{report_stem(language, languages)}.html" if language in languages else "report.html"
    with tempfile.TemporaryDirectory(prefix="study-report-") as scratch, use_language(language):
        tmp = Path(scratch)
        staged = tmp / "source"
        staged.mkdir()
        shutil.copyfile(source, staged / "report.qmd")
        shutil.copyfile(project, staged / "_quarto.yml")
        write_fragments(tables, out_dir=tmp / "fragments", figures_dir=figures_dir, study=study,
                        cohorts=settings, analysis=analysis, provenance=prov,
                        cohort_report_file=cohort_report)
        return render_report(staged / "report.qmd", tmp / "fragments", Path(html), Path(pdf),
                             figures_dir=Path(figures_dir), work_dir=tmp / "work", manifest=contents,
                             out_manifest=Path(out_manifest) if out_manifest is not None else None)
