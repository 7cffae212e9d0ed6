"""What a local command pays for the cluster route (``make bench``; issue #23).

Snakemake imports every installed executor plugin when it starts; the SLURM plugin (2.8.0)
then runs ``scontrol show config`` with a 10 s timeout. Where Slurm's client is installed but
no controller answers, that is a wait of about 10 s on every Snakemake start. Measured here,
median of 3 wall times each, in this environment:

- ``snakemake --version`` (``python -m snakemake``, as ``alliance`` starts it);
- a no-op rerun of the pilot (``alliance run`` with nothing to do; the folder is built first);

in up to three states of Slurm's client:

- ``controller stopped``: ``scontrol`` installed, no controller answers. So as not to stop a
  cluster others may use, the commands get ``SLURM_CONF`` naming a copy of Slurm's config
  whose controller port nobody listens on; scontrol then waits as with a stopped controller;
- ``controller up``: the config as it is, when tests/cluster/status.sh finds a cluster;
- ``no scontrol``: ``PATH`` without Slurm's client commands (the folders that hold them
  replaced by copies, as links, without them).

Target: controller stopped at most 1.5x controller up (or, without a cluster, no scontrol).
Whether the SLURM plugin is installed here decides it: the local route (requirements.lock)
has none, the cluster extra (make cluster-env) adds it.

Usage: python benchmarks/cluster_wait.py [--repeat 3] [--keep]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TARGET = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stopped_controller_conf(folder: Path) -> Path:
    """A Slurm config like this machine's, but whose controller nobody answers for."""
    source = Path(os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf"))
    lines = source.read_text().splitlines() if source.is_file() else ["ClusterName=none"]
    controller = ("slurmctldhost", "slurmctldport", "controlmachine")
    lines = [x for x in lines if x.split("=", 1)[0].strip().lower() not in controller]
    path = folder / "slurm.conf"
    path.write_text("\n".join([*lines, "SlurmctldHost=localhost", f"SlurmctldPort={free_port()}"]) + "\n")
    return path


SLURM_CLIENT = {"scontrol", "sacct", "sacctmgr", "salloc", "sattach", "sbatch", "sbcast", "scancel",
                "scrontab", "sdiag", "sinfo", "sprio", "squeue", "sreport", "srun", "sshare", "sstat",
                "strigger", "sview"}


def without_scontrol(folder: Path) -> str:
    """PATH with each folder that holds scontrol replaced by a copy of it (links) without
    Slurm's client commands: everything else (git, which, ...) is still found."""
    dirs = []
    for i, d in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if d and (Path(d) / "scontrol").exists():
            shadow = folder / f"path{i}"
            shadow.mkdir()
            for entry in Path(d).iterdir():
                if entry.name not in SLURM_CLIENT:
                    (shadow / entry.name).symlink_to(entry)
            d = str(shadow)
        dirs.append(d)
    return os.pathsep.join(dirs)


def seconds(command: list[str], env: dict, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return statistics.median(times)


def cluster_answers() -> bool:
    status = REPO / "tests" / "cluster" / "status.sh"
    return subprocess.run(["bash", str(status)], capture_output=True).returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    plugin = find_spec("snakemake_executor_plugin_slurm") is not None
    scontrol = shutil.which("scontrol")
    print(f"cluster wait: SLURM executor plugin {'installed (cluster extra)' if plugin else 'not installed (local route)'}; "
          f"scontrol {scontrol or 'not on PATH'}")
    root = Path(tempfile.mkdtemp(prefix="alliance-bench-wait-"))
    try:
        data = root / "pilot"
        shutil.copytree(REPO / "config", data / "config")
        shutil.copytree(REPO / "data" / "raw" / "pilot", data / "data" / "raw" / "pilot")
        snakemake = [sys.executable, "-m", "snakemake"]
        noop = [*snakemake, "-s", str(REPO / "Snakefile"), "-d", str(data), "--cores", "2", "--keep-going"]
        base = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
        states: dict[str, dict] = {}
        if scontrol:
            states["controller stopped"] = {**base, "SLURM_CONF": str(stopped_controller_conf(root))}
            if cluster_answers():
                states["controller up"] = dict(os.environ)
        states["no scontrol"] = {**base, "PATH": without_scontrol(root)}
        subprocess.run(noop, env=states["no scontrol"], capture_output=True, check=True)  # build it once
        figures = {state: (seconds([*snakemake, "--version"], env, args.repeat), seconds(noop, env, args.repeat))
                   for state, env in states.items()}
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{'state of Slurm':<20} {'snakemake --version':>20} {'no-op rerun':>12}   (median of {args.repeat})")
    for state, (version, rerun) in figures.items():
        print(f"{state:<20} {version:>18.2f} s {rerun:>10.2f} s")
    if "controller stopped" in figures:
        reference = "controller up" if "controller up" in figures else "no scontrol"
        for i, what in enumerate(["snakemake --version", "no-op rerun"]):
            ratio = figures["controller stopped"][i] / figures[reference][i]
            print(f"{what}: controller stopped / {reference} = {ratio:.2f} "
                  f"(target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")
    else:
        print("no scontrol here: no wait is possible (install slurm-client to measure it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
