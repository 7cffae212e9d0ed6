"""Snakemake adapter: rule render_report -> alliance_pipeline.report.cohort_report.render_cohort_report,
once per language of report.languages (the first writes report.html/.pdf and the manifest)."""
from pathlib import Path

from alliance_pipeline.common.outputs import language_subfolder, report_stem
from alliance_pipeline.common.runner import checkout, run
from alliance_pipeline.report.cohort_report import render_cohort_report


def step(smk, log):
    i, languages = smk.input, smk.params.languages
    folder, figures = Path(smk.output.html).parent, Path(i.figures[0]).parent
    for language in languages:
        first = language == languages[0]
        stem = report_stem(language, languages)
        renderer = render_cohort_report(
            source=i.source, responses=i.responses, figures_dir=figures / language_subfolder(language, languages),
            tables=i.tables, coder_files=i.coder_files, raw=i.raw, codebook=i.codebook, lock=i.lock,
            study=smk.params.study, cohort=smk.params.cohort, config=smk.params.config,
            repo_dir=checkout(smk), html=str(folder / f"{stem}.html"), pdf=str(folder / f"{stem}.pdf"),
            out_manifest=smk.output.manifest if first else None, language=language)
        log.info("%s: %s", language, renderer)


run(snakemake, step)  # noqa: F821
