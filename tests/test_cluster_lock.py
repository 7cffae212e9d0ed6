"""The cluster extra (issue #23): the SLURM executor plugin is locked and hashed on its own.

requirements.lock (the local route, environment.yml) holds no SLURM plugin, so no local
command loads it; requirements-cluster.lock holds the plugin and its job-step plugin with
hashes, and every package both locks pin has the same version there (it is compiled with
``-c requirements.lock``), so installing the extra over the local environment moves nothing.
Read here from the files' text (``name==version`` and ``--hash=`` lines), not through pip.
"""
from __future__ import annotations

import re
import tomllib

from conftest import REPO

PLUGINS = {"snakemake-executor-plugin-slurm", "snakemake-executor-plugin-slurm-jobstep"}


def pins(name: str) -> dict[str, tuple[str, int]]:
    """package -> (version, number of hashes) of a pip-compile --generate-hashes lock."""
    text = (REPO / name).read_text(encoding="utf-8")
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if match:
            found[match.group(1).lower().replace("_", "-")] = (match.group(2), block.count("--hash=sha256:"))
    return found


def test_the_local_lock_and_environment_have_no_slurm_plugin():
    assert PLUGINS.isdisjoint(pins("requirements.lock"))
    assert "snakemake-executor-plugin" not in (REPO / "environment.yml").read_text(encoding="utf-8")
    requirements = (REPO / "requirements.in").read_text(encoding="utf-8").splitlines()
    assert not [line for line in requirements
                if "snakemake-executor-plugin" in line.split("#")[0]]


def test_the_cluster_lock_pins_the_plugins_with_hashes_and_moves_no_shared_pin():
    local, cluster = pins("requirements.lock"), pins("requirements-cluster.lock")
    assert set(cluster) >= PLUGINS
    assert all(hashes >= 1 for _, hashes in cluster.values())
    moved = {name: (local[name][0], version) for name, (version, _) in cluster.items()
             if name in local and local[name][0] != version}
    assert moved == {}
    assert set(cluster) - set(local) == PLUGINS      # nothing else comes only with the extra
    assert "-c requirements.lock" in (REPO / "requirements-cluster.in").read_text(encoding="utf-8")


def test_pyproject_declares_the_cluster_extra_and_not_the_plugin_as_a_dependency():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["optional-dependencies"]["cluster"] == ["snakemake-executor-plugin-slurm"]
    assert not any("slurm" in d for d in project["dependencies"])
