"""The three levels of the check, each a list of :class:`Check` lines (see
:mod:`alliance_pipeline.verify.check` for what each level compares):

- **code** (:func:`check_code`): this checkout's commit and requirements.lock, and the
  installed package versions, against the manifest's;
- **inputs** (:func:`check_inputs`): the raw files, effective config and codebook here
  against their SHA-256;
- **tables** (:func:`check_tables`): the rerun's derived tables (:mod:`.rerun`) against the
  report's, number by number (:mod:`.compare`).
"""
from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alliance_pipeline.common import provenance
from alliance_pipeline.common.tables import read_table
from alliance_pipeline.config.load import ConfigError, load_study
from alliance_pipeline.config.settings import cohort_config
from alliance_pipeline.report import manifest as manifests
from alliance_pipeline.verify.compare import REL_TOL, compare_numbers, config_differences
from alliance_pipeline.verify.rerun import RerunFailed, rerun_change, rerun_from_raw

SHOWN = 20  # config values and package versions listed (the count says how many differ)
CHANGE_TABLES = ("proportions", "tests", "power", "flow", "models")  # change.cohort_tables.TABLES


@dataclass
class Check:
    """One line of the output: a level (code, inputs, tables), a status and what was found."""

    level: str
    status: str  # ok | warning | FAIL | not available | not checked
    message: str
    details: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{self.level:<7} {self.status:<13} {self.message}"] + [f"{'':<22}{d}" for d in self.details]


def _short(sha: str) -> str:
    return sha[:12]


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


def check_tables(manifest: Mapping, data_dir: Path, config: dict | None, checkout: Path,
                 final_codes: Path | None) -> list[Check]:
    """Rerun what the inputs here allow and compare every table the report was written from."""
    config = config if config is not None else manifest["inputs"]["config"]["effective"]
    raw_here = [(data_dir / e["file"]).is_file() for e in manifest["inputs"]["raw"]]
    entries = manifest["tables"]
    with tempfile.TemporaryDirectory(prefix="verify-") as scratch_name:
        scratch = Path(scratch_name)
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
        try:
            work = rerun_from_raw(manifest, config, data_dir, checkout, scratch)
        except RerunFailed as failed:
            lines = str(failed).splitlines()
            return [Check("tables", "FAIL", "rerun from the raw files: " + lines[0], lines[1:])]
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
    try:
        work = rerun_change(manifest, final_codes, config, data_dir, scratch)
    except RerunFailed as failed:
        return [*checks, Check("tables", "FAIL", str(failed))]
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
