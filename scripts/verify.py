"""Snakemake adapter: rule verify -> alliance_pipeline.verify.check.verify, one report after another."""
from alliance_pipeline.common.runner import run
from alliance_pipeline.verify.check import verify


def step(smk, log):
    failed = []
    for report in smk.params.reports:
        def echo(line):
            print(line, flush=True)
            log.info("%s", line)
        if verify(report, final_codes=smk.params.final_codes, echo=echo) != 0:
            failed.append(report)
    if failed:
        raise ValueError(f"not verified: {', '.join(failed)} (the FAIL lines above say what differs)")


run(snakemake, step)  # noqa: F821
