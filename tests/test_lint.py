"""`make lint` (snakemake --lint, ruff, mypy) passes on the checkout and fails on a planted
unused import and on a planted type error (issue 26).

Each case runs the Makefile's own lint recipe on a copy of the checkout, with this test's
environment as BIN and the venv stamp taken as up to date (``make -o``), so what is tested is
exactly what `make lint` and CI run.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", ".snakemake", ".mypy_cache", ".ruff_cache", ".pytest_cache",
        ".hypothesis", "logs", "derived", "artifacts"}

pytestmark = pytest.mark.xdist_group("lint")


def _copy(dest: Path) -> Path:
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in SKIP or n.endswith(".egg-info")}
        if Path(folder) == REPO / "reports":
            skipped |= {n for n in names if (Path(folder) / n).is_dir() and n != "_extensions"}
        return skipped

    shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
    return dest


def make_lint(checkout: Path) -> subprocess.CompletedProcess:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {**os.environ, "MYPY_CACHE_DIR": str(checkout / ".mypy_cache")}
    return subprocess.run(["make", "-o", ".venv/.installed", "lint",
                           f"BIN={Path(sys.executable).parent}"],
                          cwd=checkout, capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory) -> Path:
    return _copy(tmp_path_factory.mktemp("lint") / "checkout")


def test_make_lint_passes_on_the_checkout(clean_copy):
    done = make_lint(clean_copy)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_make_lint_fails_on_a_planted_unused_import(tmp_path):
    checkout = _copy(tmp_path / "checkout")
    module = checkout / "src/alliance_pipeline/common/seeds.py"
    module.write_text(module.read_text(encoding="utf-8") + "\nimport textwrap\n", encoding="utf-8")
    done = make_lint(checkout)
    assert done.returncode != 0
    assert "F401" in done.stdout and "seeds.py" in done.stdout


def test_make_lint_fails_on_a_planted_type_error(tmp_path):
    checkout = _copy(tmp_path / "checkout")
    module = checkout / "src/alliance_pipeline/common/seeds.py"
    module.write_text(module.read_text(encoding="utf-8")
                      + '\n\ndef _planted() -> int:\n    return "not a number"\n', encoding="utf-8")
    done = make_lint(checkout)
    assert done.returncode != 0
    assert "seeds.py" in done.stdout and "Incompatible return value type" in done.stdout
