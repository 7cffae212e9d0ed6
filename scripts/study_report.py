"""Snakemake adapter: rule study_report -> alliance_pipeline.study.study_report.render_study_report."""
from alliance_pipeline.runner import checkout, run
from alliance_pipeline.study.fragments import COHORT_TABLES
from alliance_pipeline.study.study_report import render_study_report


def step(smk, log):
    i, p = smk.input, smk.params
    description = render_study_report(
        source=i.source, project=i.project, pooled=i.pooled, cohort_rows=i.cohort_rows,
        differences=i.differences, models=list(i.models),
        cohort_tables={table: i[table] for table in COHORT_TABLES}, raw=i.raw,
        codebook=i.codebook, lock=i.lock, settings=p.settings, study=p.study, analysis=p.analysis,
        config=p.config, figures_dir=p.figures_dir, repo_dir=checkout(smk), html=smk.output.html,
        pdf=smk.output.pdf, out_manifest=smk.output.manifest)
    log.info("%s", description)


run(snakemake, step)  # noqa: F821
