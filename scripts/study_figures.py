"""Snakemake adapter: rule study_figures -> alliance_pipeline.study.figures.write_study_figures,
once per language of report.languages (figures/ for the first, figures/<lang>/ for each other)."""
from pathlib import Path

from alliance_pipeline.common.outputs import language_subfolder
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table
from alliance_pipeline.report.language import localised_questions, use_language
from alliance_pipeline.study.figures import write_study_figures


def step(smk, log):
    cohort_rows, pooled = read_table(smk.input.cohorts), read_table(smk.input.pooled)
    languages = smk.params.languages
    for language in languages:
        with use_language(language):
            study = {**smk.params.study, "questions": localised_questions(smk.params.study["questions"])}
            written = write_study_figures(cohort_rows, pooled, study=study, cohorts=smk.params.cohorts,
                                          out_dir=Path(smk.params.figures_dir) / language_subfolder(language, languages),
                                          confidence=smk.params.analysis["confidence"])
        log.info("%s: %d figure files", language, len(written))


run(snakemake, step)  # noqa: F821
