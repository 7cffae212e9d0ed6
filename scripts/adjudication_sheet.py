"""Snakemake adapter: rule adjudication_sheet -> alliance_pipeline.coding.sheets.adjudication_workbook."""
from alliance_pipeline.coding.sheets import adjudication_workbook
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import atomic_write_bytes, read_table


def step(smk, log):
    cohort = smk.params.cohort
    worksheet = read_table(smk.input.worksheet)
    atomic_write_bytes(smk.output.workbook, adjudication_workbook(
        read_table(smk.input.responses), worksheet, cohort=cohort["cohort"],
        questions=smk.params.questions, coding_key=smk.params.coding["coding_key"],
        allow_identifying_text=cohort["privacy"]["allow_identifying_text"]))
    log.info("adjudication workbook: %d disagreement(s)", len(worksheet))


run(snakemake, step)  # noqa: F821
