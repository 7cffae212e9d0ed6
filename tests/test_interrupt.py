"""Interrupted and parallel runs.

A run killed in the middle of a job leaves no output that a rerun would take as complete:
every derived file that exists is either whole (byte-identical to an uninterrupted run) or
marked incomplete by Snakemake, and the rerun ends with the same bytes as an uninterrupted
run. What the user types after an interruption (docs: "when something goes wrong"):

* Ctrl-C / SIGTERM: Snakemake deletes the outputs of the jobs it stops and releases its
  lock; ``snakemake --cores N`` goes on.
* SIGKILL, a crash or a power loss: the lock is left behind and a job may have written all
  its outputs before it died. ``snakemake --unlock`` first, then
  ``snakemake --cores N --rerun-incomplete`` (without it Snakemake refuses to go on and names
  the incomplete files).

``--cores 1`` and ``--cores 4`` give identical bytes; two cohorts run in parallel do not
interfere. Reports are not compared (the derived tables and figures are).
"""
from __future__ import annotations

import base64
import csv
import io
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (
    SNAKEFILE,
    SNAKEMAKE,
    derived_problems,
    derived_targets,
    once_per_session,
    pilot_copy,
    raw_hashes,
    run_workflow,
    sha256_tree,
)

pytestmark = pytest.mark.workflow


def ok(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def derived_bytes(root: Path, cohort: str = "pilot") -> dict[str, bytes]:
    folder = root / "data/derived" / cohort
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def incomplete_outputs(root: Path) -> set[str]:
    """Outputs Snakemake marked incomplete (its markers are named by the base64 path)."""
    folder = root / ".snakemake/incomplete"
    if not folder.is_dir():
        return set()
    return {base64.urlsafe_b64decode(p.name.encode() + b"==").decode(errors="replace")
            for p in folder.iterdir() if p.is_file()}


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """An uninterrupted run on one core: the bytes every other run must reproduce
    (computed once per pytest run and shared by the xdist workers)."""
    def build(root: Path) -> dict:
        pilot_copy(root)
        ok(run_workflow(root, *derived_targets(root), cores=1))
        assert derived_problems(root) == []
        return {"root": str(root)}

    return derived_bytes(Path(once_per_session(tmp_path_factory, "interrupt-reference", build)["root"]))


def start(root: Path, *targets: str, cores: int = 2) -> subprocess.Popen:
    return subprocess.Popen([SNAKEMAKE, "-s", str(SNAKEFILE), "-d", str(root), "--cores",
                             str(cores), *targets], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for(predicate, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert process.poll() is None, "the run ended before the moment to interrupt it"
        assert time.monotonic() < deadline, "timed out waiting for the moment to interrupt"
        time.sleep(0.01)


KILL_POINTS = {
    # while intake runs: its outputs are marked incomplete
    "during_intake": lambda root: any(p.endswith("pilot/responses.csv") for p in incomplete_outputs(root)),
    # after intake finished, while a later job runs
    "after_intake": lambda root: ((root / "data/derived/pilot/coverage.csv").exists()
                                  and any(not p.endswith(("responses.csv", "codings.csv",
                                                          "adjudication.csv", "coverage.csv"))
                                          for p in incomplete_outputs(root))),
}


@pytest.mark.parametrize("sig, point", [
    (signal.SIGKILL, "during_intake"),
    (signal.SIGKILL, "after_intake"),
    (signal.SIGTERM, "after_intake"),
], ids=["SIGKILL-during_intake", "SIGKILL-after_intake", "SIGTERM-after_intake"])
def test_a_killed_run_leaves_nothing_taken_as_complete_and_the_rerun_matches(
        tmp_path, reference, sig, point):
    root = pilot_copy(tmp_path / "study")
    raw_before = raw_hashes(root)
    targets = derived_targets(root)
    process = start(root, *targets)
    try:
        wait_for(lambda: KILL_POINTS[point](root), process)
    finally:
        os.killpg(process.pid, sig)
        process.wait(timeout=60)
    time.sleep(0.2)  # let killed children exit

    # Whatever exists is either whole or marked incomplete (so the rerun redoes it).
    marked = incomplete_outputs(root)
    for name, data in derived_bytes(root).items():
        if name.endswith(".tmp") or name.startswith("."):
            continue  # a temporary file of a killed writer: never an output
        path = f"data/derived/pilot/{name}"
        assert data == reference[name] or path in marked, f"{path} half-written and not marked"

    if sig == signal.SIGKILL:
        # the lock of the killed Snakemake is left behind: the user must unlock first
        if point == "during_intake":
            locked = run_workflow(root, *targets)
            assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
        ok(run_workflow(root, "--unlock"))
    if point == "during_intake":
        # The worst moment: killed after the job wrote its last output but before it ended.
        # Simulated by putting whole outputs in place of the marked ones: Snakemake must not
        # take them as complete, and says how to go on.
        assert marked, "intake was running, its outputs must be marked incomplete"
        for path in marked:
            (root / path).write_bytes(reference[path.removeprefix("data/derived/pilot/")])
        refused = run_workflow(root, *targets)
        assert refused.returncode != 0
        assert "--rerun-incomplete" in refused.stdout + refused.stderr
    extra = ("--rerun-incomplete",) if sig == signal.SIGKILL else ()
    rerun = run_workflow(root, *targets, cores=2, extra=extra)
    ok(rerun)
    assert derived_problems(root) == []
    assert derived_bytes(root) == reference
    assert raw_hashes(root) == raw_before


def test_one_core_and_four_cores_give_identical_bytes(tmp_path, reference):
    root = pilot_copy(tmp_path / "study")
    ok(run_workflow(root, *derived_targets(root), cores=4))
    produced = derived_bytes(root)
    assert sorted(produced) == sorted(reference)
    assert [name for name in produced if produced[name] != reference[name]] == []


def _rows_without_cohort(path: Path, cohort: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))
    if "cohort" not in rows[0]:
        return rows
    index = rows[0].index("cohort")
    for row in rows[1:]:
        assert row[index] == cohort
        row[index] = "<cohort>"
    return rows


def test_two_cohorts_in_parallel_do_not_interfere(tmp_path):
    # the same raw folder configured twice: both cohorts read it at the same time
    root = pilot_copy(tmp_path / "study", cohorts={"second": "pilot"})
    raw_before = raw_hashes(root)
    targets = derived_targets(root, "pilot") + derived_targets(root, "second")
    ok(run_workflow(root, *targets, cores=4))
    assert raw_hashes(root) == raw_before
    assert derived_problems(root) == []
    first, second = root / "data/derived/pilot", root / "data/derived/second"
    tables = sorted(p.name for p in first.glob("*.csv"))
    assert tables == sorted(p.name for p in second.glob("*.csv")) and len(tables) >= 10
    for name in tables:
        assert _rows_without_cohort(first / name, "pilot") == _rows_without_cohort(second / name, "second"), name
    assert sha256_tree(first / "figures").keys() == sha256_tree(second / "figures").keys()
