"""The ``alliance`` command: one spelling of everything a team does with the pipeline.

    alliance run [--cores N] [-d DIR] [--profile PROFILE]   the workflow, then the report paths
    alliance coding-sheets [--cores N] [-d DIR]              blinded coding workbooks only
    alliance status [-d DIR]                  per cohort: what it waits for and the next step
    alliance verify REPORT [--final-codes FILE] [--data-dir DIR]   a reviewer's check
    alliance new-cohort NAME [--survey {xlsx,csv}] [-d DIR]  a cohort block and its raw folder
    alliance --version

Exit status (:data:`EXIT_STATUS`): 0 done; 1 the workflow failed, or the report is NOT
VERIFIED; 2 a usage error or a config that does not check (nothing was run or written).
Snakemake runs as ``[sys.executable, "-m", "snakemake", ...]``: no shell and no path of a
virtual environment's ``bin``/``Scripts`` folder, so the same command works on Windows.
The Makefile's targets call this command (``make run`` is ``alliance run``).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from contextlib import chdir
from pathlib import Path

from alliance_pipeline import __version__
from alliance_pipeline.app import status
from alliance_pipeline.app.scaffold import add_cohort
from alliance_pipeline.config.load import ConfigError, load_study

EXIT_STATUS = {0: "done (verify: VERIFIED)",
               1: "the workflow failed (a cohort stopped: the summary says why), or verify: NOT VERIFIED",
               2: "usage error or config problem: nothing was run or written"}
EPILOG = ("exit status: " + "; ".join(f"{code} {what}" for code, what in EXIT_STATUS.items())
          + ". Manual: docs/user-guide.md.")
CHECKOUT = Path(__file__).resolve().parents[3]   # src/alliance_pipeline/app/cli.py -> the checkout
SLURM_PLUGIN = "snakemake_executor_plugin_slurm"


class UsageError(Exception):
    """A refused argument: printed as ``alliance: error: ...``, exit status 2."""


def snakefile() -> Path:
    """The checkout's Snakefile (the package is installed editable, from the checkout)."""
    path = CHECKOUT / "Snakefile"
    if not path.is_file():
        raise UsageError(f"no Snakefile beside the package ({path}); install the package from "
                         "its checkout: python -m pip install --no-deps -e <checkout>")
    return path


def data_dir(value: str) -> Path:
    """The data folder (config/, data/raw/): it must exist and hold config/config.yaml."""
    path = Path(value).resolve()
    if not (path / "config" / "config.yaml").is_file():
        raise UsageError(f"{value}: no config/config.yaml in this folder; give the folder that "
                         "holds config/ and data/raw/ with -d (the checkout by default when run "
                         "from it)")
    return path


def cores(value: str) -> str:
    """``--cores``: a positive whole number or ``all``."""
    if value == "all" or (value.isdigit() and int(value) > 0):
        return value
    raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number or 'all'")


def snakemake_command(directory: Path, cores_: str, targets: Sequence[str] = (),
                      profile: str | None = None) -> list[str]:
    """The Snakemake command line, run by this interpreter (no shell, no venv path)."""
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile()), "-d", str(directory),
               "--cores", cores_, "--keep-going"]
    if profile:
        command += ["--profile", profile]
    return [*command, *targets]


def require_cluster_plugin() -> None:
    """``--profile profiles/slurm`` needs the SLURM executor plugin of the cluster extra."""
    from importlib.util import find_spec

    if find_spec(SLURM_PLUGIN) is None:
        raise UsageError("the SLURM executor plugin is not installed in this environment; "
                         "install the cluster extra first: python -m pip install --require-hashes "
                         "-r requirements-cluster.lock (make cluster-env), see docs/cluster.md")


def run_workflow(args: argparse.Namespace, targets: Sequence[str] = ()) -> int:
    directory = data_dir(args.directory)
    profile = getattr(args, "profile", None)
    if profile and "slurm" in Path(profile).name:
        require_cluster_plugin()
    process = subprocess.Popen(snakemake_command(directory, args.cores, targets, profile))
    try:
        code = process.wait()
    except KeyboardInterrupt:   # Ctrl-C reaches Snakemake too: let it stop its jobs, then end
        code = process.wait()
    if not targets:
        reports = sorted((directory / "reports").glob("*/report.*"))
        reports = [r for r in reports if r.suffix in (".html", ".pdf")]
        print("Reports:")
        print("\n".join(f"  {r.relative_to(directory)}" for r in reports) or "  (none yet)")
    return 1 if code else 0


def cmd_run(args: argparse.Namespace) -> int:
    return run_workflow(args)


def cmd_coding_sheets(args: argparse.Namespace) -> int:
    return run_workflow(args, ["coding_sheets"])


def cmd_status(args: argparse.Namespace) -> int:
    directory = data_dir(args.directory)
    with chdir(directory):
        try:
            config, _ = load_study("config/config.yaml")
        except ConfigError as error:
            print(f"alliance status: {error}", file=sys.stderr)
            return 2
        print(status.cohort_status(config))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from alliance_pipeline.verify.check import main

    argv = [args.report, "--data-dir", args.data_dir]
    if args.final_codes:
        argv += ["--final-codes", args.final_codes]
    return main(argv)


def cmd_new_cohort(args: argparse.Namespace) -> int:
    directory = data_dir(args.directory)
    with chdir(directory):
        try:
            done = add_cohort(args.name, survey=args.survey, label=args.label)
        except ConfigError as error:
            print(f"alliance new-cohort: {error}", file=sys.stderr)
            return 2
    print(done)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="alliance", epilog=EPILOG,
        description="The alliance-rupture study pipeline: run the workflow, see where each cohort "
                    "stands, add a cohort, verify a report.")
    top.add_argument("--version", action="version", version=f"alliance {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_, description=description, epilog=EPILOG)

    def data_folder(p: argparse.ArgumentParser) -> None:
        p.add_argument("-d", "--directory", metavar="DIR", default=".",
                       help="the data folder holding config/ and data/raw/ (default: the current folder)")

    run = command("run", "run the workflow: tables, figures and reports of every cohort",
                  "Run the workflow (Snakemake, --keep-going): every cohort that can be built is; "
                  "the run ends with what to do next for cohorts still waiting, a summary by "
                  "cohort if one stopped, and the report paths.")
    run.add_argument("--cores", type=cores, default="all", metavar="N",
                     help="CPU cores to use: a number or 'all' (default)")
    data_folder(run)
    run.add_argument("--profile", metavar="PROFILE",
                     help="a Snakemake profile, e.g. profiles/slurm (needs the cluster extra: "
                          "docs/cluster.md)")
    run.set_defaults(func=cmd_run)

    sheets = command("coding-sheets", "write the blinded coding workbooks only",
                     "Write every listed coder's blinded coding workbook "
                     "(data/derived/<cohort>/coding_sheets/<coder>.xlsx); needs only the responses.")
    sheets.add_argument("--cores", type=cores, default="all", metavar="N",
                        help="CPU cores to use: a number or 'all' (default)")
    data_folder(sheets)
    sheets.set_defaults(func=cmd_coding_sheets)

    stat = command("status", "per cohort: what it waits for and the next step",
                   "Say per cohort what it waits for (responses, coders' files, the consensus "
                   "meeting) and what to do next, as the end of a run says it. Runs nothing.")
    data_folder(stat)
    stat.set_defaults(func=cmd_status)

    verify = command("verify", "check a report against a rerun (for reviewers)",
                     "Check a report against the manifest it carries: code, inputs and every "
                     "number, rerun from the raw files or from final_codes.csv (docs/reviewers.md).")
    verify.add_argument("report", metavar="REPORT", help="report.html, report.pdf or manifest.json")
    verify.add_argument("--final-codes", metavar="FILE",
                        help="final_codes.csv: recheck the change numbers from it (no raw files needed)")
    verify.add_argument("--data-dir", metavar="DIR", default=".",
                        help="folder holding config/ and data/raw/ (default: the current folder)")
    verify.set_defaults(func=cmd_verify)

    new = command("new-cohort", "add a cohort to config/config.yaml and make its raw folder",
                  "Add a commented cohort block under cohorts: in config/config.yaml (the rest of "
                  "the file, comments included, stays as it is; the result is checked before it "
                  "is written) and create data/raw/NAME/ with a README of what to put there.")
    new.add_argument("name", metavar="NAME",
                     help="the cohort's name: a letter, then letters, digits, _ or - (not 'study')")
    new.add_argument("--survey", choices=["xlsx", "csv"],
                     help="the responses come as form exports (one file per time point) of this "
                          "type, instead of responses.csv")
    new.add_argument("--label", help="the cohort's label in the reports (default: the name)")
    data_folder(new)
    new.set_defaults(func=cmd_new_cohort)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as error:
        top.exit(2, f"alliance: error: {error}\n")
    return 2  # not reached: exit() raises SystemExit


if __name__ == "__main__":
    sys.exit(main())
