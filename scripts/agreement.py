"""Snakemake adapter: rule agreement -> alliance_pipeline.coding.agreement.agreement_table."""
from alliance_pipeline.coding.agreement import agreement_table
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table, write_table


def step(smk, log):
    cohort = smk.params.cohort
    settings = cohort["analysis"]["agreement"]
    table = agreement_table(read_table(smk.input.codings), smk.params.questions,
                            cohort=cohort["cohort"], bootstrap=settings["bootstrap"],
                            seed=settings["seed"], confidence=cohort["analysis"]["confidence"],
                            acceptable=settings["acceptable"], good=settings["good"])
    write_table(table, smk.output.agreement)


run(snakemake, step)  # noqa: F821
