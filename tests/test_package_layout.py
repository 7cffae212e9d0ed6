"""The package's layers are its folders, its imports go one way, and its map is whole.

Every ``alliance_pipeline`` import of every module (at module level or inside a function)
is read from the source (tests/package_graph.py) and checked: the import graph has no cycle
(``graphlib.TopologicalSorter`` raises ``CycleError`` on one), no import runs against the
layer order of docs/development.md, no private name (``_x``) is imported across modules, an
import inside a function is there only to keep a slow third-party library out of a job's
start-up, each rule's list of modules (``alliance_pipeline.rule_modules``) is what its
script runs, and the sizes stay small.
"""
from __future__ import annotations

import ast
import graphlib
import re

import package_graph
from conftest import REPO

PACKAGE = package_graph.PACKAGE

# The floors, bottom to top, and what a module of each may import besides its own floor.
# "package": the package's own top-level modules (import nothing of the package).
ALLOWED = {
    "package": set(),
    "common": set(),
    "config": {"common"},
    "intake": {"common", "config"},
    "coding": {"common", "config", "intake"},
    "change": {"common", "config"},
    "report": {"common", "config", "intake", "coding", "change"},
    "study": {"common", "config", "intake", "coding", "change", "report"},
    "verify": {"common", "config", "intake", "coding", "change", "report", "study"},
    "app": {"common", "config", "intake", "coding", "change", "report", "study", "verify"},
    # the example generators build data through the steps; nothing of the package imports them
    "examples": {"common", "config", "intake", "coding", "change"},
}
# intake's stages, in order: a stage imports only earlier ones (and the floors below intake)
INTAKE_STAGES = {"problems": 0, "spec": 0, "read": 1, "checks": 2, "sources": 3}
INTAKE_TOP = 4  # cohort, table_order, log_lines: run the stages
# third-party libraries slow enough to import only where used (a job's start-up, the CLI's)
SLOW = ("matplotlib", "openpyxl", "scipy", "statsmodels", "krippendorff", "pingouin",
        "jsonschema", "pandas")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
LONG_FUNCTION_LINES = 60
MAX_LONG_FUNCTIONS = 5
MAX_TOP_LEVEL_MODULES = 8


def floor_of(module: str) -> str:
    """'change.paired_tests' -> 'change'; 'rule_modules' -> 'package'."""
    head, _, rest = module.partition(".")
    return head if rest else "package"


def intake_stage(module: str) -> int:
    """The rank of an intake module among intake's stages ('intake.read.decoding' -> 1)."""
    parts = module.split(".")
    return INTAKE_STAGES.get(parts[1], INTAKE_TOP)


def test_no_relative_imports():
    relative = [name for name, path in package_graph.modules().items()
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(path.read_text())))]
    assert relative == []


def test_the_import_graph_has_no_cycle():
    graph = package_graph.graph()
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from None


def test_the_cycle_check_sees_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError:
        return
    raise AssertionError("a -> b -> c -> a was not seen as a cycle")


def wrong_imports(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        floor = floor_of(module)
        for target in targets:
            other = floor_of(target)
            if other != floor and other not in ALLOWED[floor]:
                wrong.append(f"{module} ({floor}) imports {target} ({other})")
            elif floor == other == "intake" and intake_stage(target) > intake_stage(module):
                wrong.append(f"{module} imports {target}, a later stage of intake")
    return sorted(wrong)


def test_imports_go_one_way():
    assert wrong_imports(package_graph.graph()) == []


def test_the_layer_check_sees_a_wrong_import():
    assert wrong_imports({"change.power": {"report.format"}}) == [
        "change.power (change) imports report.format (report)"]
    assert wrong_imports({"intake.read.decoding": {"intake.checks.codes"}}) == [
        "intake.read.decoding imports intake.checks.codes, a later stage of intake"]
    assert wrong_imports({"common.tables": {"config.load"}}) != []
    assert wrong_imports({"intake.cohort": {"intake.sources.survey"}, "app.cli": {"verify.check"}}) == []


def test_no_private_name_is_imported_across_modules():
    known = set(package_graph.modules())
    private = [f"{name}: {target}.{taken}" for name, path in package_graph.modules().items()
               for target, names, _ in package_graph.imports_of(path, known)
               for taken in names if taken.startswith("_") and taken not in ("_", "__version__")]
    assert private == []


def defined_names(path) -> set[str]:
    """The names a module defines at its top level (functions, classes, assignments), not
    those it imports."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(n.id for target in node.targets for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_a_name_is_imported_from_the_module_that_defines_it():
    known = package_graph.modules()
    defined = {name: defined_names(path) for name, path in known.items()}
    defined["__init__"] = {"__version__"}
    through = [f"{name}: {target}.{taken}" for name, path in known.items()
               for target, names, _ in package_graph.imports_of(path, set(known))
               for taken in names if target in defined and taken not in defined[target]]
    assert through == []


def slow_at_import(path) -> set[str]:
    """The slow libraries a module imports at module level."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        found.update(lib for lib in SLOW for name in names if name == lib or name.startswith(lib + "."))
    return found


def module_level_graph() -> dict[str, set[str]]:
    known = package_graph.modules()
    graph = {}
    for name, path in known.items():
        body = ast.parse(path.read_text(encoding="utf-8")).body
        top = {node.lineno for node in body if isinstance(node, (ast.Import, ast.ImportFrom))}
        graph[name] = {t for t, _, line in package_graph.imports_of(path, set(known))
                       if t in known and line in top}
    return graph


def test_an_import_inside_a_function_only_defers_a_slow_library():
    known = package_graph.modules()
    top_graph = module_level_graph()
    slow = {name: slow_at_import(path) for name, path in known.items()}
    wrong = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        inner = {node.lineno for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))}
        loaded = set().union(*(slow[m] for m in package_graph.closure({name}, top_graph)))
        for target, _, line in package_graph.imports_of(path, set(known)):
            if line in inner and target in known:
                carried = set().union(*(slow[m] for m in package_graph.closure({target}, top_graph)))
                if not carried - loaded:
                    wrong.append(f"{name} line {line} imports {target} inside a function, "
                                 "though it defers no slow library the module does not load anyway")
    assert wrong == []


def test_every_package_init_is_free_of_imports():
    with_imports = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("__init__.py")
                    if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(ast.parse(path.read_text())))]
    assert with_imports == []


def test_each_rule_lists_the_modules_its_script_runs():
    from alliance_pipeline.rule_modules import RULE_MODULES

    expected = package_graph.expected_rule_modules()
    stale = {rule: {"missing": sorted(set(modules) - set(RULE_MODULES.get(rule, ()))),
                    "not run": sorted(set(RULE_MODULES.get(rule, ())) - set(modules))}
             for rule, modules in expected.items()
             if set(modules) != set(RULE_MODULES.get(rule, ()))}
    assert stale == {}, "update src/alliance_pipeline/rule_modules.py (python tests/package_graph.py)"
    assert set(RULE_MODULES) == set(expected)


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines without its docstring (the numpydoc docstrings of the statistics,
    with their Examples, are asked for and do not make a function harder to read)."""
    length = node.end_lineno - node.lineno + 1
    first = node.body[0] if node.body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        length -= first.end_lineno - first.lineno + 1
    return length


def test_the_size_check_leaves_out_docstrings_only():
    tree = ast.parse('def f():\n    """Doc.\n\n    More.\n    """\n    x = 1\n    return x\n')
    assert function_lines(tree.body[0]) == 3


def test_modules_and_functions_stay_small():
    big_modules, big_functions, long_functions = [], [], []
    for name, path in package_graph.modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            big_modules.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = function_lines(node)
                if length > MAX_FUNCTION_LINES:
                    big_functions.append(f"{name}.{node.name}: {length} lines")
                elif length > LONG_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name}: {length} lines")
    assert big_modules == []
    assert big_functions == []
    assert len(long_functions) <= MAX_LONG_FUNCTIONS, long_functions


def test_the_top_level_holds_few_modules():
    top = sorted(p.name for p in PACKAGE.iterdir() if p.suffix == ".py")
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def mapped_modules() -> set[str]:
    """The modules docs/development.md's package map lists (its table's first column)."""
    text = (REPO / "docs" / "development.md").read_text(encoding="utf-8")
    section = text.split("## The package, module by module", 1)[1].split("\n## ", 1)[0]
    return {name for line in section.splitlines() if line.startswith("| `")
            for name in re.findall(r"`([\w/]+)`", line.split("|")[1])}


def test_the_package_map_names_every_module_and_only_those():
    modules_here = {name.replace(".", "/") for name in package_graph.modules()
                    if not name.endswith("__main__")}
    mapped = mapped_modules()
    assert {"missing from the map": sorted(modules_here - mapped),
            "mapped but gone": sorted(mapped - modules_here)} == {"missing from the map": [],
                                                                  "mapped but gone": []}
