# Change across time points: shares with Wilson intervals, Cochran's Q, McNemar contrasts
# with effect sizes, the follow-up trial's sample size, the participant flow, and the
# all-available-data model with the difference of changes (models.csv).
# Package: alliance_pipeline.change: cohort_tables (the step), proportions, paired_tests (with
# mcnemar, cochran_q, effect_sizes, multiplicity, paired_counts), power, models (with gee,
# difference). Every module a rule runs: alliance_pipeline.rule_modules.

rule change:
    input:
        final_codes=f"{DERIVED}/final_codes.csv",
        code=package(*RULE_MODULES["change"]),
    output:
        proportions=f"{DERIVED}/proportions.csv",
        tests=f"{DERIVED}/tests.csv",
        power=f"{DERIVED}/power.csv",
        flow=f"{DERIVED}/flow.csv",
        models=f"{DERIVED}/models.csv",
    params:
        cohort=cohort,
        timepoints=STUDY["timepoints"],
        contrasts=STUDY["contrasts"],
        compare=STUDY["compare"],
        questions=STUDY["questions"],
    log:
        f"{LOGS}/change.log",
    conda:
        ENV
    script:
        "../scripts/change.py"
