"""Jobs start fast: a script imports only what its step needs, and declares what it imports.

Each rule's script's top-level imports are run in a fresh interpreter (as a Snakemake job
would, with this checkout's ``src/`` first on the path) and what got loaded is compared with
(1) the rule's declared ``package(...)`` inputs: every package module loaded must be declared,
so editing it reruns the rule; (2) the slow libraries: only the steps that use one at every
run load it at start-up (the figures step matplotlib, the workbook steps openpyxl); the
statistics import scipy.stats, statsmodels and krippendorff inside the functions using them.
The speed itself is measured by ``make bench`` (benchmarks/startup.py), not here.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from itertools import pairwise

import pytest

from conftest import REPO

SLOW = ["scipy.stats", "statsmodels", "matplotlib", "openpyxl", "krippendorff", "pingouin",
        "jsonschema"]
# rule -> the slow libraries its step needs whatever the data (so imported at start-up)
NEEDED_AT_START = {"figures": {"matplotlib"}, "coding_sheet": {"openpyxl"},
                   "adjudication_sheet": {"openpyxl"}}


def _startup_module():
    spec = importlib.util.spec_from_file_location("bench_startup", REPO / "benchmarks" / "startup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STARTUP = _startup_module()
RULE_SCRIPTS = STARTUP.rule_scripts(REPO / "rules")


def declared_modules() -> dict[str, set[str]]:
    """rule -> the modules its ``package(*RULE_MODULES[rule])`` inputs declare (rules/*.smk
    read for the rule's key, alliance_pipeline.rule_modules for its list)."""
    from alliance_pipeline.rule_modules import RULE_MODULES

    out = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text(encoding="utf-8")
        starts = [(m.start(), m.group(1)) for m in STARTUP.RULE.finditer(text)] + [(len(text), "")]
        for (start, name), (end, _) in pairwise(starts):
            found = re.search(r'package\(\*RULE_MODULES\["(\w+)"\]\)', text[start:end])
            if found:
                names = RULE_MODULES[found.group(1)]
                # a dotted name declares its packages' __init__ too (rules/common.smk)
                out[name] = {".".join(n.split(".")[:depth]) for n in names
                             for depth in range(1, n.count(".") + 2)}
    return out


def loaded_by(script) -> dict:
    """The package modules and slow libraries a fresh interpreter holds after the script's imports."""
    probe = (STARTUP.script_imports(script) + "\nimport json, sys\nprint(json.dumps(["
             "sorted(m.split('.', 1)[1] for m in sys.modules if m.startswith('alliance_pipeline.')),"
             f"[m for m in {SLOW!r} if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=REPO, env=STARTUP.environment(REPO)).stdout
    modules, slow = json.loads(out)
    return {"modules": set(modules), "slow": set(slow)}


@pytest.fixture(scope="module")
def loaded():
    return {rule: loaded_by(script) for rule, script in RULE_SCRIPTS.items()}


def test_every_rule_with_a_script_is_found():
    assert {"intake", "agreement", "change", "figures", "render_report", "study_tables",
            "study_report", "verify"} <= set(RULE_SCRIPTS)


def test_the_package_init_imports_nothing():
    tree = ast.parse((REPO / "src" / "alliance_pipeline" / "__init__.py").read_text(encoding="utf-8"))
    assert not [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]


def test_each_rule_declares_every_package_module_its_script_imports(loaded):
    declared = declared_modules()
    undeclared = {rule: sorted(found["modules"] - declared.get(rule, set()))
                  for rule, found in loaded.items()}
    assert {rule: missing for rule, missing in undeclared.items() if missing} == {}


def test_a_job_starts_without_the_slow_libraries_its_step_may_not_need(loaded):
    extra = {rule: sorted(found["slow"] - NEEDED_AT_START.get(rule, set()))
             for rule, found in loaded.items()}
    assert {rule: slow for rule, slow in extra.items() if slow} == {}
    assert loaded["figures"]["slow"] == {"matplotlib"}      # the probe does see a slow import


def test_the_bench_starts_a_job_as_snakemake_does():
    """benchmarks/startup.py times Snakemake's own preamble: its import lines are the ones
    ``PythonScript.generate_preamble`` writes, and its pickled ``snakemake`` object loads."""
    import inspect

    from snakemake.script import PythonScript
    preamble = STARTUP.preamble(REPO)
    written = inspect.getsource(PythonScript.generate_preamble)
    for line in preamble.splitlines():
        if line.startswith(("from ", "import ")):
            for statement in line.split("; "):
                assert statement in written, statement
    probe = preamble + "\nprint(snakemake.rule, snakemake.threads)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=REPO, env=STARTUP.environment(REPO)).stdout
    assert out.split() == ["consensus", "1"]
    assert STARTUP.environment(REPO)["OPENBLAS_NUM_THREADS"] == "1"
