# Intake: read and check one cohort's raw files; write normalised UTF-8 tables.
# Package: alliance_pipeline.intake (checks), .survey (form exports), .privacy (pseudonymity),
# .tables (writing).

rule intake:
    input:
        raw=raw_inputs,
        code=package("config", "intake", "survey", "privacy", "tables", "runner"),
    output:
        responses=f"{DERIVED}/responses.csv",
        codings=f"{DERIVED}/codings.csv",
        adjudication=f"{DERIVED}/adjudication.csv",
        coverage=f"{DERIVED}/coverage.csv",
    params:
        cohort=cohort,
        timepoints=STUDY["timepoints"],
        questions=STUDY["questions"],
        survey=lambda wildcards: config["cohorts"][wildcards.cohort].get("survey"),
    log:
        f"{LOGS}/intake.log",
    conda:
        ENV
    script:
        "../scripts/intake.py"
