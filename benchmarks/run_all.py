"""Speed and memory of the whole workflow on this machine (``make bench``).

Each case runs ``snakemake -s <Snakefile> -d <temporary folder> --cores N`` as a user would,
on data generated into the folder (seeded, benchmarks/cohorts.py; the pilot is copied):

1. ``pilot``: the shipped pilot, cold (default target: tables, figures, report);
2. ``no-op``: the same folder again with nothing to do (median of 3), beside
   ``snakemake --version`` (median of 3): the floor no workflow run can go below;
3. ``50 cohorts``: 50 generated cohorts of 30 participants with the study's codebook; the
   table targets only (every cohort's derived tables and the study's pooled tables; no
   figures, no report rendering);
4. ``large cohort``: one cohort of 100,000 participants x 3 time points x 10 codes (one
   multi-label question) coded by 3 coders; every derived table. Then the intake step
   alone on the same raw files, beside a plain ``pandas.read_csv`` of them, in one fresh
   interpreter (benchmarks/bench_intake.py, medians of 5 runs; target of issue #25: at most 5x
   the plain read).
5. ``workbooks``: blinded coding workbooks for 10,000 responses x 3 coders written and the
   filled ones read back (benchmarks/bench_workbooks.py; the filling is prepared first and
   not counted).
6. ``exports``: survey exports of 10,000 participants x 3 waves read by intake: one REDCap
   long export and three Qualtrics CSV exports as downloaded (benchmarks/bench_exports.py;
   writing them is prepared first and not counted).
7. ``startup``: each rule's start-up, the median wall time of a fresh interpreter importing
   what its script imports (benchmarks/startup.py), beside the floor (Python and Snakemake's
   script preamble alone).

Wall time is measured around the snakemake process; peak memory is the largest resident set
of any one process of the run (the snakemake process or one of its jobs), from ``wait4``.
After each case the jobs' own times (Snakemake's metadata) are summed per rule, to show where
the time goes. Targets on a 2-core machine (printed beside the results):
no-op under 2x the floor; 50 cohorts under 180 s; the large cohort under 90 s and 2 GB;
the workbooks under 30 s and 1 GB; each export under 10 s and 1 GB.

Usage: python benchmarks/run_all.py [--cores 2] [--only pilot noop cohorts large workbooks exports startup]
       [--participants 100000] [--cohorts 50] [--snakefile PATH] [--keep] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "src"))

from bench_intake import verdict as intake_verdict  # noqa: E402
from cohorts import bench_codebook, generate_cohort, write_study  # noqa: E402
from startup import measure as measure_startup  # noqa: E402
from startup import print_startup  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TABLES = ["disagreements", "final_codes", "agreement", "proportions", "tests", "power",
          "models"]
STUDY_TABLES = ["reports/study/tables/pooled.csv", "reports/study/tables/cohorts.csv"]
TARGETS = {"noop_factor": 2.0, "cohorts_seconds": 180.0, "large_seconds": 90.0,
           "large_bytes": 2 * 1024 ** 3, "workbooks_seconds": 30.0, "workbooks_bytes": 1024 ** 3,
           "exports_seconds": 10.0, "exports_bytes": 1024 ** 3}


@dataclass
class Run:
    name: str
    seconds: float
    peak_bytes: int
    returncode: int
    jobs: int = 0
    by_rule: dict = field(default_factory=dict)   # rule -> [jobs, summed seconds, longest]
    log: str = ""


# Runs the command and reports on it from a small separate interpreter: a child forked from
# this (large) process would count this process's pages in its own peak RSS.
MEASURE = """
import json, os, subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    start = time.perf_counter()
    process = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
print(json.dumps([seconds, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def measure(cmd: list[str], log: Path) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in bytes of the largest process of the tree, return code)."""
    out = subprocess.run([sys.executable, "-I", "-S", "-c", MEASURE, str(log), *cmd],
                         capture_output=True, text=True, check=True).stdout
    seconds, peak, code = json.loads(out)
    scale = 1 if sys.platform == "darwin" else 1024     # Linux reports KiB
    return seconds, peak * scale, code


def snakemake(workdir: Path, cores: int, snakefile: Path, targets=(), extra=("--quiet", "all")
              ) -> list[str]:
    return [SNAKEMAKE, "-s", str(snakefile), "-d", str(workdir), "--cores", str(cores),
            *targets, *extra]


def job_times(workdir: Path) -> dict:
    """rule -> [jobs, summed job seconds, longest job seconds] from .snakemake/metadata."""
    seen = {}
    for path in (workdir / ".snakemake" / "metadata").glob("*"):
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("starttime") and meta.get("endtime"):
            seen[(meta["rule"], meta.get("job_hash"))] = meta["endtime"] - meta["starttime"]
    out: dict = defaultdict(lambda: [0, 0.0, 0.0])
    for (rule, _), seconds in seen.items():
        entry = out[rule]
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)
    return {rule: [n, round(total, 1), round(longest, 1)] for rule, (n, total, longest) in out.items()}


WORKFLOW_PARTS = ["Snakefile", "rules", "scripts", "src", "schemas", "reports/report.qmd",
                  "reports/study.qmd", "reports/_quarto.yml", "environment.yml", "requirements.lock"]


def snapshot(root: Path) -> Path:
    """A copy of the workflow's code: what is measured is this checkout, even while it is edited."""
    dest = root / "workflow"
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
    return dest / "Snakefile"


def run_case(name: str, workdir: Path, cmd: list[str]) -> Run:
    log = workdir.parent / f"{workdir.name}-{name.replace(' ', '_')}.log"
    seconds, peak, code = measure(cmd, log)
    by_rule = job_times(workdir)
    result = Run(name, seconds, peak, code, sum(v[0] for v in by_rule.values()), by_rule, str(log))
    if code != 0:
        print(f"!! {name} failed (exit {code}); log: {log}\n{log.read_text()[-3000:]}", file=sys.stderr)
    return result


def median_run(name: str, cmd: list[str], workdir: Path, repeat: int = 3,
               expect: str | None = None) -> Run:
    logs = [workdir.parent / f"{name}-{i}.log" for i in range(repeat)]
    runs = [measure(cmd, log) for log in logs]
    for log in logs:
        if expect and expect not in log.read_text():
            print(f"!! {name}: {log} lacks {expect!r}; it was not a no-op", file=sys.stderr)
    seconds = statistics.median(r[0] for r in runs)
    return Run(name, seconds, max(r[1] for r in runs), max(r[2] for r in runs))


# ------------------------------------------------------------------ cases

def pilot_folder(root: Path) -> Path:
    folder = root / "pilot"
    shutil.copytree(REPO / "config", folder / "config")
    shutil.copytree(REPO / "data" / "raw" / "pilot", folder / "data" / "raw" / "pilot")
    return folder


def cohorts_folder(root: Path, n_cohorts: int, participants: int = 30) -> Path:
    from alliance_pipeline.config.load import load_yaml
    from alliance_pipeline.config.settings import questions_settings

    base = load_yaml(REPO / "config" / "config.yaml")
    codebook = load_yaml(REPO / "config" / "codebook.yaml")
    questions = questions_settings(codebook)
    cohorts = {f"c{i:03d}": generate_cohort(participants, questions=questions, seed=1000 + i,
                                            missing=0.05, prefix="P")
               for i in range(1, n_cohorts + 1)}
    return write_study(root / "cohorts", cohorts, codebook=codebook, base_config=base)


def large_folder(root: Path, participants: int) -> Path:
    from alliance_pipeline.config.settings import questions_settings

    codebook = bench_codebook(n_codes=10)
    frames = generate_cohort(participants, questions=questions_settings(codebook),
                             coders=("coder_a", "coder_b", "coder_c"), seed=7, error=0.02)
    return write_study(root / "large", {"large": frames}, codebook=codebook)


def measure_intake(folder: Path, cohort: str, checkout: Path) -> dict | None:
    """The intake step's own time beside a plain pandas.read_csv of the same raw files, both
    measured in one fresh interpreter (benchmarks/bench_intake.py) on the measured checkout."""
    done = subprocess.run([sys.executable, str(HERE / "bench_intake.py"), str(folder), cohort,
                           "--json", "--repeat", "5", "--src", str(checkout / "src")],
                          capture_output=True, text=True)
    if done.returncode != 0:
        print(f"!! intake step benchmark failed:\n{done.stderr[-3000:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def table_targets(cohorts: list[str], study: bool) -> list[str]:
    targets = [f"data/derived/{c}/{t}.csv" for c in cohorts for t in TABLES]
    return targets + (STUDY_TABLES if study else [])


# ------------------------------------------------------------------ report

def fmt_bytes(n: int) -> str:
    return f"{n / 1024 ** 2:,.0f} MB" if n < 1024 ** 3 else f"{n / 1024 ** 3:.2f} GB"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_breakdown(run: Run) -> None:
    if not run.by_rule:
        return
    rows = sorted(run.by_rule.items(), key=lambda kv: -kv[1][1])
    print("      where the time goes (jobs, summed job seconds, longest job):")
    for rule, (n, total, longest) in rows:
        print(f"        {rule:<15} {n:>4} jobs {total:>8.1f} s   longest {longest:>6.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    cases = ["pilot", "noop", "cohorts", "large", "workbooks", "exports", "startup"]
    parser.add_argument("--only", nargs="+", choices=cases, default=cases)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--cohorts", type=int, default=50)
    parser.add_argument("--snakefile", type=Path,
                        help="workflow to measure (default: a snapshot of this checkout's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()

    t = time.perf_counter()
    version = subprocess.run([SNAKEMAKE, "--version"], capture_output=True, text=True).stdout.strip()
    if time.perf_counter() - t > 5 and shutil.which("scontrol"):
        print("note: `snakemake --version` took over 5 s: the SLURM executor plugin asks `scontrol show "
              "config` whenever Snakemake starts, and waits up to 10 s when Slurm's client is installed "
              "but no controller answers. Every run below includes that wait; start the controller "
              "(tests/cluster/start.sh here) to measure without it.")
    root = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    args.snakefile = args.snakefile or snapshot(root)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
          f"Snakemake {version}; --cores {args.cores}; Snakefile {args.snakefile}")
    results: dict[str, Run] = {}
    startup = None
    model_step = ""
    intake = None
    try:
        if "startup" in args.only:
            startup = measure_startup(repeat=5, root=args.snakefile.parent)
        if {"pilot", "noop"} & set(args.only):
            folder = pilot_folder(root)
            results["pilot"] = run_case("pilot cold", folder, snakemake(folder, args.cores, args.snakefile))
            if "noop" in args.only:
                results["noop"] = median_run("no-op", snakemake(folder, args.cores, args.snakefile, extra=()),
                                             folder, expect="Nothing to be done")
                results["floor"] = median_run("floor", [SNAKEMAKE, "--version"], folder)
        if "cohorts" in args.only:
            t = time.perf_counter()
            folder = cohorts_folder(root, args.cohorts)
            made = time.perf_counter() - t
            names = [f"c{i:03d}" for i in range(1, args.cohorts + 1)]
            results["cohorts"] = run_case(f"{args.cohorts} cohorts", folder, snakemake(
                folder, args.cores, args.snakefile, table_targets(names, study=len(names) >= 2)))
            print(f"   ({args.cohorts} cohorts generated in {made:.1f} s, not counted)")
        if "large" in args.only:
            t = time.perf_counter()
            folder = large_folder(root, args.participants)
            made = time.perf_counter() - t
            results["large"] = run_case("large cohort", folder, snakemake(
                folder, args.cores, args.snakefile, table_targets(["large"], study=False)))
            print(f"   ({args.participants:,} participants generated in {made:.1f} s, not counted)")
            if results["large"].returncode == 0:
                # the model step alone (GEE and sign-flip rows of models.csv), part of rule change
                done = subprocess.run([sys.executable, str(HERE / "bench_change.py"), "--models-from",
                                       str(folder), "large"], capture_output=True, text=True,
                                      env={**os.environ, "PYTHONPATH": str(REPO / "src")})
                model_step = (done.stdout.strip().splitlines() or [done.stderr.strip()])[-1]
            intake = measure_intake(folder, "large", args.snakefile.parent)
        if "workbooks" in args.only:
            folder, script = root / "workbooks", str(HERE / "bench_workbooks.py")
            subprocess.run([sys.executable, script, "prepare", str(folder)], check=True)
            results["workbooks"] = run_case("workbooks", folder, [sys.executable, script, "run",
                                                                  str(folder)])
        if "exports" in args.only:
            folder, script = root / "exports", str(HERE / "bench_exports.py")
            subprocess.run([sys.executable, script, "prepare", str(folder)], check=True)
            for layout in ("redcap", "qualtrics"):
                results[f"exports_{layout}"] = run_case(f"{layout} export", folder, [
                    sys.executable, script, "run", str(folder), "--layout", layout])
    finally:
        if args.keep:
            print(f"kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    if results:
        print("\ncase                                         time        peak memory   target")
    line = "{:<44} {:>7.1f} s   {:>10}   {}"
    if "pilot" in results:
        r = results["pilot"]
        print(line.format(f"pilot, cold ({r.jobs} jobs, default target)", r.seconds,
                          fmt_bytes(r.peak_bytes), "-"))
        print_breakdown(r)
    if "noop" in results:
        r, floor = results["noop"], results["floor"]
        factor = r.seconds / floor.seconds
        print(line.format("no-op rerun (median of 3)", r.seconds, fmt_bytes(r.peak_bytes),
                          f"{factor:.2f}x the floor, < {TARGETS['noop_factor']:.0f}x: "
                          f"{verdict(factor < TARGETS['noop_factor'])}"))
        print(line.format("  floor: snakemake --version (median of 3)", floor.seconds,
                          fmt_bytes(floor.peak_bytes), "-"))
    if "cohorts" in results:
        r = results["cohorts"]
        print(line.format(f"{args.cohorts} cohorts x 30 participants, tables ({r.jobs} jobs)",
                          r.seconds, fmt_bytes(r.peak_bytes),
                          f"< {TARGETS['cohorts_seconds']:.0f} s: "
                          f"{verdict(r.seconds < TARGETS['cohorts_seconds'] and r.returncode == 0)}"))
        print_breakdown(r)
    if "large" in results:
        r = results["large"]
        ok = (r.seconds < TARGETS["large_seconds"] and r.peak_bytes < TARGETS["large_bytes"]
              and r.returncode == 0)
        print(line.format(f"{args.participants:,} participants x 3 x 10 codes x 3 coders",
                          r.seconds, fmt_bytes(r.peak_bytes),
                          f"< {TARGETS['large_seconds']:.0f} s and < 2 GB: {verdict(ok)}"))
        print_breakdown(r)
        if model_step:
            print(f"   of which the {model_step} (timed again on its own, within rule change)")
    if intake:
        print("      intake step alone (median of 5, fresh interpreter, no Snakemake start-up or imports):")
        print("        " + intake_verdict((intake["plain"], intake["plain_cpu"]),
                                          (intake["intake"], intake["intake_cpu"]), intake["files"]))
    if "workbooks" in results:
        r = results["workbooks"]
        ok = (r.seconds < TARGETS["workbooks_seconds"] and r.peak_bytes < TARGETS["workbooks_bytes"]
              and r.returncode == 0)
        print(line.format("coding workbooks, 10,000 responses x 3 coders",
                          r.seconds, fmt_bytes(r.peak_bytes),
                          f"< {TARGETS['workbooks_seconds']:.0f} s and < 1 GB: {verdict(ok)}"))
    for layout, what in (("redcap", "REDCap long export, 10,000 x 3 waves"),
                         ("qualtrics", "Qualtrics CSV exports, 10,000 x 3 waves")):
        if f"exports_{layout}" in results:
            r = results[f"exports_{layout}"]
            ok = (r.seconds < TARGETS["exports_seconds"] and r.peak_bytes < TARGETS["exports_bytes"]
                  and r.returncode == 0)
            print(line.format(what, r.seconds, fmt_bytes(r.peak_bytes),
                              f"< {TARGETS['exports_seconds']:.0f} s and < 1 GB: {verdict(ok)}"))
    if startup:
        print_startup(startup)
    if args.json:
        out = {k: asdict(v) for k, v in results.items()}
        if intake:
            out["intake_step"] = intake
        args.json.write_text(json.dumps({**out, "startup": startup} if startup else out, indent=2))
    return 0 if all(r.returncode == 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
