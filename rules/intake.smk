# Intake: read and check one cohort's raw files; write normalised UTF-8 tables.
# Package: alliance_pipeline.intake.cohort (assembles the tables) with .problems, .decoding,
# .csv_parser, .csv_fast, .responses and .codes (the checks), .log_lines (the log), .survey, .export_file,
# .export_layout and .long_export (form exports), .xlsx (any .xlsx handed in), .workbooks,
# .workbook_layout, .sheet_edits and .blinding (filled coding workbooks), .characters
# (full-width ids and ticks), .personal_data and .privacy (masked messages, pseudonymity),
# .tables (writing), .provenance (hashing coder files to spot a copied one).

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
