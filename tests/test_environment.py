"""environment.yml (the conda route) holds requirements.lock's exact versions and works alone.

``make lock`` writes environment.yml from the lock (scripts/environment_from_lock.py). The
checks here read both files on their own terms, not through that script: the lock's
``name==version`` lines, and the environment's pip entries parsed as PEP 508 requirements by
``packaging`` (what pip parses them with). No conda is reachable on the development machines:
these tests are what checks the conda route, not a real ``conda env create``.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from conftest import REPO, pilot_copy, workflow_rules

LOCK = REPO / "requirements.lock"
ENVIRONMENT = REPO / "environment.yml"
# The environment.yml before issue 14: pip read the lock from beside the file.
OLD_ENVIRONMENT = """
name: alliance
channels: [conda-forge, nodefaults]
dependencies:
  - python=3.11
  - pip
  - quarto
  - pip:
      - -r requirements.lock
"""
# A conda match spec: a package name, optionally a version (python=3.11, quarto>=1.4).
CONDA_SPEC = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(\s*[=<>!~]=?\s*[A-Za-z0-9_.*,<>=!]+)?")


def lock_versions(text: str) -> dict[str, str]:
    """Normalised package name -> version of every ``name==version`` line of a pip-compile lock."""
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", text, re.M)
    return {canonicalize_name(name): version for name, version in pins}


def split_dependencies(environment: dict) -> tuple[list[str], list[str]]:
    """(conda entries, pip entries) of a parsed environment file."""
    conda, pip = [], []
    for entry in environment.get("dependencies") or []:
        if isinstance(entry, dict):
            pip += [str(x) for x in entry.get("pip") or []]
        else:
            conda.append(str(entry))
    return conda, pip


def version_disagreements(environment: dict, lock_text: str) -> list[str]:
    """Every package whose version differs between the environment and the lock, or that only
    one of them has; and Python's version against the one the lock was compiled with."""
    locked = lock_versions(lock_text)
    conda, pip = split_dependencies(environment)
    problems, pinned = [], {}
    for entry in pip:
        try:
            requirement = Requirement(entry)
        except InvalidRequirement:
            problems.append(f"pip entry {entry!r} is not a package pin")
            continue
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator != "==":
            problems.append(f"pip entry {entry!r} is not pinned to one version (==)")
            continue
        pinned[canonicalize_name(requirement.name)] = specs[0].version
    for name in sorted(set(locked) | set(pinned)):
        if name not in pinned:
            problems.append(f"{name}=={locked[name]} is in the lock, not in the environment")
        elif name not in locked:
            problems.append(f"{name}=={pinned[name]} is in the environment, not in the lock")
        elif pinned[name] != locked[name]:
            problems.append(f"{name}: environment {pinned[name]}, lock {locked[name]}")
    compiled = re.search(r"pip-compile with Python (\d+\.\d+)", lock_text)
    python = [e for e in conda if re.fullmatch(r"python\s*[=<>!~].*", e)]
    if not compiled or python != [f"python={compiled.group(1)}"]:
        problems.append(f"Python: environment {python}, lock compiled with "
                        f"{compiled.group(1) if compiled else 'an unstated version'}")
    return problems


def references_beside(environment_file: Path) -> list[str]:
    """Entries of an environment file that need a file other than itself: pip options that read
    files (-r, -c, -e, --find-links, ...), requirements given as a URL or a path, conda entries
    that are not package specs; and any word of an entry that names a file of the checkout
    the environment file comes from (comments aside)."""
    environment = yaml.safe_load(environment_file.read_text(encoding="utf-8"))
    conda, pip = split_dependencies(environment)
    problems = [f"conda entry {e!r} is not a package spec" for e in conda if not CONDA_SPEC.fullmatch(e)]
    for entry in pip:
        if entry.lstrip().startswith("-"):
            problems.append(f"pip entry {entry!r} is an option (it reads a file or an index)")
            continue
        try:
            requirement = Requirement(entry)
        except InvalidRequirement:
            problems.append(f"pip entry {entry!r} is not a requirement (a path?)")
            continue
        if requirement.url:
            problems.append(f"pip entry {entry!r} installs from a URL or path")
    for word in re.findall(r"[\w./-]+", " ".join(conda + pip)):
        if (REPO / word).exists() and word != ".":
            problems.append(f"names {word}, a file beside environment.yml in the checkout")
    return sorted(set(problems))


def deployed_alone(source: Path, folder: Path) -> Path:
    """``source`` copied alone into ``folder``, as Snakemake's --sdm conda copies a rule's
    environment to .snakemake/conda/<hash>.yaml before ``conda env create --file`` on it."""
    target = folder / ".snakemake" / "conda" / "0123456789abcdef.yaml"
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    return target


def test_environment_has_the_lock_versions():
    environment = yaml.safe_load(ENVIRONMENT.read_text(encoding="utf-8"))
    assert version_disagreements(environment, LOCK.read_text(encoding="utf-8")) == []
    assert environment["channels"][0] == "conda-forge"
    assert "quarto" in split_dependencies(environment)[0]


def test_environment_copied_alone_refers_to_no_file_beside_it(tmp_path):
    copy = deployed_alone(ENVIRONMENT, tmp_path)
    assert sorted(p.name for p in copy.parent.iterdir()) == [copy.name]
    assert references_beside(copy) == []


def test_the_checks_catch_a_drifted_or_dependent_environment(tmp_path):
    lock_text = LOCK.read_text(encoding="utf-8")
    environment = yaml.safe_load(ENVIRONMENT.read_text(encoding="utf-8"))
    # one version changed in the environment: named
    pip = next(e for e in environment["dependencies"] if isinstance(e, dict))["pip"]
    first = Requirement(pip[0])
    pip[0] = f"{first.name}==0.0.1"
    assert version_disagreements(environment, lock_text) == [
        f"{canonicalize_name(first.name)}: environment 0.0.1, lock "
        f"{lock_versions(lock_text)[canonicalize_name(first.name)]}"]
    # the environment file as it was: reads the lock from beside itself
    old = tmp_path / "old.yml"
    old.write_text(OLD_ENVIRONMENT, encoding="utf-8")
    assert version_disagreements(yaml.safe_load(OLD_ENVIRONMENT), lock_text)
    assert references_beside(deployed_alone(old, tmp_path / "deployed")) == [
        "names requirements.lock, a file beside environment.yml in the checkout",
        "pip entry '-r requirements.lock' is an option (it reads a file or an index)"]


def test_environment_is_what_make_lock_writes():
    result = subprocess.run([sys.executable, "scripts/environment_from_lock.py", "--check"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.workflow
def test_every_rule_that_runs_a_script_names_environment_yml(tmp_path):
    # what `snakemake --sdm conda` builds each job's environment from
    rules = workflow_rules(pilot_copy(tmp_path / "study", cohorts={"replica": "replica"}))
    scripted = {name: rule["conda"] for name, rule in rules.items() if rule["script"]}
    assert scripted and set(scripted.values()) == {str(ENVIRONMENT)}, scripted
