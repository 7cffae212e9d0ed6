"""Snakemake adapter: rule study_report -> alliance_pipeline.study.report.render_study_report,
once per language of report.languages (the first writes report.html/.pdf and the manifest)."""
from pathlib import Path

from alliance_pipeline.common.outputs import language_subfolder, report_stem
from alliance_pipeline.common.runner import checkout, run
from alliance_pipeline.study.fragments import COHORT_TABLES
from alliance_pipeline.study.report import render_study_report


def step(smk, log):
    i, p = smk.input, smk.params
    folder = Path(smk.output.html).parent
    for language in p.languages:
        first = language == p.languages[0]
        stem = report_stem(language, p.languages)
        description = render_study_report(
            source=i.source, project=i.project, pooled=i.pooled, cohort_rows=i.cohort_rows,
            differences=i.differences, models=list(i.models),
            cohort_tables={table: i[table] for table in COHORT_TABLES}, raw=i.raw,
            codebook=i.codebook, lock=i.lock, settings=p.settings, study=p.study, analysis=p.analysis,
            config=p.config, figures_dir=Path(p.figures_dir) / language_subfolder(language, p.languages),
            repo_dir=checkout(smk), html=str(folder / f"{stem}.html"), pdf=str(folder / f"{stem}.pdf"),
            out_manifest=smk.output.manifest if first else None, language=language)
        log.info("%s: %s", language, description)


run(snakemake, step)  # noqa: F821
