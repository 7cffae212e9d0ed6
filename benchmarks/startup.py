"""Start-up of each rule's job: what its script imports before its step runs (``make bench``).

A Snakemake ``script:`` job is a fresh Python process: Snakemake's preamble (unpickling the
job's ``snakemake`` object, importing ``snakemake.logging`` and ``snakemake.iocontainers``) and
then the script's own top-level imports, before its step function is called. Both run here
as in a one-thread job: the same preamble (a ``snakemake`` object of the same class) and the
thread variables Snakemake sets for it (``OPENBLAS_NUM_THREADS=1`` and its kin; without them,
numpy's OpenBLAS start-up alone adds about 0.1 s of CPU). For every rule of ``rules/*.smk``
with a script, this runs those imports in a fresh interpreter (``python -c``), ``--repeat``
times, and prints the median wall and CPU time beside the floor (the interpreter and the
preamble alone). ``-X importtime`` names the largest top-level packages a script pulls in, so
an import its step does not need shows.

What a step imports when it runs (for example statsmodels inside the agreement step) is
counted in the job's own time, not here.

Usage: python benchmarks/startup.py [--repeat 5] [--root CHECKOUT] [--json FILE]
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
RULE = re.compile(r"^rule (\w+):", re.M)
SCRIPT = re.compile(r"^\s+script:\s*\n\s+\"([^\"]+)\"", re.M)


def rule_scripts(rules_dir: Path) -> dict[str, Path]:
    """rule name -> its script, for every rule of ``rules/*.smk`` that runs a script."""
    out = {}
    for smk in sorted(rules_dir.glob("*.smk")):
        text = smk.read_text(encoding="utf-8")
        starts = [(m.start(), m.group(1)) for m in RULE.finditer(text)] + [(len(text), "")]
        for (start, name), (end, _) in pairwise(starts):
            found = SCRIPT.search(text, start, end)
            if found:
                out[name] = (smk.parent / found.group(1)).resolve()
    return out


def script_imports(script: Path) -> str:
    """The script's top-level import statements, as source."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    return "\n".join(ast.unparse(node) for node in tree.body
                     if isinstance(node, (ast.Import, ast.ImportFrom)))


def preamble(root: Path) -> str:
    """Snakemake's script preamble for a one-thread job of the workflow at ``root``.

    As ``snakemake.script.PythonScript.generate_preamble`` writes it (Snakemake 9): unpickle
    the job's ``snakemake`` object, then import its logger and the object's class.
    """
    from snakemake.iocontainers import (
        InputFiles,
        Log,
        OutputFiles,
        Params,
        ResourceList,
        Snakemake,
        Wildcards,
    )
    job = Snakemake(InputFiles(["data/derived/pilot/responses.csv"]),
                    OutputFiles(["data/derived/pilot/consensus.csv"]),
                    Params(fromdict={"cohort": {"cohort": "pilot"}}),
                    Wildcards(fromdict={"cohort": "pilot"}),
                    1, ResourceList(fromdict={"_cores": 1, "_nodes": 1}),
                    Log(["logs/pilot/consensus.log"]), {}, "consensus", None, str(root / "scripts"))
    pickled = pickle.dumps(job, protocol=4)
    return (f"import sys; import pickle\nsnakemake = pickle.loads({pickled!r})\n"
            "from snakemake.logging import logger\nfrom snakemake.iocontainers import Snakemake")


def environment(root: Path) -> dict:
    """The environment of a one-thread job of the workflow at ``root``: its ``src/`` first on
    the path, and the thread variables Snakemake sets (``snakemake/shell.py``)."""
    return {**os.environ, **dict.fromkeys(THREAD_VARIABLES, "1"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "src"),
                                                        os.getenv("PYTHONPATH")]))}


def timed(code: str, repeat: int, root: Path = REPO) -> tuple[float, float]:
    """Median (wall, CPU) seconds of a fresh interpreter running ``code``.

    CPU time (user + system, from ``wait4``) barely moves when other work shares the cores;
    wall time does.
    """
    walls, cpus = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", code], cwd=root, env=environment(root))
        _, status, usage = os.wait4(process.pid, 0)
        walls.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"failed: python -c {code!r}")
    return statistics.median(walls), statistics.median(cpus)


def heaviest(code: str, top: int = 4, root: Path = REPO) -> list[tuple[str, float]]:
    """The third-party packages taking longest to import (``-X importtime``, cumulative).

    A package's time is its largest cumulative entry (``scipy.stats`` for scipy), including what
    it imports itself (pandas includes numpy).
    """
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], check=True, cwd=root,
                         env=environment(root), capture_output=True, text=True).stderr
    skip = set(sys.stdlib_module_names) | {"alliance_pipeline", "snakemake"}
    totals: dict[str, float] = {}
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        root = parts[2].strip().split(".")[0]
        if not root.startswith("_") and root not in skip:      # scipy: its largest, scipy.stats
            totals[root] = max(totals.get(root, 0.0), int(parts[1]) / 1e6)
    return sorted(totals.items(), key=lambda kv: -kv[1])[:top]


def measure(repeat: int = 5, root: Path = REPO) -> dict:
    """{'floor': [wall, cpu], 'rules': {rule: {'script', 'seconds', 'cpu', 'heaviest'}}} of the
    workflow at ``root``."""
    root = root.resolve()
    start = preamble(root)
    floor = timed(start, repeat, root)
    rules = {}
    for rule, script in rule_scripts(root / "rules").items():
        code = start + "\n" + script_imports(script)
        seconds, cpu = timed(code, repeat, root)
        rules[rule] = {"script": script.relative_to(root).as_posix(),
                       "seconds": round(seconds, 3), "cpu": round(cpu, 3),
                       "heaviest": [[p, round(s, 3)] for p, s in heaviest(code, root=root)]}
    return {"floor": [round(t, 3) for t in floor], "rules": rules}


def print_startup(result: dict) -> None:
    rules = result["rules"]
    wall, cpu = result["floor"]
    print(f"\nstart-up per job: the script's imports in a fresh interpreter (median; floor: Python "
          f"and Snakemake's preamble, {wall:.2f} s wall, {cpu:.2f} s CPU)")
    print(f"  {'rule':<22} {'wall':>7} {'CPU':>7}   slowest imports (s)")
    for rule, entry in sorted(rules.items(), key=lambda kv: -kv[1]["cpu"]):
        heavy = ", ".join(f"{p} {s:.2f}" for p, s in entry["heaviest"])
        print(f"  {rule:<22} {entry['seconds']:>5.2f} s {entry['cpu']:>5.2f} s   {heavy}")
    print(f"  {'median over rules':<22} {statistics.median(e['seconds'] for e in rules.values()):>5.2f} s "
          f"{statistics.median(e['cpu'] for e in rules.values()):>5.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--root", type=Path, default=REPO,
                        help="the checkout to measure (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    result = measure(args.repeat, args.root)
    print_startup(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
