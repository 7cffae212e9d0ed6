"""Snakemake adapter: rule coding_sheet -> alliance_pipeline.coding.sheets.coding_workbook."""
from alliance_pipeline.coding.sheets import coding_workbook
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import atomic_write_bytes
from alliance_pipeline.intake.cohort import read_responses


def step(smk, log):
    cohort, coder = smk.params.cohort, smk.wildcards.coder
    responses = read_responses(cohort["raw"], cohort=cohort["cohort"], encoding=cohort["encoding"],
                               timepoints=smk.params.timepoints, questions=smk.params.questions,
                               id_pattern=cohort["privacy"]["participant_id_pattern"],
                               allow_similar_ids=cohort["privacy"]["allow_similar_participant_ids"],
                               survey=smk.params.survey)
    atomic_write_bytes(smk.output.workbook, coding_workbook(
        responses, cohort=cohort["cohort"], coder=coder, questions=smk.params.questions,
        coding_key=smk.params.coding["coding_key"]))
    log.info("coding workbook of coder %s: %d responses", coder, len(responses))


run(snakemake, step)  # noqa: F821
