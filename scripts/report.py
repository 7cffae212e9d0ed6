"""Snakemake adapter: rule render_report -> alliance_pipeline.report + .render."""
import tempfile
from pathlib import Path

from alliance_pipeline import manifest, provenance, render, report
from alliance_pipeline.privacy import withhold_identifying
from alliance_pipeline.runner import checkout, run
from alliance_pipeline.tables import read_table


def step(smk, log):
    cohort, study = smk.params.cohort, smk.params.study
    derived = Path(smk.input.responses).parent                 # data/derived/<cohort>
    figures_dir = Path(smk.input.figures[0]).parent            # data/derived/<cohort>/figures
    prov = provenance.collect_provenance(
        raw_files=provenance.hash_files(smk.input.raw),
        config=dict(smk.params.config), codebook_version=study["codebook_version"],
        lock_file=smk.input.lock, repo_dir=checkout(smk),
        command=f"make run   (or: snakemake --cores all {smk.output.html} {smk.output.pdf})")
    # quotes the config allows; a text with an e-mail or phone number stays withheld unless allowed
    responses = withhold_identifying(read_table(smk.input.responses),
                                     allow=cohort["privacy"]["allow_identifying_text"])
    quotes = report.select_quotes(responses, cohort["report"]["quotes"])
    # coded blind when every coder file is a blinded workbook the pipeline generated (intake)
    cohort = {**cohort, "coders_blind": report.coded_blind(read_table(smk.input.coder_files))}
    tables = report.load_tables(derived)
    files = [*smk.input.tables, smk.input.responses, smk.input.coder_files]
    hashes = dict(provenance.hash_files(files))
    contents = manifest.build_manifest(
        report="cohort", cohorts=[cohort["cohort"]], provenance=prov, config=smk.params.config,
        codebook=(smk.input.codebook, provenance.sha256_file(smk.input.codebook)),
        lock=("requirements.lock", provenance.sha256_file(smk.input.lock)),
        tables=[manifest.table_entry(Path(f).stem, f, hashes[Path(f).as_posix()], tables.get(Path(f).stem))
                for f in files])
    with tempfile.TemporaryDirectory() as scratch:
        fragments = Path(scratch) / "fragments"
        report.write_fragments(tables, study=study, cohort=cohort,
                               provenance=prov, out_dir=fragments, quotes=quotes,
                               figures_dir=figures_dir)
        renderer = render.render_report(Path(smk.input.source), fragments, Path(smk.output.html),
                                        Path(smk.output.pdf), figures_dir=figures_dir,
                                        work_dir=Path(scratch) / "work", manifest=contents,
                                        out_manifest=Path(smk.output.manifest))
    log.info("%s", renderer)


run(snakemake, step)  # noqa: F821
