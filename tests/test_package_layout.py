"""The package is laid out like the workflow, its imports go one way, and its map is whole.

Every ``alliance_pipeline`` import of every module (top-level or inside a function) is read
from the source (ast) and checked against the layers of docs/development.md's package map.
"""
from __future__ import annotations

import ast
import re

from conftest import REPO

PACKAGE = REPO / "src" / "alliance_pipeline"
STEPS = ["intake", "coding", "change", "report", "study", "verify"]
# what each part may import besides itself ("plumbing" = the package's top-level modules)
ALLOWED = {
    "plumbing": {"plumbing"},
    "intake": {"plumbing"},
    "coding": {"plumbing", "intake"},
    "change": {"plumbing"},
    "report": {"plumbing", "intake", "coding", "change"},
    "study": {"plumbing", "change", "report"},
    "verify": {"plumbing", "intake", "coding", "change", "report", "study"},
}
GENERATORS = {"synthetic", "survey_examples"}  # builds example data through the steps; no step imports it
COMMAND_LINE = {"cli"}      # the alliance command: above every step, imported by none


def part_of(module: str) -> str:
    """'change.paired_tests' -> 'change'; 'config' -> 'plumbing'."""
    head = module.split(".")[0]
    if head in GENERATORS:
        return "generator"
    if head in COMMAND_LINE:
        return "command line"
    return head if head in STEPS else "plumbing"


def package_imports(path) -> set[str]:
    """The alliance_pipeline modules a source file imports, as dotted names under the package."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "alliance_pipeline":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("alliance_pipeline."):
                found.add(node.module.split(".", 1)[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".", 1)[1] for a in node.names
                         if a.name.startswith("alliance_pipeline."))
    return found


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield ".".join(path.relative_to(PACKAGE).with_suffix("").parts), path


def test_no_relative_imports():
    relative = [name for name, path in modules()
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(path.read_text())))]
    assert relative == []


def test_imports_go_one_way():
    wrong = []
    for name, path in modules():
        part = part_of(name)
        for imported in package_imports(path):
            target = part_of(imported)
            if target == "command line" and part != "command line":
                wrong.append(f"{name} ({part}) imports {imported}, the command line")
            if part in ("generator", "command line"):
                continue
            if target != part and target not in ALLOWED[part]:
                wrong.append(f"{name} ({part}) imports {imported} ({target})")
    assert wrong == []


def test_every_package_init_is_free_of_imports():
    with_imports = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("__init__.py")
                    if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(ast.parse(path.read_text())))]
    assert with_imports == []


def test_the_check_sees_a_wrong_import():
    assert part_of("report.sections.results") == "report"
    assert "report" not in ALLOWED["change"]          # change importing the report would be flagged
    assert part_of("config") == "plumbing" and part_of("synthetic") == "generator"
    assert part_of("cli") == "command line"


def mapped_modules() -> set[str]:
    """The modules docs/development.md's package map lists (its table's first column)."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    section = text.split("## The package, module by module", 1)[1].split("\n## ", 1)[0]
    return {name for line in section.splitlines() if line.startswith("| `")
            for name in re.findall(r"`([\w/]+)`", line.split("|")[1])}


def test_the_package_map_names_every_module_and_only_those():
    modules_here = {name.replace(".", "/") for name, _ in modules()
                    if not name.endswith(("__init__", "__main__"))}
    mapped = mapped_modules()
    assert {"missing from the map": sorted(modules_here - mapped),
            "mapped but gone": sorted(mapped - modules_here)} == {"missing from the map": [],
                                                                  "mapped but gone": []}
