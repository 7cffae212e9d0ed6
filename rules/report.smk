# Figures and the report of one cohort.
# Package: alliance_pipeline.report (beside this file's name): figures/cohort_figures (PNG +
# SVG; style and saving in figures/style, one figures/<family> module per kind of figure),
# cohort_report (text fragments from the tables, one sections/<section> module each),
# render/renderer (Quarto in render/quarto, or the Pandoc + Typst fallback in render/markdown
# and render/fallback; shared metadata in render/metadata), manifest (what the report was
# made from and its numbers, embedded in HTML and PDF); common.provenance (hashes, versions,
# commit). Every module a rule runs: alliance_pipeline.rule_modules.
# report.languages (LANGUAGES, the Snakefile): the first language's report is report.html/.pdf
# with its figures in figures/, each other's report.<lang>.html/.pdf with figures/<lang>/
# (report/language: the message catalogue).
from alliance_pipeline.common.outputs import figure_stems, language_subfolder, report_stem


# per language, its figures (the first language's in figures/, each other's in figures/<lang>/)
FIGURES_OF = {language: [Path(DERIVED, "figures", language_subfolder(language, LANGUAGES),
                              f"{stem}.{ext}").as_posix()
                         for stem in figure_stems(STUDY["questions"]) for ext in ("png", "svg")]
              for language in LANGUAGES}
FIGURES = [f for language in LANGUAGES for f in FIGURES_OF[language]]
# the message catalogues the reports' languages need (English is the messages themselves)
CATALOGUES = [str(SRC / "alliance_pipeline/report/locale" / language / "LC_MESSAGES/alliance_pipeline.po")
              for language in LANGUAGES if language != "en"]
TRANSLATED_REPORTS = [f"reports/{{cohort}}/{report_stem(language, LANGUAGES)}.{ext}"
                      for language in LANGUAGES[1:] for ext in ("html", "pdf")]


rule figures:
    localrule: True  # reads a few small summary tables: not worth a cluster job
    input:
        agreement=f"{DERIVED}/agreement.csv",
        proportions=f"{DERIVED}/proportions.csv",
        tests=f"{DERIVED}/tests.csv",
        flow=f"{DERIVED}/flow.csv",
        catalogues=CATALOGUES,
        code=package(*RULE_MODULES["figures"]),
    output:
        # the Snakemake report (snakemake --report) shows the first language's figures
        figures=[report(f, caption="captions/figures.rst", category="Figures", subcategory="{cohort}")
                 if f.endswith(".png") and f in FIGURES_OF[LANGUAGES[0]] else f for f in FIGURES],
    params:
        cohort=cohort,
        study=DESIGN,
        languages=LANGUAGES,
    log:
        f"{LOGS}/figures.log",
    conda:
        ENV
    script:
        "../scripts/figures.py"


# models.csv (the difference of changes, #22) is written by the change step. Until every
# checkout's change step writes it, a report is rendered without it when no rule makes it and
# the file is absent, and its section says so; once the change step writes it (merge of #22),
# this condition is always true and can go.
# The derived tables a cohort's report is written from (and its manifest lists).
REPORT_TABLES = [f"{DERIVED}/{name}.csv" for name in
                 ("agreement", "proportions", "tests", "power", "final_codes", "flow", "models")]


rule render_report:
    input:
        tables=REPORT_TABLES,
        responses=f"{DERIVED}/responses.csv",
        coder_files=f"{DERIVED}/coder_files.csv",
        figures=FIGURES,
        raw=raw_inputs,
        source=workflow.source_path("../reports/report.qmd"),
        project=workflow.source_path("../reports/_quarto.yml"),
        lock=workflow.source_path("../requirements.lock"),
        codebook=config["codebook"],
        code=package(*RULE_MODULES["render_report"]),
        catalogues=CATALOGUES,
    output:
        html=report("reports/{cohort}/report.html", caption="captions/report.rst", category="Report"),
        pdf="reports/{cohort}/report.pdf",
        manifest="reports/{cohort}/manifest.json",
        translated=TRANSLATED_REPORTS,
    params:
        cohort=cohort,
        study=DESIGN,
        config=cohort_config,
        languages=LANGUAGES,
    log:
        f"{LOGS}/report.log",
    conda:
        ENV
    script:
        "../scripts/report.py"
