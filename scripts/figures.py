"""Snakemake adapter: rule figures -> alliance_pipeline.report.figures.cohort_figures.write_cohort_figures."""
from pathlib import Path

from alliance_pipeline.report.figures.cohort_figures import write_cohort_figures
from alliance_pipeline.runner import run
from alliance_pipeline.tables import read_table


def step(smk, log):
    study, analysis = smk.params.study, smk.params.cohort["analysis"]
    tables = {name: read_table(smk.input[name]) for name in ("agreement", "proportions", "tests", "flow")}
    labels = {code: label for q in study["questions"].values() for code, label in q["labels"].items()}
    written = write_cohort_figures(tables, out_dir=Path(smk.output.figures[0]).parent, questions=study["questions"],
                                   labels=labels, timepoints=study["timepoints"],
                                   contrasts=study["contrasts"],
                                   acceptable=analysis["agreement"]["acceptable"],
                                   good=analysis["agreement"]["good"])
    log.info("%d figure files", len(written))


run(snakemake, step)  # noqa: F821
