"""The route without make (README, "Without make"), step by step as a new user takes it.

A fresh ``git clone`` of this checkout, a new virtual environment, the hashed lock installed
by pip, the package installed editable, then ``alliance run``: the pilot report. The steps
are the README's PowerShell commands with Linux paths (``.venv/bin`` instead of
``.venv\\Scripts``, found through the new interpreter's ``sysconfig``), run without make and
without a shell. A real installation: pip downloads and checks every package of the lock
(about a minute with a package index at hand), so the test is marked ``fresh_clone`` (and
``workflow``); it stays in the normal suite. It clones the last commit, so run it after
committing.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = [pytest.mark.fresh_clone, pytest.mark.workflow]


def run(command: list[str], cwd: Path, timeout: int = 1200) -> subprocess.CompletedProcess:
    # a user's environment: not this test run's PYTHONPATH (which points at this checkout)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_alliance_run_in_a_fresh_clone_without_make_gives_the_pilot_report(tmp_path):
    clone = tmp_path / "alliance-pipeline"
    run(["git", "clone", "--quiet", str(REPO), str(clone)], cwd=tmp_path)
    # py -3.11 -m venv .venv
    run([sys.executable, "-m", "venv", ".venv"], cwd=clone)
    venv_python = clone / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    scripts = Path(run([str(venv_python), "-c", "import sysconfig; print(sysconfig.get_path('scripts'))"],
                       cwd=clone).stdout.strip())
    # .venv\Scripts\python -m pip install --require-hashes -r requirements.lock
    run([str(venv_python), "-m", "pip", "install", "--quiet", "--require-hashes", "-r", "requirements.lock"],
        cwd=clone)
    # .venv\Scripts\python -m pip install --no-deps -e .
    run([str(venv_python), "-m", "pip", "install", "--quiet", "--no-deps", "-e", "."], cwd=clone)
    alliance = scripts / ("alliance.exe" if os.name == "nt" else "alliance")
    assert alliance.is_file()
    version = re.search(r'^__version__ = "([^"]+)"$',
                        (clone / "src/alliance_pipeline/__init__.py").read_text(encoding="utf-8"), re.M).group(1)
    assert run([str(alliance), "--version"], cwd=clone).stdout == f"alliance {version}\n"
    # the local route has no SLURM plugin (the cluster extra): no wait for scontrol
    plugin = run([str(venv_python), "-c", "import importlib.util as u; "
                  "print(u.find_spec('snakemake_executor_plugin_slurm') is None)"], cwd=clone)
    assert plugin.stdout.strip() == "True"

    # .venv\Scripts\alliance run
    done = run([str(alliance), "run", "--cores", "2"], cwd=clone)
    assert done.stdout.endswith("Reports:\n  reports/pilot/report.html\n  reports/pilot/report.ja.html\n"
                                "  reports/pilot/report.ja.pdf\n  reports/pilot/report.pdf\n")
    manifest = json.loads((clone / "reports/pilot/manifest.json").read_text(encoding="utf-8"))
    head = run(["git", "rev-parse", "HEAD"], cwd=clone).stdout.strip()
    assert manifest["code"] == {**manifest["code"], "version": version, "commit": head, "dirty": False}
    html = (clone / "reports/pilot/report.html").read_text(encoding="utf-8")
    assert f"Pipeline version: {version}." in html
    assert (clone / "reports/pilot/report.pdf").read_bytes().startswith(b"%PDF")
    status = run([str(alliance), "status"], cwd=clone)
    assert status.stdout == "Summary by cohort:\n  pilot: done (reports/pilot/report.html)\n"
