"""Provenance of a report: what went in, with which software, from which commit.

The report's reproducibility appendix is built from one plain dict (see
:func:`collect_provenance`)::

    {"pipeline_version": str, "raw_files": [(path, sha256), ...], "config_yaml": str, "codebook_version": str,
     "packages": [(name, version), ...], "git_commit": str, "git_dirty": bool,
     "command": str}

The functions here do the file and git I/O; :mod:`alliance_pipeline.report.cohort_report` only formats
the dict, so it can be tested with hand-made values.
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import yaml

from alliance_pipeline import __version__

_LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_files(paths: Iterable[str | os.PathLike], base: str | os.PathLike | None = None
               ) -> list[tuple[str, str]]:
    """``[(path, sha256)]`` sorted by path; paths shown relative to ``base`` when inside it."""
    out = []
    for path in paths:
        path = Path(path)
        shown = path
        if base is not None:
            try:
                shown = path.resolve().relative_to(Path(base).resolve())
            except ValueError:
                shown = path
        out.append((shown.as_posix(), sha256_file(path)))
    return sorted(out)


def raw_file_hashes(raw_dir: str | os.PathLike, base: str | os.PathLike | None = None
                    ) -> list[tuple[str, str]]:
    """SHA-256 of every file under a cohort's raw folder (hidden files skipped)."""
    raw_dir = Path(raw_dir)
    files = [p for p in raw_dir.rglob("*")
             if p.is_file() and not any(part.startswith(".") for part in p.relative_to(raw_dir).parts)]
    return hash_files(files, base=base)


def read_lock(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``[(name, version)]`` pinned in a pip-compile lock file (``name==version`` lines)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = _LOCK_LINE.match(line.strip())
        if match:
            out.append((match.group(1).lower(), match.group(2)))
    return sorted(set(out))


def git_state(repo_dir: str | os.PathLike) -> tuple[str, bool]:
    """``(commit, dirty)`` of the git checkout holding ``repo_dir``; ``("unknown", False)``
    when it is not in one (or git is missing).

    ``dirty`` means a tracked file differs from the commit (staged or not): untracked and
    ignored files (the derived tables, reports and logs a run writes) do not count
    (``git status --porcelain --untracked-files=no``).
    """
    try:
        commit = subprocess.run(["git", "-C", str(repo_dir), "rev-parse", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(repo_dir), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return commit, bool(status.strip())


CODING_KEY_SHOWN = "(withheld: it keeps the coding blind)"


def shareable_config(config: dict) -> dict:
    """The config as a report may show it: a cohort's ``coding_key`` is withheld (whoever has
    it can undo the coders' blinding)."""
    cohorts = config.get("cohorts")
    if isinstance(cohorts, dict) and any(isinstance(e, dict) and "coding_key" in e
                                         for e in cohorts.values()):
        config = {**config, "cohorts": {
            name: ({**entry, "coding_key": CODING_KEY_SHOWN}
                   if isinstance(entry, dict) and "coding_key" in entry else entry)
            for name, entry in cohorts.items()}}
    return config


def config_yaml(config: dict) -> str:
    """The effective (validated, default-filled) config as YAML, keys in their given order,
    as :func:`shareable_config` shows it."""
    return yaml.safe_dump(shareable_config(config), sort_keys=False, allow_unicode=True,
                          default_flow_style=False)


def collect_provenance(*, raw_files: list[tuple[str, str]], config: dict | str,
                       codebook_version: str, lock_file: str | os.PathLike | None,
                       repo_dir: str | os.PathLike | None, command: str) -> dict:
    """Assemble the provenance dict the report's appendix is written from."""
    commit, dirty = git_state(repo_dir) if repo_dir is not None else ("unknown", False)
    return {
        "pipeline_version": __version__,
        "raw_files": list(raw_files),
        "config_yaml": config if isinstance(config, str) else config_yaml(config),
        "codebook_version": str(codebook_version),
        "packages": read_lock(lock_file) if lock_file is not None and Path(lock_file).exists() else [],
        "git_commit": commit,
        "git_dirty": dirty,
        "command": command,
    }


def files_changed_since(repo_dir: str | os.PathLike, commit: str) -> list[str] | None:
    """Files of the checkout at ``repo_dir`` (working tree) that differ from ``commit``
    (``git diff --name-only <commit>``); None without git or when the commit is not known here."""
    try:
        subprocess.run(["git", "-C", str(repo_dir), "cat-file", "-e", f"{commit}^{{commit}}"],
                       capture_output=True, check=True)
        out = subprocess.run(["git", "-C", str(repo_dir), "diff", "--name-only", commit, "--"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [line for line in out.splitlines() if line]
