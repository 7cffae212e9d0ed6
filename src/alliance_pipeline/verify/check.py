"""A reviewer's check of a report against a rerun, from the manifest the report carries.

``python -m alliance_pipeline.verify REPORT [--final-codes FILE] [--data-dir DIR]``
(``make verify REPORT=...``; ``snakemake verify``) reads the manifest inside ``REPORT``
(report.html, report.pdf or manifest.json; see :mod:`alliance_pipeline.report.manifest`) and checks,
level by level, printing one line per check and a verdict:

- **code**: this checkout's commit and requirements.lock against the manifest's. A different
  commit is a warning (with the number of files that differ), a different lock a failure.
- **inputs**: the raw files, the effective config and the codebook found in the data directory
  (``DIR``, default the current one) against their SHA-256. A raw file that is not here is
  "not available", not a failure.
- **tables**: with every raw file here, the workflow of this checkout reruns in a temporary
  copy (config, codebook and raw files copied; the data directory's ``data/`` is never
  written) and every derived table the report was written from is compared; with only
  ``final_codes.csv`` (``--final-codes``), the change step (:func:`alliance_pipeline.change.cohort_tables.
  change_tables`) reruns from it, and agreement and intake are not re-checked. Numbers agree
  when equal, or within :data:`~alliance_pipeline.verify.compare.REL_TOL` relative for
  floating point; each number that differs is named with both values.

Exit status 0 only when every available level agrees; 1 when a check failed; 2 for a report
without a manifest or a bad command line.

This module holds the whole check (:func:`verify`), its verdict and the command line; the
parts are in :mod:`.report_file` (reading the manifest out of a report), :mod:`.levels` (the
code, inputs and tables levels), :mod:`.rerun` (rerunning the workflow or the change step)
and :mod:`.compare` (comparing numbers and configs).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from alliance_pipeline.verify.levels import (
    Check,
    check_code,
    check_inputs,
    check_tables,
    local_config,
)
from alliance_pipeline.verify.report_file import VerifyError, read_manifest

CHECKOUT = Path(__file__).resolve().parents[3]  # src/alliance_pipeline/verify/check.py


def verify(report: str | os.PathLike, *, data_dir: str | os.PathLike = ".",
           final_codes: str | os.PathLike | None = None, checkout: str | os.PathLike = CHECKOUT,
           echo: Callable[[str], None] = print) -> int:
    """Check ``report`` level by level, ``echo`` each line and the verdict; the exit status."""
    data_dir, checkout = Path(data_dir), Path(checkout)
    try:
        manifest = read_manifest(report)
    except VerifyError as err:
        echo(f"ERROR {err}")
        return 2
    code = manifest["code"]
    echo(f"report  {report}: {manifest['report']} report of {', '.join(manifest['cohorts'])}, "
         f"{manifest['date']}, {manifest['renderer']}; commit {code['commit'][:12]}"
         + (" (uncommitted changes)" if code["dirty"] else ""))
    config, why = local_config(manifest, data_dir)
    checks = check_code(manifest, checkout)
    checks += check_inputs(manifest, data_dir, config, why)
    checks += check_tables(manifest, data_dir, config, checkout,
                           Path(final_codes) if final_codes is not None else None)
    for check in checks:
        for line in check.lines():
            echo(line)
    return verdict(checks, echo)


def verdict(checks: Iterable[Check], echo: Callable[[str], None] = print) -> int:
    """Print the verdict line; 0 when no check failed and the tables were checked."""
    checks = list(checks)
    failed = sorted({c.level for c in checks if c.status == "FAIL"}, key=["code", "inputs", "tables"].index)
    tables_ok = any(c.level == "tables" and c.status == "ok" for c in checks)
    unavailable = sorted({c.level for c in checks if c.status in ("not available", "not checked")})
    if failed:
        n = sum(c.status == "FAIL" for c in checks)
        echo(f"verdict NOT VERIFIED: {n} check(s) failed ({', '.join(failed)}); see the FAIL lines")
        return 1
    partly = f"; not everything was available ({', '.join(unavailable)})" if unavailable else ""
    if not tables_ok:
        echo(f"verdict NOT VERIFIED: no table could be rerun here{partly}")
        return 1
    warned = sum(c.status == "warning" for c in checks)
    echo(f"verdict VERIFIED: every available level agrees{partly}"
         + (f"; {warned} warning(s)" if warned else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m alliance_pipeline.verify",
        description="Check a report against a rerun, from the manifest it carries.")
    parser.add_argument("report", help="report.html, report.pdf or manifest.json")
    parser.add_argument("--final-codes", metavar="FILE",
                        help="final_codes.csv: recheck the change numbers from it (no raw files needed)")
    parser.add_argument("--data-dir", metavar="DIR", default=".",
                        help="folder holding config/ and data/raw/ (default: the current folder)")
    args = parser.parse_args(argv)
    return verify(args.report, data_dir=args.data_dir, final_codes=args.final_codes)


if __name__ == "__main__":
    sys.exit(main())
