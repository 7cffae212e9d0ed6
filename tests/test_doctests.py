"""The Examples of the package's docstrings run as tests (issue #31), in ``make test`` and
``make check``.

Every module of ``src/alliance_pipeline`` (``__main__`` modules excepted: importing them runs
them) is imported and its docstring examples run by :mod:`doctest` with ELLIPSIS, the
flags ``pytest --doctest-modules`` uses here too; a module's examples pass only when every
printed value is the one written. A test file rather than ``--doctest-modules`` on the
command line, because that flag would also import the helper scripts under tests/ (some need
LibreOffice's ``uno``); ``pytest --doctest-modules src/alliance_pipeline`` runs the same
examples.
"""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "alliance_pipeline"


def _module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


MODULES = _module_names()


def test_modules_found():
    assert "alliance_pipeline.change.mcnemar" in MODULES
    assert "alliance_pipeline.coding.agreement" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:  # an optional dependency that is not installed
        if error.name and error.name.split(".")[0] == "alliance_pipeline":
            raise
        pytest.skip(f"{name} needs {error.name}, not installed")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in finder.find(module, name):
        if test.examples:
            runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)
