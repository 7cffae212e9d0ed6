"""Snakemake adapter: rule figures -> alliance_pipeline.report.figures.cohort_figures.write_cohort_figures."""
from pathlib import Path

from alliance_pipeline.common.outputs import language_subfolder
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table
from alliance_pipeline.report.figures.cohort_figures import write_cohort_figures
from alliance_pipeline.report.language import localised_questions, use_language


def step(smk, log):
    study, analysis, languages = smk.params.study, smk.params.cohort["analysis"], smk.params.languages
    tables = {name: read_table(smk.input[name]) for name in ("agreement", "proportions", "tests", "flow")}
    base = Path(smk.output.figures[0]).parent
    for language in languages:
        with use_language(language):
            questions = localised_questions(study["questions"])
            labels = {code: label for q in questions.values() for code, label in q["labels"].items()}
            written = write_cohort_figures(
                tables, out_dir=base / language_subfolder(language, languages), questions=questions,
                labels=labels, timepoints=study["timepoints"], contrasts=study["contrasts"],
                acceptable=analysis["agreement"]["acceptable"], good=analysis["agreement"]["good"])
        log.info("%s: %d figure files", language, len(written))


run(snakemake, step)  # noqa: F821
