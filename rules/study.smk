# The study across cohorts (reports/study/, built when two or more cohorts are configured):
# pooled tables, a forest figure per repeated question and the cross-cohort report.
# Package: alliance_pipeline.study: pooling (statistics), difference (the difference of changes
# pooled, and its section), figures (forest figure), fragments (the report's tables and
# text), report (rendering, with the cohort reports' renderer). Every module a rule runs:
# alliance_pipeline.rule_modules.
#
# Study tables live in reports/study/tables/, not under data/derived/: every folder there is a
# cohort (the data contract; ../shared/tools/check-contract checks each as one).
from alliance_pipeline.common.outputs import language_subfolder, report_stem, study_figure_stems

if "study" in COHORTS:
    raise study_config.ConfigError("config cohorts", [
        "cohorts.study: the name `study` is reserved for the cross-cohort report "
        "(reports/study/); rename the cohort"])

STUDY_DIR = "reports/study"
STUDY_TABLES = {name: f"{STUDY_DIR}/tables/{name}.csv" for name in ("pooled", "cohorts", "differences")}
# Every cohort's models.csv (the difference of changes, #22).
STUDY_MODELS = expand(f"{DERIVED}/models.csv", cohort=COHORTS)
# report.languages: the first language's figures in figures/, each other's in figures/<lang>/
STUDY_FIGURES = [Path(STUDY_DIR, "figures", language_subfolder(language, LANGUAGES), f"{stem}.{ext}").as_posix()
                 for language in LANGUAGES
                 for stem in study_figure_stems(STUDY["questions"]) for ext in ("png", "svg")]
STUDY_REPORT = [f"{STUDY_DIR}/report.html", f"{STUDY_DIR}/report.pdf"]
STUDY_TRANSLATED = [f"{STUDY_DIR}/{report_stem(language, LANGUAGES)}.{ext}"
                    for language in LANGUAGES[1:] for ext in ("html", "pdf")]


# Light (small aggregated tables in, seconds): kept on the submit host under a cluster profile.
rule study_tables:
    localrule: True
    input:
        tests=expand(f"{DERIVED}/tests.csv", cohort=COHORTS),
        models=STUDY_MODELS,
        code=package(*RULE_MODULES["study_tables"]),
    output:
        pooled=STUDY_TABLES["pooled"],
        cohorts=STUDY_TABLES["cohorts"],
        differences=STUDY_TABLES["differences"],
    params:
        cohorts=COHORTS,
        analysis=config["analysis"],
        compare=STUDY["compare"],
        confidences={name: settings.cohort_settings(config, name)["analysis"]["confidence"]
                     for name in COHORTS},
    log:
        "logs/study/tables.log",
    conda:
        ENV
    script:
        "../scripts/study_tables.py"


rule study_figures:
    localrule: True
    input:
        pooled=STUDY_TABLES["pooled"],
        cohorts=STUDY_TABLES["cohorts"],
        catalogues=CATALOGUES,
        code=package(*RULE_MODULES["study_figures"]),
    output:
        figures=STUDY_FIGURES,
    params:
        languages=LANGUAGES,
        cohorts=COHORTS,
        study=STUDY,
        analysis=config["analysis"],
        figures_dir=lambda wildcards, output: str(Path(output.figures[0]).parent),
    log:
        "logs/study/figures.log",
    conda:
        ENV
    script:
        "../scripts/study_figures.py"


rule study_report:
    input:
        pooled=STUDY_TABLES["pooled"],
        cohort_rows=STUDY_TABLES["cohorts"],
        differences=STUDY_TABLES["differences"],
        figures=STUDY_FIGURES,
        models=STUDY_MODELS,
        proportions=expand(f"{DERIVED}/proportions.csv", cohort=COHORTS),
        tests=expand(f"{DERIVED}/tests.csv", cohort=COHORTS),
        agreement=expand(f"{DERIVED}/agreement.csv", cohort=COHORTS),
        flow=expand(f"{DERIVED}/flow.csv", cohort=COHORTS),
        raw=[f for name in COHORTS for f in cohort_files.raw_files(config["cohorts"][name])],
        source=workflow.source_path("../reports/study.qmd"),
        project=workflow.source_path("../reports/_quarto.yml"),
        lock=workflow.source_path("../requirements.lock"),
        codebook=config["codebook"],
        catalogues=CATALOGUES,
        code=package(*RULE_MODULES["study_report"]),
    output:
        html=STUDY_REPORT[0],
        pdf=STUDY_REPORT[1],
        manifest=f"{STUDY_DIR}/manifest.json",
        translated=STUDY_TRANSLATED,
    params:
        languages=LANGUAGES,
        settings={name: settings.cohort_settings(config, name) for name in COHORTS},  # in order
        study=STUDY,
        analysis=config["analysis"],
        config=config,
        figures_dir=lambda wildcards, input: str(Path(input.figures[0]).parent),
    log:
        "logs/study/report.log",
    conda:
        ENV
    script:
        "../scripts/study_report.py"
