"""Shared helpers for tests that run the whole workflow on a copy of the pilot.

``pilot_copy(tmp)`` copies config/ and data/raw/pilot into ``tmp``; ``run_workflow(tmp, ...)``
runs ``snakemake -s <repo>/Snakefile -d tmp`` in a subprocess (the way a user runs it on
another data folder); ``raw_hashes`` and ``derived_problems`` check what every run must
leave behind: raw files untouched, no half-written derived file. ``make_final_codes`` builds
a small final_codes frame by hand for the unit tests of the statistics modules.

``pilot_run`` is one full run of the pilot per test session, shared read-only by the tests
that only read a finished run's outputs (a test that writes takes ``copy_run`` of it);
``once_per_session`` shares other runs the same way.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# Columns each derived CSV starts with (data contract and docs/development.md).
DERIVED_HEADERS = {
    "responses.csv": ["response_id", "participant_id", "timepoint", "question", "item", "text"],
    "codings.csv": ["response_id", "question", "coder", "codes"],
    "adjudication.csv": ["response_id", "codes", "rationale"],
    "coverage.csv": ["coder", "n_coded", "n_missing", "missing"],
    "disagreements.csv": ["response_id", "participant_id", "question", "timepoint", "item", "text"],
    "final_codes.csv": ["response_id", "participant_id", "timepoint", "question", "item", "code",
                        "present", "source"],
    "agreement.csv": ["cohort", "question", "code", "n_units", "n_coders", "percent_agreement",
                      "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "alpha_ci_low",
                      "alpha_ci_high", "gwet_ac1", "verdict", "note"],
    "proportions.csv": ["cohort", "question", "code", "timepoint", "n", "k", "proportion",
                        "ci_low", "ci_high"],
    "tests.csv": ["cohort", "question", "code", "test", "contrast", "timepoints", "n", "b", "c",
                  "statistic", "df", "p_value", "p_adjusted", "method", "risk_difference",
                  "rd_ci_low", "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "note"],
    "power.csv": ["cohort", "question", "code", "contrast", "p10", "p01", "alpha", "power",
                  "effect_scale", "n_required", "method"],
    "models.csv": ["cohort", "question", "code", "term", "estimate", "ci_low", "ci_high",
                   "p_value", "scale", "n_participants", "n_observations", "method", "note"],
}


def in_ci() -> bool:
    """True when the tests run in CI (``CI`` set, as .ci/run does)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_component(executable: str, what: str, install: str, probe: tuple[str, ...] = ()) -> str:
    """The path of a real component's executable (chromium, Rscript, soffice, sbatch, ...).

    Without it a test skips with a visible reason locally, and fails in CI, where .ci/run
    installs or starts it. ``what`` says what the test needs it for; ``install`` how to get it.
    ``probe``: arguments the executable must run with successfully for the component to count
    as there (``("-c", "import uno")`` for Debian's python3-uno).
    """
    found = shutil.which(executable)
    failed = ""
    if found and probe and subprocess.run([found, *probe], capture_output=True, timeout=60).returncode:
        found, failed = None, f"is there but `{executable} {' '.join(probe)}` fails"
    if found:
        return found
    if in_ci():
        pytest.fail(f"{executable} {failed or 'is not on PATH'} in CI: .ci/run installs it "
                    f"({install}); {what} cannot run")
    pytest.skip(f"{executable} {failed or 'is not installed'} ({install}; .ci/run installs it): {what}")



def require_r_package(package: str, what: str) -> str:
    """Rscript (:func:`require_component`) with the R package ``package`` (Debian's
    r-cran-<package>): its path, or skip locally with the reason and fail in CI."""
    install = f"apt-get install r-base-core r-cran-{package}"
    path = require_component("Rscript", what, install)
    check = subprocess.run([path, "-e", f'quit(status = !requireNamespace("{package}", quietly = TRUE))'],
                           capture_output=True, timeout=120)
    if check.returncode != 0:
        reason = f"the R package {package} is not installed (apt-get install r-cran-{package})"
        if in_ci():
            pytest.fail(f"{reason}; .ci/run installs it")
        pytest.skip(reason)
    return path

def require_cluster_plugin(what: str) -> None:
    """The SLURM executor plugin of the cluster extra (requirements-cluster.lock): skip
    locally without it, fail in CI, where .ci/run installs it (make cluster-env)."""
    from importlib.util import find_spec

    if find_spec("snakemake_executor_plugin_slurm") is not None:
        return
    install = "make cluster-env, or pip install --require-hashes -r requirements-cluster.lock"
    if in_ci():
        pytest.fail(f"the SLURM executor plugin is not installed in CI: .ci/run installs it "
                    f"({install}); {what} cannot run")
    pytest.skip(f"the SLURM executor plugin is not installed ({install}): {what}")


def pilot_copy(dest: Path, cohorts: dict[str, str] | None = None) -> Path:
    """config/ and data/raw/pilot copied to ``dest``; ``cohorts`` (name -> raw folder name)
    adds further copies of the pilot as cohorts of the config."""
    shutil.copytree(REPO / "config", dest / "config")
    shutil.copytree(REPO / "data/raw/pilot", dest / "data/raw/pilot")
    if cohorts:
        import yaml

        config = yaml.safe_load((dest / "config/config.yaml").read_text(encoding="utf-8"))
        for name, folder in cohorts.items():
            if not (dest / "data/raw" / folder).exists():
                shutil.copytree(REPO / "data/raw/pilot", dest / "data/raw" / folder)
            config["cohorts"][name] = {**config["cohorts"]["pilot"], "raw": f"data/raw/{folder}"}
        (dest / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False,
                                                                allow_unicode=True), encoding="utf-8")
    return dest


def run_workflow(workdir: Path, *targets: str, cores: int = 1, extra: tuple = (),
                 timeout: int = 600, **popen) -> subprocess.CompletedProcess:
    """``snakemake -s <repo>/Snakefile -d workdir --cores N [extra] [targets]``; never raises."""
    return subprocess.run([SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(workdir), "--cores",
                           str(cores), *extra, *targets],
                          capture_output=True, text=True, timeout=timeout, **popen)


RULES_SCRIPT = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings
with SnakemakeApi(OutputSettings()) as api:
    workflow = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                            storage_settings=StorageSettings(), snakefile=Path(sys.argv[1]),
                            workdir=Path(sys.argv[2]))._workflow
    rules = {r.name: {"local": r.name in workflow._localrules or r.norun, "script": r.script,
                      "conda": r.conda_env and str((Path(r.snakefile).parent / r.conda_env).resolve())}
             for r in workflow.rules}
    print("RULES", json.dumps(rules))
"""


def workflow_rules(workdir: Path) -> dict[str, dict]:
    """rule -> {local (runs on the submit host under a cluster executor: localrule or norun),
    script, conda (the resolved environment file or None)}, from Snakemake's own workflow."""
    result = subprocess.run([sys.executable, "-c", RULES_SCRIPT, str(SNAKEFILE), str(workdir)],
                            capture_output=True, text=True, timeout=300)
    line = [x for x in result.stdout.splitlines() if x.startswith("RULES ")]
    assert line, result.stdout[-2000:] + result.stderr[-2000:]
    return json.loads(line[0][len("RULES "):])


def derived_targets(workdir: Path, cohort: str = "pilot") -> list[str]:
    """Every derived table and figure of one cohort (the default target without the reports)."""
    from alliance_pipeline.common.outputs import figure_stems
    from alliance_pipeline.config import load as study_config
    from alliance_pipeline.config import settings

    codebook = study_config.load_yaml(workdir / "config/codebook.yaml")
    stems = figure_stems(settings.questions_settings(codebook))
    base = f"data/derived/{cohort}"
    tables = ["disagreements", "final_codes", "agreement", "proportions", "tests", "power", "flow",
              "models"]
    return ([f"{base}/{t}.csv" for t in tables]
            + [f"{base}/figures/{s}.{ext}" for s in stems for ext in ("png", "svg")])


def sha256_tree(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def raw_hashes(workdir: Path) -> dict[str, str]:
    return sha256_tree(workdir / "data/raw")


def derived_problems(workdir: Path) -> list[str]:
    """Leftover temporary files, and derived CSVs that do not parse whole with their header."""
    problems = []
    derived = workdir / "data/derived"
    if not derived.exists():
        return problems
    for path in sorted(derived.rglob("*")):
        if path.name.endswith(".tmp") or path.name.startswith("."):
            problems.append(f"leftover temporary file {path}")
        elif path.suffix == ".csv":
            try:
                text = path.read_bytes().decode("utf-8-sig")
                rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
            except (UnicodeDecodeError, csv.Error) as err:
                problems.append(f"{path} does not parse: {err}")
                continue
            expected = DERIVED_HEADERS.get(path.name)
            if not rows:
                problems.append(f"{path} is empty (no header)")
            elif expected and rows[0][:len(expected)] != expected:
                problems.append(f"{path} header {rows[0]} does not start with {expected}")
            elif any(len(r) != len(rows[0]) for r in rows[1:]):
                problems.append(f"{path} has rows with a different number of cells than its header")
    return problems


def make_final_codes(records, codes_of):
    """final_codes rows from (participant, timepoint, question, item, {codes present}).

    One row per response and code of its question, as the contract's final_codes.csv.
    """
    rows = []
    for number, (participant, timepoint, question, item, present) in enumerate(records):
        for code in codes_of[question]:
            rows.append({"response_id": f"r{number:04d}", "participant_id": participant,
                         "timepoint": timepoint, "question": question, "item": item,
                         "code": code, "present": int(code in present), "source": "unanimous"})
    return pd.DataFrame(rows, columns=DERIVED_HEADERS["final_codes.csv"])


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """``--dist loadgroup`` on a worker: the ``@<group>`` suffix of ``xdist_group`` tests.

    pytest-xdist groups tests by that suffix of their node id, which it sets as
    ``item._nodeid``; pytest 9.2 keeps the id in ``item._id`` (a NodeId), so the suffix is
    silently lost and a group's tests are spread over the workers, each running the group's
    module-scoped workflow runs again (pytest-dev/pytest-xdist#1386). Set here the same way
    where it is missing (nothing to do where xdist's own suffix took effect)."""
    if not (os.environ.get("PYTEST_XDIST_WORKER") and config.getvalue("loadgroup")):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: xdist's own suffix works
        return
    for item in items:
        names = {str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                 for mark in item.iter_markers("xdist_group")}
        if names and "@" not in item.nodeid and isinstance(getattr(item, "_id", None), NodeId):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")


def run_state(folder: Path) -> dict[str, list]:
    """relative path -> [sha256, mtime in ns] of every file under ``folder`` (what a test
    could change in a shared run, Snakemake's metadata under .snakemake included)."""
    return {str(p.relative_to(folder)): [hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns]
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def build_pilot_run(folder: Path) -> dict:
    study = pilot_copy(folder / "study")
    result = run_workflow(study, cores=2, timeout=900)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    assert derived_problems(study) == []
    return {"study": str(study), "state": run_state(study)}


@pytest.fixture(scope="session")
def pilot_run(tmp_path_factory) -> Path:
    """The pilot after one full run (``snakemake --cores 2``, the default target: every table,
    figure and report), built once per test session and shared by the xdist workers.

    Read only: a test that writes in it or runs Snakemake in it takes a copy
    (:func:`copy_run`). At the end of the session each worker checks that no file of it
    changed, appeared or went (content and mtime), so a write cannot pass unnoticed."""
    built = once_per_session(tmp_path_factory, "pilot_run", build_pilot_run)
    study = Path(built["study"])
    yield study
    now = run_state(study)
    changed = sorted(k for k in built["state"].keys() | now.keys() if built["state"].get(k) != now.get(k))
    assert not changed, f"a test changed the shared pilot run {study}: {changed[:20]}"


def copy_run(run: Path, dest: Path) -> Path:
    """A copy of a finished run (files copied with copy2: content and mtimes kept, so
    Snakemake finds nothing newer than it was and a rerun is a no-op)."""
    return Path(shutil.copytree(run, dest, symlinks=True))


@pytest.fixture
def pilot_dir(tmp_path) -> Path:
    """A fresh copy of config/ and the raw pilot, ready for ``run_workflow``."""
    return pilot_copy(tmp_path / "study")


def once_per_session(tmp_path_factory, name: str, build) -> dict:
    """``build(folder)`` (a JSON-able dict) computed once per test session and shared.

    ``xdist_group`` keeps a module on one worker (``pytest_collection_modifyitems`` above
    restores it on pytest 9.2), but a run that tests of several groups read would still be
    built by each worker that gets one of them. The workers of a session share the parent of
    their base temp folder: the first to take the lock builds, the others wait and reuse the
    result (or its failure).
    """
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, done = root / name, root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                outcome = {"ok": build(folder)}
            except Exception as err:  # shared with the other workers, then raised here
                outcome = {"error": f"{type(err).__name__}: {err}"}
            done.write_text(json.dumps(outcome), encoding="utf-8")
        outcome = json.loads(done.read_text(encoding="utf-8"))
    if "error" in outcome:
        pytest.fail(f"building {name} failed: {outcome['error']}", pytrace=False)
    return outcome["ok"]


def tick_workbook(path: Path, by_unit: dict[str, tuple[str, str | None]]) -> None:
    """Fill a generated coding or adjudication workbook with openpyxl, as a coder or the
    consensus meeting would: ``by_unit`` maps a unit id to (``;``-joined codes, rationale or
    None). ``x`` under each code that applies, ``0`` in the first code column when none does,
    the rationale in ``rationale``; other rows are left as they are."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    for name in ("session_experience", "training_feedback"):
        sheet = book[name]
        header = [c.value for c in sheet[1]]
        codes = [h for h in header[2:] if not h.startswith("coder_") and h != "rationale"]
        for row in sheet.iter_rows(min_row=2):
            if row[0].value not in by_unit:
                continue
            given, why = by_unit[row[0].value]
            given = [g for g in given.split(";") if g]
            for code in codes:
                row[header.index(code)].value = "x" if code in given else None
            if not given:
                row[header.index(codes[0])].value = 0
            if why is not None:
                row[header.index("rationale")].value = why
    book.save(path)
