"""Snakemake adapter: rule change -> alliance_pipeline.change.cohort_tables.change_tables."""
from alliance_pipeline.change.cohort_tables import change_tables
from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table, write_table


def step(smk, log):
    p = smk.params
    tables = change_tables(read_table(smk.input.final_codes), cohort=p.cohort, questions=p.questions,
                           timepoints=p.timepoints, contrasts=p.contrasts,
                           compare=p.compare)
    for name, frame in tables.items():
        write_table(frame, smk.output[name])


run(snakemake, step)  # noqa: F821
