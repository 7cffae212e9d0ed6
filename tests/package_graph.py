"""The import graph of the package, read from its source (ast), for the layout tests.

Every ``alliance_pipeline`` import of every module counts, at module level or inside a
function: ``import alliance_pipeline.a.b``, ``from alliance_pipeline.a import b`` (a module
``b``) and ``from alliance_pipeline.a.b import name``. Modules are dotted names under the
package (``intake.read.decoding``); the package's ``__init__`` files are left out (they import
nothing: tests/test_package_layout.py).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "src" / "alliance_pipeline"
PREFIX = "alliance_pipeline"


def modules() -> dict[str, Path]:
    """dotted name -> path of every module of the package (no ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] != "__init__":
            found[".".join(parts)] = path
    return found


def imports_of(path: Path, known: set[str]) -> Iterator[tuple[str, tuple[str, ...], int]]:
    """``(module, names, line)`` of each package import of a source file: the imported
    module's dotted name under the package and the names taken from it (``()`` for a whole
    module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PREFIX + "."):
                    yield alias.name[len(PREFIX) + 1:], (), node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != PREFIX and not node.module.startswith(PREFIX + "."):
                continue
            base = node.module[len(PREFIX) + 1:]
            names = []
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                if sub in known:
                    yield sub, (), node.lineno
                else:
                    names.append(alias.name)
            if names and base:
                yield base, tuple(names), node.lineno


def graph() -> dict[str, set[str]]:
    """module -> the package modules it imports."""
    known = modules()
    return {name: {target for target, _, _ in imports_of(path, set(known)) if target in known}
            for name, path in known.items()}


def closure(start: set[str], edges: dict[str, set[str]] | None = None) -> set[str]:
    """``start`` and every package module it imports, directly or through others."""
    edges = graph() if edges is None else edges
    seen, todo = set(), list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(edges.get(module, ()))
    return seen


def script_imports(script: Path) -> set[str]:
    """The package modules a script (scripts/*.py) imports."""
    known = set(modules())
    return {target for target, _, _ in imports_of(script, known) if target in known}


def rule_scripts() -> dict[str, Path]:
    """rule -> the script it runs (``script: "../scripts/x.py"`` of rules/*.smk)."""
    import re

    found = {}
    for smk in sorted((REPO / "rules").glob("*.smk")):
        rule = None
        for line in smk.read_text(encoding="utf-8").splitlines():
            if match := re.match(r"rule (\w+):", line):
                rule = match.group(1)
            if (match := re.search(r'"\.\./scripts/(\w+\.py)"', line)) and rule:
                found[rule] = REPO / "scripts" / match.group(1)
    return found


def expected_rule_modules() -> dict[str, tuple[str, ...]]:
    """rule -> every package module its script runs (the closure of the script's imports)."""
    edges = graph()
    return {rule: tuple(sorted(closure(script_imports(script), edges)))
            for rule, script in rule_scripts().items()}


if __name__ == "__main__":  # prints RULE_MODULES as src/alliance_pipeline/rule_modules.py holds it
    import pprint

    pprint.pprint(expected_rule_modules(), width=100, sort_dicts=False)
