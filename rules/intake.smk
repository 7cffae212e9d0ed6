# Intake: read and check one cohort's raw files; write normalised UTF-8 tables.
# Package: alliance_pipeline.intake.cohort (finds the files, runs the stages, CohortTables)
# and its stages: read/ (bytes to cells: decoding, CSV, .xlsx, export layouts), checks/
# (responses, codes, characters, personal data), sources/ (cells to rows: responses.csv, form
# exports, coder files, filled workbooks); log_lines (the step's log). Every module a rule
# runs: alliance_pipeline.rule_modules.

rule intake:
    input:
        raw=raw_inputs,
        code=package(*RULE_MODULES["intake"]),
    output:
        responses=f"{DERIVED}/responses.csv",
        codings=f"{DERIVED}/codings.csv",
        adjudication=f"{DERIVED}/adjudication.csv",
        coverage=f"{DERIVED}/coverage.csv",
        coder_files=f"{DERIVED}/coder_files.csv",
    params:
        cohort=cohort,
        coding=coding,
        timepoints=STUDY["timepoints"],
        questions=STUDY["questions"],
        survey=lambda wildcards: config["cohorts"][wildcards.cohort].get("survey"),
        require_coders=lambda wildcards: wildcards.cohort not in WAITING,
    log:
        f"{LOGS}/intake.log",
    conda:
        ENV
    script:
        "../scripts/intake.py"
