"""Snakemake adapter: rule render_report -> alliance_pipeline.report.cohort_report.render_cohort_report."""
from pathlib import Path

from alliance_pipeline.report.cohort_report import render_cohort_report
from alliance_pipeline.runner import checkout, run


def step(smk, log):
    i = smk.input
    renderer = render_cohort_report(
        source=i.source, responses=i.responses, figures_dir=Path(i.figures[0]).parent,
        tables=i.tables, coder_files=i.coder_files, raw=i.raw, codebook=i.codebook, lock=i.lock,
        study=smk.params.study, cohort=smk.params.cohort, config=smk.params.config,
        repo_dir=checkout(smk), html=smk.output.html, pdf=smk.output.pdf,
        out_manifest=smk.output.manifest)
    log.info("%s", renderer)


run(snakemake, step)  # noqa: F821
