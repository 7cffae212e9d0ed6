# Coding: the consensus worksheet, the consensus codes and inter-coder agreement.
# Package: alliance_pipeline.consensus, .agreement, .privacy.

rule disagreements:
    input:
        responses=f"{DERIVED}/responses.csv",
        codings=f"{DERIVED}/codings.csv",
        adjudication=f"{DERIVED}/adjudication.csv",
        code=package("consensus", "privacy", "tables", "runner"),
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
        code=package("consensus", "tables", "runner"),
    output:
        final_codes=f"{DERIVED}/final_codes.csv",
    params:
        cohort=cohort,
        questions=STUDY["questions"],
    log:
        f"{LOGS}/consensus.log",
    conda:
        ENV
    script:
        "../scripts/consensus.py"


rule agreement:
    input:
        codings=f"{DERIVED}/codings.csv",
        code=package("agreement", "tables", "runner"),
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
