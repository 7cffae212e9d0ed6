"""Snakemake adapter: rule study_tables -> alliance_pipeline.study.pooling (pooled.csv, cohorts.csv)
and .differences (differences.csv)."""
import pandas as pd

from alliance_pipeline.common.runner import run
from alliance_pipeline.common.tables import read_table, write_table
from alliance_pipeline.study.difference import pooled_differences
from alliance_pipeline.study.pooling import cohort_table, pooled_table


def step(smk, log):
    cohorts, analysis = smk.params.cohorts, smk.params.analysis
    tests = pd.concat([read_table(path).assign(cohort=name)
                       for name, path in zip(cohorts, smk.input.tests, strict=True)], ignore_index=True)
    mcnemar = analysis["mcnemar"]
    pooled = pooled_table(tests, cohorts=cohorts, confidence=analysis["confidence"],
                          p_adjust=analysis["p_adjust"], mcnemar_method=mcnemar["method"],
                          continuity=mcnemar["continuity"], exact_below=mcnemar["exact_below"])
    write_table(pooled, smk.output.pooled)
    write_table(cohort_table(tests, cohorts), smk.output.cohorts)
    models = pd.concat([read_table(path) for path in smk.input.models] or [pd.DataFrame()], ignore_index=True)
    write_table(pooled_differences(models, compare=smk.params.compare, cohorts=cohorts,
                                   confidence=analysis["confidence"], confidences=smk.params.confidences),
                smk.output.differences)
    log.info("%d pooled contrasts over %d cohorts", len(pooled), len(cohorts))


run(snakemake, step)  # noqa: F821
