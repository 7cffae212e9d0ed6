"""The workflow through SLURM beside the same run locally (``make bench``; only when a cluster
answers: tests/cluster/status.sh, e.g. after ``bash tests/cluster/start.sh``).

Two cases, each run twice in fresh temporary folders: locally (``--cores 2``) and with
``--profile profiles/slurm`` (the profile as shipped):

1. ``pilot``: the shipped pilot, default target (tables, figures, report);
2. ``10 cohorts``: 10 generated cohorts of 30 participants (benchmarks/cohorts.py, seeded), all
   derived tables and the study's pooled tables.

The pilot also runs with the plugin's default first status check (40 s after a submission,
where the profile sets 5 s), against the same local run. Printed per case: wall time of both runs, the SLURM jobs the run submitted (sacct), their
summed run time and mean wait in the queue, and the scheduling overhead: the extra wall time
(SLURM - local) per SLURM job and per workflow job that ran on the cluster. The derived tables of both runs are
compared byte for byte.

Usage: python benchmarks/slurm.py [--cohorts 10] [--keep]
"""
from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run_all import REPO, SNAKEMAKE, cohorts_folder, measure, pilot_folder, snapshot, table_targets  # noqa: E402

PROFILE = REPO / "profiles" / "slurm"


def cluster_answers() -> tuple[bool, str]:
    result = subprocess.run(["bash", str(REPO / "tests/cluster/status.sh")], capture_output=True,
                            text=True, timeout=60)
    return result.returncode == 0, (result.stdout or result.stderr).strip()


def sacct_jobs(run_id: str, start: str) -> list[dict]:
    fields = ["JobID", "State", "Submit", "Start", "ElapsedRaw"]
    out = subprocess.run(["sacct", "-X", "-P", "-n", "--name", run_id, "-S", start, "-o",
                          ",".join(fields)], capture_output=True, text=True, timeout=60).stdout
    return [dict(zip(fields, line.split("|"), strict=True)) for line in out.splitlines() if line]


def derived_hashes(folder: Path) -> dict[str, str]:
    base = folder / "data" / "derived"
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file()}


def run_pair(name: str, make_folder, snakefile: Path, targets: list[str], slurm_extra=(),
             local_run: dict | None = None) -> dict:
    """The case locally (or ``local_run``'s) and through SLURM, each in a fresh folder."""
    base = [SNAKEMAKE, "-s", str(snakefile)]
    if local_run:
        local, t_local, code_local = Path(local_run["folder"]), local_run["local"], 0
    else:
        local = make_folder("local")
        t_local, _, code_local = measure([*base, "-d", str(local), "--cores", "2", *targets],
                                         local.parent / f"{name}-local.log")
    cluster = make_folder("slurm" if not slurm_extra else "slurm-extra")
    start = f"{datetime.now() - timedelta(minutes=1):%Y-%m-%dT%H:%M:%S}"
    log = cluster.parent / f"{name}-slurm.log"
    t_slurm, _, code_slurm = measure([*base, "-d", str(cluster), "--profile", str(PROFILE),
                                      *slurm_extra, *targets], log)
    text = log.read_text(errors="replace")
    run_id = re.search(r"^SLURM run ID: (\S+)$", text, re.M)
    jobs = sacct_jobs(run_id.group(1), start) if run_id else []
    waits = [(datetime.fromisoformat(j["Start"]) - datetime.fromisoformat(j["Submit"])).total_seconds()
             for j in jobs if j["Start"] not in ("", "Unknown", "None")]
    cluster_jobs = len(re.findall(r"^\s*rule \w+:$", text, re.M))   # not localrule
    return {"name": name, "folder": str(local), "local": t_local, "slurm": t_slurm, "ok": code_local == code_slurm == 0,
            "jobs": len(jobs), "cluster_jobs": cluster_jobs,
            "completed": sum(j["State"] == "COMPLETED" for j in jobs),
            "elapsed": sum(int(j["ElapsedRaw"] or 0) for j in jobs),
            "wait": sum(waits) / len(waits) if waits else float("nan"),
            "identical": derived_hashes(local) == derived_hashes(cluster), "log": str(log)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = parser.parse_args()
    ok, status = cluster_answers()
    if not ok:
        print(f"SLURM benchmark skipped: {status} (start a cluster with `bash tests/cluster/start.sh`)")
        return 0
    print(f"SLURM benchmark: {status}; profile {PROFILE}")
    root = Path(tempfile.mkdtemp(prefix="alliance-bench-slurm-"))
    snakefile = snapshot(root)
    names = [f"c{i:03d}" for i in range(1, args.cohorts + 1)]
    results = []
    try:
        results.append(run_pair("pilot", lambda kind: pilot_folder(root / kind), snakefile, []))
        results.append(run_pair("pilot, first status check at 40 s (the plugin's default)",
                                lambda kind: pilot_folder(root / kind), snakefile, [],
                                ("--slurm-init-seconds-before-status-checks", "40"), results[0]))
        results.append(run_pair(f"{args.cohorts} cohorts",
                                lambda kind: cohorts_folder(root / kind, args.cohorts),
                                snakefile, table_targets(names, study=True)))
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    for r in results:
        extra = r["slurm"] - r["local"]
        print(f"\n{r['name']}:\n"
              f"  wall time: local {r['local']:.1f} s, through SLURM {r['slurm']:.1f} s "
              f"(+{extra:.1f} s)\n"
              f"  SLURM jobs: {r['jobs']} ({r['completed']} completed) holding {r['cluster_jobs']} "
              f"workflow jobs; run time {r['elapsed']} s in all, mean queue wait {r['wait']:.1f} s\n"
              f"  scheduling overhead: {extra / max(r['jobs'], 1):.1f} s per SLURM job, "
              f"{extra / max(r['cluster_jobs'], 1):.1f} s per workflow job on the cluster\n"
              f"  derived tables identical to the local run: {'yes' if r['identical'] else 'NO'}")
        if not r["ok"]:
            print(f"!! {r['name']} failed; log: {r['log']}", file=sys.stderr)
    return 0 if all(r["ok"] and r["identical"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
