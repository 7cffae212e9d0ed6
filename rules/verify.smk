# A reviewer's check of the reports against a rerun, run only when asked for (docs/reviewers.md;
# alliance verify): the manifest each report carries is checked level by level (code, inputs,
# tables) against this checkout, the inputs here and a rerun in a temporary folder.
#   snakemake verify --cores 1              every cohort's report here (and the study report)
#   snakemake verify --cores 1 --config verify_report=reports/pilot/report.html \
#       verify_final_codes=path/to/final_codes.csv
# Package: alliance_pipeline.verify: check (the whole check), levels, rerun, compare,
# report_file; report.manifest, change.cohort_tables (the change-step rerun). Every module a
# rule runs: alliance_pipeline.rule_modules.

rule verify:
    localrule: True
    input:
        code=package(*RULE_MODULES["verify"]),
    params:
        reports=[VERIFY["verify_report"]] if "verify_report" in VERIFY else
                expand("reports/{cohort}/report.html", cohort=COHORTS) + STUDY_REPORT[:1 if len(COHORTS) >= 2 else 0],
        final_codes=VERIFY.get("verify_final_codes"),
    log:
        "logs/verify.log",
    conda:
        ENV
    script:
        "../scripts/verify.py"
