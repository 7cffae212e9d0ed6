"""Snakemake adapter: rule disagreements -> alliance_pipeline.coding.consensus.disagreements."""
from alliance_pipeline.coding.consensus import disagreements
from alliance_pipeline.common.privacy import withhold_identifying
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table, write_table


def step(smk, log):
    cohort = smk.params.cohort
    responses = withhold_identifying(read_table(smk.input.responses),
                                     allow=cohort["privacy"]["allow_identifying_text"])
    codings = read_table(smk.input.codings)
    sheet = disagreements(responses, codings, read_table(smk.input.adjudication),
                          sorted(codings["coder"].unique()))
    write_table(sheet, smk.output.worksheet, for_people=True)
    log.info("%d response(s) on which the coders differ", len(sheet))


run(snakemake, step)  # noqa: F821
