# Coding: the blinded coding workbooks, the consensus worksheet and adjudication workbook,
# the consensus codes and inter-coder agreement.
# Package: alliance_pipeline.coding: sheets (the workbooks, with common.workbook_layout and
# common.blinding), consensus, agreement (with reliability_data, coefficients,
# krippendorff_alpha). Every module a rule runs: alliance_pipeline.rule_modules.

# Cohorts that list coders get one blinded workbook per coder (paths: alliance_pipeline.app.status).
CODING_SHEETS = [status.coding_sheet(name, coder) for name in COHORTS
                 for coder in config["cohorts"][name].get("coders", [])]

wildcard_constraints:
    coder="[A-Za-z0-9][A-Za-z0-9_-]*",


# `snakemake coding_sheets` (make coding-sheets): every coder's workbook, from the responses
# alone, before any code file exists.
rule coding_sheets:
    localrule: True
    input:
        CODING_SHEETS,


rule coding_sheet:
    input:
        responses=lambda wildcards: cohort_files.response_files(config["cohorts"][wildcards.cohort]),
        code=package(*RULE_MODULES["coding_sheet"]),
    output:
        workbook=f"{DERIVED}/coding_sheets/{{coder}}.xlsx",
    params:
        cohort=cohort,
        coding=coding,
        survey=lambda wildcards: config["cohorts"][wildcards.cohort].get("survey"),
        timepoints=STUDY["timepoints"],
        questions=STUDY["questions"],
    log:
        f"{LOGS}/coding_sheet_{{coder}}.log",
    conda:
        ENV
    script:
        "../scripts/coding_sheet.py"


rule adjudication_sheet:
    input:
        responses=f"{DERIVED}/responses.csv",
        worksheet=f"{DERIVED}/disagreements.csv",
        code=package(*RULE_MODULES["adjudication_sheet"]),
    output:
        workbook=f"{DERIVED}/adjudication_sheet.xlsx",
    params:
        cohort=cohort,
        coding=coding,
        questions=STUDY["questions"],
    log:
        f"{LOGS}/adjudication_sheet.log",
    conda:
        ENV
    script:
        "../scripts/adjudication_sheet.py"

rule disagreements:
    input:
        responses=f"{DERIVED}/responses.csv",
        codings=f"{DERIVED}/codings.csv",
        adjudication=f"{DERIVED}/adjudication.csv",
        code=package(*RULE_MODULES["disagreements"]),
    output:
        worksheet=f"{DERIVED}/disagreements.csv",
    params:
        cohort=cohort,
    log:
        f"{LOGS}/disagreements.log",
    conda:
        ENV
    script:
        "../scripts/disagreements.py"


rule consensus:
    input:
        responses=f"{DERIVED}/responses.csv",
        codings=f"{DERIVED}/codings.csv",
        adjudication=f"{DERIVED}/adjudication.csv",
        worksheet=f"{DERIVED}/disagreements.csv",
        code=package(*RULE_MODULES["consensus"]),
    output:
        final_codes=f"{DERIVED}/final_codes.csv",
    params:
        cohort=cohort,
        questions=STUDY["questions"],
        # named in the message when disagreements are not settled yet
        adjudication_sheet=lambda wildcards: status.adjudication_sheet(
            wildcards.cohort, config["cohorts"][wildcards.cohort]),
    log:
        f"{LOGS}/consensus.log",
    conda:
        ENV
    script:
        "../scripts/consensus.py"


rule agreement:
    input:
        codings=f"{DERIVED}/codings.csv",
        code=package(*RULE_MODULES["agreement"]),
    output:
        agreement=f"{DERIVED}/agreement.csv",
    params:
        cohort=cohort,
        questions=STUDY["questions"],
    log:
        f"{LOGS}/agreement.log",
    conda:
        ENV
    script:
        "../scripts/agreement.py"
