# Figures and the report of one cohort.
# Package: alliance_pipeline.figures (PNG + SVG), .report (text fragments from the tables),
# .render (Quarto, or the Pandoc + Typst fallback), .provenance (hashes, versions, commit).
from alliance_pipeline.figures import figure_stems

FIGURES = [f"{DERIVED}/figures/{stem}.{ext}" for stem in figure_stems(STUDY["questions"])
           for ext in ("png", "svg")]


rule figures:
    input:
        agreement=f"{DERIVED}/agreement.csv",
        proportions=f"{DERIVED}/proportions.csv",
        tests=f"{DERIVED}/tests.csv",
        flow=f"{DERIVED}/flow.csv",
        code=package("figures", "tables", "runner"),
    output:
        figures=FIGURES,
    params:
        cohort=cohort,
        study=STUDY,
        figures_dir=f"{DERIVED}/figures",
    log:
        f"{LOGS}/figures.log",
    conda:
        ENV
    script:
        "../scripts/figures.py"
