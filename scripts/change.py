"""Snakemake adapter: rule change -> alliance_pipeline.proportions, .paired_tests, .power."""
from alliance_pipeline.paired_tests import tests_table
from alliance_pipeline.power import power_table
from alliance_pipeline.proportions import participant_flow, proportions_table
from alliance_pipeline.runner import run
from alliance_pipeline.tables import read_table, write_table


def step(smk, log):
    cohort, p = smk.params.cohort, smk.params
    analysis = cohort["analysis"]
    codes = read_table(smk.input.final_codes)
    design = dict(questions=p.questions, timepoints=p.timepoints)
    write_table(proportions_table(codes, cohort=cohort["cohort"], confidence=analysis["confidence"],
                                  aggregate=analysis["aggregate"], **design), smk.output.proportions)
    mcnemar = analysis["mcnemar"]
    write_table(tests_table(codes, cohort=cohort["cohort"], contrasts=p.contrasts,
                            confidence=analysis["confidence"], p_adjust=analysis["p_adjust"],
                            mcnemar_method=mcnemar["method"], continuity=mcnemar["continuity"],
                            exact_below=mcnemar["exact_below"], aggregate=analysis["aggregate"],
                            permutations=analysis["cochran"]["permutations"],
                            permutation_seed=analysis["cochran"]["seed"], **design),
                smk.output.tests)
    power = analysis["power"]
    write_table(power_table(codes, cohort=cohort["cohort"], contrasts=p.contrasts,
                            alpha=power["alpha"], targets=tuple(power["targets"]),
                            effect_scales=tuple(power["effect_scales"]),
                            aggregate=analysis["aggregate"], **design), smk.output.power)
    write_table(participant_flow(codes, contrasts=p.contrasts, **design), smk.output.flow)


run(snakemake, step)  # noqa: F821
