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
        code=package("config", "cohort_files", "intake.cohort", "intake.problems", "intake.decoding",
                     "intake.csv_parser", "intake.csv_fast", "intake.responses", "intake.codes",
                     "intake.table_order", "intake.log_lines",
                     "intake.survey", "intake.export_file", "intake.export_layout",
                     "intake.long_export", "intake.xlsx", "intake.workbooks", "intake.workbook_layout",
                     "intake.characters", "intake.personal_data", "intake.sheet_edits",
                     "blinding", "privacy", "tables",
                     "provenance", "runner"),
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
