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
  when equal, or within :data:`REL_TOL` relative for floating point; each number that differs
  is named with both values.

Exit status 0 only when every available level agrees; 1 when a check failed; 2 for a report
without a manifest or a bad command line.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import yaml

from alliance_pipeline.report import manifest as manifests
from alliance_pipeline import provenance
from alliance_pipeline.config import ConfigError, load_study, read_codebook
from alliance_pipeline.settings import cohort_config, cohort_settings, study_settings

CHECKOUT = Path(__file__).resolve().parents[3]  # src/alliance_pipeline/verify/check.py
REL_TOL = 1e-12
SHOWN = 20  # config values and package versions listed (the count says how many differ)
CHANGE_TABLES = ("proportions", "tests", "power", "flow")


class VerifyError(Exception):
    """A report that cannot be verified at all (no manifest, unreadable file)."""


@dataclass
class Check:
    """One line of the output: a level (code, inputs, tables), a status and what was found."""

    level: str
    status: str  # ok | warning | FAIL | not available | not checked
    message: str
    details: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{self.level:<7} {self.status:<13} {self.message}"] + [f"{'':<22}{d}" for d in self.details]


# ---------------------------------------------------------------- reading the manifest

def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a report (.html, .pdf) or a manifest.json."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise VerifyError(f"{path}: cannot read the report ({err.strerror})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            found = json.loads(data.decode("utf-8"))
        elif suffix == ".pdf":
            found = manifests.read_pdf(data)
        else:
            found = manifests.read_html(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise VerifyError(f"{path}: its manifest is not readable JSON ({err})") from None
    except Exception as err:  # pypdf's errors for a damaged PDF
        raise VerifyError(f"{path}: cannot read it as a PDF ({err})") from None
    if found is None:
        raise VerifyError(f"{path}: no manifest inside; reports rendered before manifests were "
                          "added carry none: ask the authors for a report from a current run")
    problems = manifests.problems(found)
    if problems:
        raise VerifyError(f"{path}: its manifest does not match schemas/manifest.schema.yaml: "
                          + "; ".join(problems[:5]))
    return found


# ---------------------------------------------------------------- pure comparisons

def _same(a, b, rel_tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    a, b = float(a), float(b)
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rel_tol * max(abs(a), abs(b))


def compare_numbers(expected: Mapping, actual: Mapping, rel_tol: float = REL_TOL) -> list[str]:
    """Every number of ``expected`` (the report's) that ``actual`` (the rerun's) does not
    reproduce, as ``row column: report X, rerun Y``; rows only one side has are named too."""
    out = []
    for label, row in expected.items():
        if label not in actual:
            out.append(f"{label}: in the report, not in the rerun")
            continue
        other = actual[label]
        for column, value in row.items():
            if column not in other:
                out.append(f"{label} {column}: report {value!r}, not in the rerun")
            elif not _same(value, other[column], rel_tol):
                out.append(f"{label} {column}: report {value!r}, rerun {other[column]!r}")
        out.extend(f"{label} {column}: not in the report, rerun {other[column]!r}"
                   for column in other if column not in row)
    out.extend(f"{label}: not in the report, in the rerun" for label in actual if label not in expected)
    return out


def config_differences(report: object, here: object, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configs, with both values."""
    if isinstance(report, Mapping) and isinstance(here, Mapping):
        out = []
        for key in list(report) + [k for k in here if k not in report]:
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in here:
                out.append(f"{name}: report {report[key]!r}, not set here")
            elif key not in report:
                out.append(f"{name}: not in the report's config, here {here[key]!r}")
            else:
                out.extend(config_differences(report[key], here[key], name))
        return out
    return [] if report == here else [f"{prefix}: report {report!r}, here {here!r}"]


def _short(sha: str) -> str:
    return sha[:12]


# ---------------------------------------------------------------- levels

def check_code(manifest: Mapping, checkout: Path) -> list[Check]:
    """The checkout's commit (a difference is a warning) and lock (a difference fails)."""
    code = manifest["code"]
    checks = []
    commit, dirty = provenance.git_state(checkout)
    theirs = code["commit"]
    if theirs == "unknown":
        checks.append(Check("code", "warning", "the report does not record its commit (it was made "
                                               "outside a git checkout); the tables level still checks the code"))
    elif commit == "unknown":
        checks.append(Check("code", "warning", f"the report was made from commit {theirs[:12]}; this "
                                               "checkout has no git history to compare it with"))
    elif commit == theirs and not dirty:
        checks.append(Check("code", "ok", f"commit {theirs[:12]} is this checkout's commit"))
    else:
        changed = provenance.files_changed_since(checkout, theirs)
        if changed is None:
            what = "it is not in this checkout's history (git fetch it to count the files that differ)"
        else:
            what = f"{len(changed)} file(s) differ from it here" + (
                f": {', '.join(changed[:8])}{', …' if len(changed) > 8 else ''}" if changed else "")
        here = f"this checkout is {commit[:12]}" + (" with uncommitted changes" if dirty else "")
        checks.append(Check("code", "warning", f"the report was made from commit {theirs[:12]}, "
                                               f"{here}; {what}"))
    if code["dirty"]:
        checks.append(Check("code", "warning", "the report was made from a checkout with uncommitted "
                                               "changes: its commit alone does not pin its code"))
    lock = checkout / "requirements.lock"
    if not lock.is_file():
        checks.append(Check("code", "FAIL", f"{lock} is missing"))
    elif provenance.sha256_file(lock) == code["lock"]["sha256"]:
        checks.append(Check("code", "ok", "requirements.lock is the report's"))
    else:
        ours = dict(provenance.read_lock(lock))
        theirs_pkgs = code["packages"]
        names = sorted(set(ours) | set(theirs_pkgs))
        diffs = [f"{n}: report {theirs_pkgs.get(n, 'absent')}, here {ours.get(n, 'absent')}"
                 for n in names if ours.get(n) != theirs_pkgs.get(n)]
        checks.append(Check("code", "FAIL", "requirements.lock differs from the report's"
                            + (f" ({len(diffs)} package version(s))" if diffs else " (same versions, other hashes)"),
                            diffs[:SHOWN]))
    installed = installed_differences(code["packages"])
    if installed:
        checks.append(Check("code", "warning", f"{len(installed)} installed package version(s) differ "
                                               "from the report's lock (make verify installs the "
                                               "checkout's lock in .venv)", installed[:SHOWN]))
    return checks


def installed_differences(packages: Mapping[str, str]) -> list[str]:
    """``name: report X, installed Y`` for each pinned package installed in another version."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name, pinned in sorted(packages.items()):
        try:
            found = version(name)
        except PackageNotFoundError:
            continue  # optional extras (e.g. the SLURM plugin) need not be installed
        if found != pinned:
            out.append(f"{name}: report {pinned}, installed {found}")
    return out


def local_config(manifest: Mapping, data_dir: Path) -> tuple[dict | None, str | None]:
    """The effective config here, as the report's jobs would see it, or (None, why not)."""
    path = data_dir / "config" / "config.yaml"
    if not path.is_file():
        return None, f"{path} is not here"
    try:
        with contextlib.chdir(data_dir):
            config, _ = load_study("config/config.yaml")
    except (ConfigError, OSError) as err:
        return None, f"config here does not load: {err}"
    if manifest["report"] == "study":
        return config, None
    cohort = manifest["cohorts"][0]
    if cohort not in config["cohorts"]:
        return None, f"cohort {cohort} is not in {path}"
    return cohort_config(config, cohort), None


def check_file(file: str, sha256: str, data_dir: Path, what: str = "") -> Check:
    """One input file here against its SHA-256: ok, FAIL, or not available."""
    path, name = data_dir / file, f"{file}{what}"
    if not path.is_file():
        return Check("inputs", "not available", f"{name}: not here")
    here = provenance.sha256_file(path)
    if here == sha256:
        return Check("inputs", "ok", f"{name}: same SHA-256")
    return Check("inputs", "FAIL", f"{name}: differs (SHA-256 report {_short(sha256)}…, here {_short(here)}…)")


def check_inputs(manifest: Mapping, data_dir: Path, config: dict | None, why: str | None) -> list[Check]:
    """Raw files, effective config and codebook here against the manifest's hashes."""
    checks = [check_file(e["file"], e["sha256"], data_dir) for e in manifest["inputs"]["raw"]]
    expected = manifest["inputs"]["config"]
    if config is None:
        checks.append(Check("inputs", "not available", f"config: {why}; the rerun uses the report's "
                                                        "own effective config"))
    elif manifests.config_sha256(config) == expected["sha256"]:
        checks.append(Check("inputs", "ok", "config: the effective config here is the report's"))
    else:
        diffs = config_differences(expected["effective"], manifests.effective_config(config))
        checks.append(Check("inputs", "FAIL", f"config: the effective config here differs "
                                              f"({len(diffs)} value(s))", diffs[:SHOWN]))
    book = manifest["inputs"]["codebook"]
    checks.append(check_file(book["file"], book["sha256"], data_dir, f" (codebook {book['version']})"))
    return checks


def compare_table(entry: Mapping, path: Path, how: str) -> Check:
    """One derived table of the rerun (at ``path``) against its manifest entry."""
    from alliance_pipeline.tables import read_table

    name = entry["file"]
    if not path.is_file():
        return Check("tables", "FAIL", f"{name}: the rerun did not produce it")
    sha = provenance.sha256_file(path)
    if "numbers" not in entry:
        if sha == entry["sha256"]:
            return Check("tables", "ok", f"{name}: identical ({how})")
        return Check("tables", "FAIL", f"{name}: differs from the report's (SHA-256 report "
                                       f"{_short(entry['sha256'])}…, {how} {_short(sha)}…)")
    numbers = manifests.table_numbers(entry["table"], read_table(path))
    diffs = compare_numbers(entry["numbers"], numbers)
    count = sum(len(row) for row in entry["numbers"].values())
    if not diffs:
        same = "identical" if sha == entry["sha256"] else f"file bytes differ, numbers within {REL_TOL:g}"
        return Check("tables", "ok", f"{name}: all {count} numbers agree ({same}; {how})")
    return Check("tables", "FAIL", f"{name}: {len(diffs)} of {count} numbers differ ({how})",
                 [f"{entry['table']} {d}" for d in diffs])


def _codebook(config: Mapping, data_dir: Path) -> Path | None:
    path = data_dir / config["codebook"]
    return path if path.is_file() else None


def rerun_from_raw(manifest: Mapping, config: Mapping, data_dir: Path, checkout: Path,
                   scratch: Path) -> tuple[Path | None, str | None]:
    """Run this checkout's workflow for the manifest's tables in ``scratch``; (folder, error)."""
    codebook = _codebook(config, data_dir)
    if codebook is None:
        return None, f"the codebook {config['codebook']} is not here"
    config = manifests.plain(config)
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
    snakemake = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    targets = [t["file"] for t in manifest["tables"]]
    done = subprocess.run([snakemake, *targets, "-s", str(checkout / "Snakefile"), "-d", str(work),
                           "--cores", "1", "--quiet", "all"], capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-12:])
        return None, f"the workflow failed on the raw files here:\n{tail}"
    return work, None


def rerun_change(manifest: Mapping, final_codes: Path, config: Mapping, data_dir: Path,
                 scratch: Path) -> tuple[Path | None, str | None]:
    """The change step from ``final_codes`` alone, tables written as the workflow writes them."""
    from alliance_pipeline.change.cohort_tables import change_tables
    from alliance_pipeline.tables import read_table, write_table

    codebook_path = _codebook(config, data_dir)
    if codebook_path is None:
        return None, f"the codebook {config['codebook']} is not here"
    try:
        codebook = read_codebook(codebook_path, "the report's config")
        config = manifests.plain(config)
        study = study_settings(config, codebook)
        cohort = manifest["cohorts"][0]
        tables = change_tables(read_table(final_codes), cohort=cohort_settings(config, cohort),
                               questions=study["questions"], timepoints=study["timepoints"],
                               contrasts=study["contrasts"])
    except (ConfigError, ValueError, KeyError) as err:
        return None, f"the change step failed on {final_codes}: {err}"
    work = scratch / "change"
    for entry in manifest["tables"]:
        if entry["table"] in tables:
            write_table(tables[entry["table"]], work / entry["file"])
    return work, None


def check_tables(manifest: Mapping, data_dir: Path, config: dict | None, checkout: Path,
                 final_codes: Path | None) -> list[Check]:
    """Rerun what the inputs here allow and compare every table the report was written from."""
    config = config if config is not None else manifest["inputs"]["config"]["effective"]
    raw_here = [(data_dir / e["file"]).is_file() for e in manifest["inputs"]["raw"]]
    entries = manifest["tables"]
    with tempfile.TemporaryDirectory(prefix="verify-") as scratch:
        scratch = Path(scratch)
        if final_codes is not None:
            if manifest["report"] != "cohort":
                return [Check("tables", "not available", "--final-codes checks a cohort report; the study "
                                                         "report needs every cohort's raw files")]
            return _check_from_final_codes(manifest, entries, final_codes, config, data_dir, scratch,
                                           raw_here=all(raw_here))
        if not raw_here or not all(raw_here):
            return [Check("tables", "not available", f"{raw_here.count(False)} raw file(s) are not here; "
                                                     "ask for them, or for final_codes.csv (FINAL_CODES=...) "
                                                     "to recheck the change numbers")]
        work, error = rerun_from_raw(manifest, config, data_dir, checkout, scratch)
        if work is None:
            return [Check("tables", "FAIL", "rerun from the raw files: " + error.splitlines()[0],
                          error.splitlines()[1:])]
        return [compare_table(e, work / e["file"], "rerun from the raw files") for e in entries]


def _check_from_final_codes(manifest, entries, final_codes: Path, config, data_dir, scratch,
                            raw_here: bool) -> list[Check]:
    checks = []
    if not final_codes.is_file():
        return [Check("tables", "FAIL", f"{final_codes}: not found")]
    mine = [e for e in entries if e["table"] == "final_codes"]
    sha = provenance.sha256_file(final_codes)
    if mine and sha == mine[0]["sha256"]:
        checks.append(Check("tables", "ok", f"{final_codes}: the report's final_codes.csv (same SHA-256)"))
    elif mine:
        checks.append(Check("tables", "FAIL", f"{final_codes}: not the report's final_codes.csv "
                                              f"(SHA-256 report {_short(mine[0]['sha256'])}…, here {_short(sha)}…)"))
    work, error = rerun_change(manifest, final_codes, config, data_dir, scratch)
    if work is None:
        return checks + [Check("tables", "FAIL", error)]
    for entry in entries:
        if entry["table"] in CHANGE_TABLES:
            checks.append(compare_table(entry, work / entry["file"], "change step rerun from final codes"))
    skipped = [e["file"] for e in entries if e["table"] not in CHANGE_TABLES and e["table"] != "final_codes"]
    checks.append(Check("tables", "not checked",
                        "agreement and intake were not re-checked: only final_codes.csv was supplied"
                        + (" (the raw files are here too: omit --final-codes to rerun everything)" if raw_here
                           else " (they need the raw responses and coder files)"),
                        [f"not re-checked: {f}" for f in skipped]))
    return checks


# ---------------------------------------------------------------- the whole check

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
