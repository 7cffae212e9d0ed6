"""Rerunning in a temporary folder what a report was written from: this checkout's workflow
on the raw files here (:func:`rerun_from_raw`), or the change step alone from a
``final_codes.csv`` (:func:`rerun_change`, :func:`alliance_pipeline.change.cohort_tables.change_tables`).
The data directory is only read."""
from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from alliance_pipeline.change.cohort_tables import change_tables
from alliance_pipeline.common.tables import read_table, write_table
from alliance_pipeline.config.load import ConfigError, read_codebook
from alliance_pipeline.config.settings import cohort_settings, study_settings
from alliance_pipeline.report import manifest as manifests


class RerunFailed(Exception):
    """A rerun could not produce the tables; the message says why (its first line is the
    verdict, the rest the workflow's last lines)."""


def _codebook(config: Mapping, data_dir: Path) -> Path:
    path = data_dir / config["codebook"]
    if not path.is_file():
        raise RerunFailed(f"the codebook {config['codebook']} is not here")
    return path


def rerun_from_raw(manifest: Mapping, config: Mapping, data_dir: Path, checkout: Path,
                   scratch: Path) -> Path:
    """Run this checkout's workflow for the manifest's tables in ``scratch``; the folder it
    wrote them to. Raises :class:`RerunFailed` when the codebook is missing or the run fails."""
    codebook = _codebook(config, data_dir)
    config = dict(manifests.plain(config))
    work = scratch / "rerun"
    (work / "config").mkdir(parents=True)
    shutil.copyfile(codebook, work / "config" / "codebook.yaml")
    config["codebook"] = "config/codebook.yaml"
    for name in manifest["cohorts"]:
        source = data_dir / config["cohorts"][name]["raw"]
        shutil.copytree(source, work / "data" / "raw" / name)
        config["cohorts"][name]["raw"] = f"data/raw/{name}"
    (work / "config" / "config.yaml").write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    targets = [t["file"] for t in manifest["tables"]]
    # this interpreter's Snakemake, without the path of a venv's bin/ (Scripts\ on Windows)
    done = subprocess.run([sys.executable, "-m", "snakemake", *targets, "-s", str(checkout / "Snakefile"), "-d", str(work),
                           "--cores", "1", "--quiet", "all"], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        raise RerunFailed(f"the workflow failed on the raw files here:\n{tail}")
    return work


def rerun_change(manifest: Mapping, final_codes: Path, config: Mapping, data_dir: Path,
                 scratch: Path) -> Path:
    """The change step from ``final_codes`` alone, tables written as the workflow writes them;
    the folder. Raises :class:`RerunFailed` when the codebook is missing or the step fails."""
    codebook_path = _codebook(config, data_dir)
    try:
        codebook = read_codebook(codebook_path, "the report's config")
        config = dict(manifests.plain(config))
        study = study_settings(config, codebook)
        cohort = manifest["cohorts"][0]
        tables = change_tables(read_table(final_codes), cohort=cohort_settings(config, cohort),
                               questions=study["questions"], timepoints=study["timepoints"],
                               contrasts=study["contrasts"], compare=study["compare"])
    except (ConfigError, ValueError, KeyError) as err:
        raise RerunFailed(f"the change step failed on {final_codes}: {err}") from err
    work = scratch / "change"
    for entry in manifest["tables"]:
        if entry["table"] in tables:
            write_table(tables[entry["table"]], work / entry["file"])
    return work
