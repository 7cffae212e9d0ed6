"""Two clean runs give byte-identical derived tables, figures and reports.

The workflow runs twice, one run after the other, each in a fresh copy of config/ and the raw
pilot, with the repository's Snakefile. The runs differ in everything that must not matter:
folder, wall clock, number of cores, time zone, Python's hash seed, and SOURCE_DATE_EPOCH
(an hour apart on the same UTC day: the report shows the render day and stamps the PDF with
it, so a file that embeds the epoch itself would differ). Every file under data/derived/ and
reports/ is then compared byte for byte.

The reports state the checkout's git commit and whether its tree is dirty; other work in
the checkout during the runs (a commit, an edited module) would change them, or the
derived files. When the checkout changed between the start and the end of the runs and the
outputs differ, the comparison is skipped, naming the changed files.
"""
from __future__ import annotations

import difflib
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from conftest import derived_problems, once_per_session, pilot_copy, run_workflow, sha256_tree

REPO = Path(__file__).resolve().parents[1]
EPOCH = 1767225600  # 2026-01-01T00:00:00Z
RUNS = {  # what differs between the two runs, besides the folder and the clock
    "a": {"cores": 1, "env": {"SOURCE_DATE_EPOCH": str(EPOCH), "TZ": "UTC", "PYTHONHASHSEED": "1"}},
    "b": {"cores": 2, "env": {"SOURCE_DATE_EPOCH": str(EPOCH + 3600), "TZ": "Asia/Tokyo",
                              "PYTHONHASHSEED": "2"}},
}
OUTPUTS = ("data/derived", "reports")
# what the workflow runs from: a change here during the runs may change the outputs
CHECKOUT = ["Snakefile", "rules", "scripts", "src", "schemas", "config", "data/raw/pilot",
            "reports/report.qmd", "reports/study.qmd", "reports/_quarto.yml", "requirements.lock"]

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def checkout_state() -> dict[str, str]:
    """The git commit and status of the checkout, and a hash of every file the runs read."""
    state = {}
    for key, args in (("git HEAD", ["rev-parse", "HEAD"]), ("git status", ["status", "--porcelain"])):
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        state[key] = done.stdout if done.returncode == 0 else "unknown"
    for part in CHECKOUT:
        path = REPO / part
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" not in file.parts and file.exists():
                state[str(file.relative_to(REPO))] = hashlib.sha256(file.read_bytes()).hexdigest()
    return state


def two_runs(root: Path) -> dict:
    before = checkout_state()
    runs = {}
    for name, spec in RUNS.items():
        study = pilot_copy(root / name)
        result = run_workflow(study, cores=spec["cores"], env={**os.environ, **spec["env"]})
        assert result.returncode == 0, (f"run {name} failed:\n{result.stdout[-3000:]}\n"
                                        f"{result.stderr[-5000:]}")
        runs[name] = str(study)
    after = checkout_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {"runs": runs, "checkout_changed": changed}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The folders of the two runs, and what changed in the checkout while they ran."""
    return once_per_session(tmp_path_factory, "determinism", two_runs)


def hashes(folder: Path, part: str) -> dict[str, str]:
    return {f"{part}/{k}": v for k, v in sha256_tree(folder / part).items()}


def first_difference(a: Path, b: Path) -> str:
    """Where two files differ: a few lines of unified diff for text, else sizes and offset."""
    x, y = a.read_bytes(), b.read_bytes()
    try:
        lines = list(difflib.unified_diff(x.decode("utf-8").splitlines(), y.decode("utf-8").splitlines(),
                                          "a", "b", n=0, lineterm=""))
        return "\n".join(line[:300] for line in lines[:12])
    except UnicodeDecodeError:
        offset = next((i for i, (p, q) in enumerate(zip(x, y, strict=True)) if p != q), min(len(x), len(y)))
        return f"{len(x)} vs {len(y)} bytes, first difference at byte {offset}"


def compare(runs: dict, part: str) -> None:
    a, b = (Path(runs["runs"][name]) for name in RUNS)
    ha, hb = hashes(a, part), hashes(b, part)
    assert ha, f"run a wrote nothing under {part}/"
    assert sorted(ha) == sorted(hb), f"the runs wrote different files under {part}/"
    differing = sorted(k for k in ha if ha[k] != hb[k])
    if differing and runs["checkout_changed"]:
        pytest.skip(f"{len(differing)} file(s) under {part}/ differ, but the checkout changed "
                    f"while the workflow ran ({', '.join(runs['checkout_changed'][:8])}); rerun")
    assert not differing, "files that differ between two clean runs:\n" + "\n\n".join(
        f"{k}:\n{first_difference(a / k, b / k)}" for k in differing)


def test_runs_leave_whole_derived_files(runs):
    for folder in runs["runs"].values():
        assert derived_problems(Path(folder)) == []


def test_derived_tables_and_figures_are_identical(runs):
    compare(runs, "data/derived")
    derived = Path(runs["runs"]["a"]) / "data/derived"
    kinds = {p.suffix for p in derived.rglob("*") if p.is_file()}
    assert {".csv", ".png", ".svg"} <= kinds, kinds


def test_reports_are_identical(runs):
    compare(runs, "reports")
    reports = Path(runs["runs"]["a"]) / "reports"
    assert {p.suffix for p in reports.rglob("*") if p.is_file()} >= {".html", ".pdf"}
