"""Snakemake adapter: rule study_figures -> alliance_pipeline.study.study_figures.write_study_figures."""
from alliance_pipeline.runner import run
from alliance_pipeline.study.study_figures import write_study_figures
from alliance_pipeline.tables import read_table


def step(smk, log):
    written = write_study_figures(read_table(smk.input.cohorts), read_table(smk.input.pooled),
                                  study=smk.params.study, cohorts=smk.params.cohorts,
                                  out_dir=smk.params.figures_dir,
                                  confidence=smk.params.analysis["confidence"])
    log.info("%d figure files", len(written))


run(snakemake, step)  # noqa: F821
