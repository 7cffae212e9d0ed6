"""Snakemake adapter: rule study_report -> alliance_pipeline.study_report + .render.

The template reports/study.qmd is staged as report.qmd beside the project's _quarto.yml, so
the shared renderer (Quarto, or its Pandoc + Typst fallback) treats it as it treats a cohort
report; fragments go to a scratch folder.
"""
import shutil
import tempfile
from pathlib import Path

from alliance_pipeline import manifest, provenance, study_report
from alliance_pipeline.render import render_report
from alliance_pipeline.runner import checkout, run
from alliance_pipeline.tables import read_table


def step(smk, log):
    p = smk.params
    per_cohort = {name: {table: read_table(smk.input[table][i]) for table in study_report.COHORT_TABLES}
                  for i, name in enumerate(p.settings)}
    tables = study_report.stack_tables(per_cohort)
    tables["pooled"] = read_table(smk.input.pooled)
    tables["cohort_rows"] = read_table(smk.input.cohort_rows)
    prov = provenance.collect_provenance(
        raw_files=provenance.hash_files(smk.input.raw), config=dict(p.config),
        codebook_version=p.study["codebook_version"], lock_file=smk.input.lock,
        repo_dir=checkout(smk),
        command=f"make run   (or: snakemake --cores all {smk.output.html} {smk.output.pdf})")
    files = [(name, smk.input[name]) for name in ("pooled", "cohort_rows")] + [
        (table, smk.input[table][i]) for i in range(len(p.settings)) for table in study_report.COHORT_TABLES]
    hashes = dict(provenance.hash_files(f for _, f in files))
    frames = {smk.input.pooled: tables["pooled"], smk.input.cohort_rows: tables["cohort_rows"],
              **{smk.input[t][i]: per_cohort[name][t] for i, name in enumerate(p.settings)
                 for t in study_report.COHORT_TABLES}}
    contents = manifest.build_manifest(
        report="study", cohorts=list(p.settings), provenance=prov, config=p.config,
        codebook=(smk.input.codebook, provenance.sha256_file(smk.input.codebook)),
        lock=("requirements.lock", provenance.sha256_file(smk.input.lock)),
        tables=[manifest.table_entry("cohorts" if name == "cohort_rows" else name, f,
                                     hashes[Path(f).as_posix()], frames[f]) for name, f in files])
    with tempfile.TemporaryDirectory(prefix="study-report-") as tmp:
        tmp = Path(tmp)
        source = tmp / "source"
        source.mkdir()
        shutil.copyfile(smk.input.source, source / "report.qmd")
        shutil.copyfile(smk.input.project, source / "_quarto.yml")
        study_report.write_fragments(tables, out_dir=tmp / "fragments", figures_dir=p.figures_dir,
                                     study=p.study, cohorts=p.settings, analysis=p.analysis,
                                     provenance=prov)
        description = render_report(source / "report.qmd", tmp / "fragments", Path(smk.output.html),
                                    Path(smk.output.pdf), figures_dir=Path(p.figures_dir),
                                    work_dir=tmp / "work", manifest=contents,
                                    out_manifest=Path(smk.output.manifest))
    log.info("%s", description)


run(snakemake, step)  # noqa: F821
