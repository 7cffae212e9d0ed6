"""Snakemake adapter: rule intake -> alliance_pipeline.intake.cohort.read_cohort."""
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import write_table
from alliance_pipeline.intake.cohort import read_cohort
from alliance_pipeline.intake.log_lines import log_cohort


def step(smk, log):
    cohort = smk.params.cohort
    tables = read_cohort(cohort["raw"], cohort=cohort["cohort"], encoding=cohort["encoding"],
                         timepoints=smk.params.timepoints, questions=smk.params.questions,
                         id_pattern=cohort["privacy"]["participant_id_pattern"],
                         allow_similar_ids=cohort["privacy"]["allow_similar_participant_ids"],
                         survey=smk.params.survey, require_coders=smk.params.require_coders,
                         coding_key=smk.params.coding["coding_key"])
    log_cohort(tables, log)
    for name in tables.TABLES:
        write_table(getattr(tables, name), smk.output[name])


run(snakemake, step)  # noqa: F821 (snakemake is injected by the script directive)
