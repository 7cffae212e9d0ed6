"""Where each cohort stands in the coding round trip, and what the team does next.

Read by the Snakefile at start-up (light: no pandas). A cohort *waits for its coders* while a
coder listed under its ``coders:`` has not returned ``codes/<coder>.xlsx`` (or ``.csv``) —
or, without ``coders:``, while fewer than two coder files are in ``codes/``. Such a cohort
gets its intake and coding workbooks only; the run ends with :func:`next_steps` instead of
failing. After a failed run, :func:`run_summary` says per cohort what was built and what
stopped it (the first ``ERROR`` line of each step log). :func:`cohort_status` (``alliance
status``) puts the three together for every cohort, before any run: what a cohort without its
responses needs in its raw folder, then the same next steps and summary a run prints.
"""
from __future__ import annotations

from pathlib import Path

from alliance_pipeline.common.cohort_files import coder_files, response_files

DERIVED = "data/derived"


def returned_coders(raw: str | Path) -> list[str]:
    """Coder ids of the files in ``<raw>/codes/`` (``<coder>.xlsx`` or ``<coder>.csv``; editor
    lock files and hidden files skipped: :func:`alliance_pipeline.common.cohort_files.coder_files`)."""
    return sorted({p.stem for p in coder_files(raw)})


def waiting_for(entry: dict) -> list[str]:
    """The coders a cohort waits for (empty: ready for consensus). Without ``coders:`` in the
    cohort's config, ``["two or more coders"]`` while fewer than two coder files exist."""
    returned = returned_coders(entry["raw"])
    if entry.get("coders"):
        return [c for c in entry["coders"] if c not in returned]
    return [] if len(returned) >= 2 else ["two or more coders"]


def coding_sheet(cohort: str, coder: str) -> str:
    """Where ``snakemake coding_sheets`` writes a coder's blinded workbook (the data contract)."""
    return f"{DERIVED}/{cohort}/coding_sheets/{coder}.xlsx"


def adjudication_sheet(cohort: str, entry: dict) -> str:
    """Where the blind adjudication workbook of a cohort is written: beside disagreements.csv,
    for a cohort with a ``coding_key`` (its unit ids need the key); ``""`` for one without."""
    return f"{DERIVED}/{cohort}/adjudication_sheet.xlsx" if entry.get("coding_key") else ""


def next_steps(waiting: dict[str, list[str]], config: dict, after_run: bool = True) -> str:
    """What to do for each cohort still waiting for coders (``{cohort: waiting_for(...)}``);
    ``after_run``: said at the end of a run (which built every other cohort)."""
    if not waiting:
        return ""
    lines = []
    for cohort, missing in waiting.items():
        entry = config["cohorts"][cohort]
        raw = entry["raw"]
        if not Path(DERIVED, cohort, "responses.csv").is_file():
            lines.append(_not_read_yet(cohort, raw, missing))
            continue
        lines.append(f"Cohort {cohort}: the responses are in ({DERIVED}/{cohort}/responses.csv); "
                     f"waiting for {', '.join(missing)}. Next:")
        coders = entry.get("coders")
        if coders:
            sheets = "; ".join(f"{coding_sheet(cohort, c)} to {c}" for c in coders if c in missing)
            lines += [
                f"  1. send {sheets} (the blinded coding workbooks; alliance coding-sheets writes "
                "them again);",
                f"  2. save each filled workbook as {raw}/codes/<coder>.xlsx "
                f"({', '.join(f'{raw}/codes/{c}.xlsx' for c in missing)});",
                "  3. alliance run again: agreement and the disagreements worksheet follow; settle "
                f"disagreements in {adjudication_sheet(cohort, entry)} and save it as "
                f"{raw}/adjudication.xlsx (or {raw}/adjudication.csv)."]
        else:
            lines += [
                f"  list the coders under cohorts.{cohort}.coders in config/config.yaml (and a "
                "coding_key) to get blinded coding workbooks from alliance coding-sheets, or put two "
                f"or more coder files in {raw}/codes/ (<coder>.xlsx or <coder>.csv), then alliance run again."]
    others = "every other cohort was built" if len(waiting) < len(config["cohorts"]) else "no cohort is coded yet"
    lines.append(f"({others}; the cross-cohort report waits until every cohort is coded.)" if after_run
                 else "(the cross-cohort report waits until every cohort is coded.)")
    return "\n".join(lines)


def _not_read_yet(cohort: str, raw: str, missing: list[str]) -> str:
    """A waiting cohort whose responses were not read: stopped at intake (the coding
    workbooks do not exist yet), or intake not run (another job failed first, or a target
    without it)."""
    stop = stopped_at(cohort, waiting=True)
    if stop:
        step, log, _ = stop
        return (f"Cohort {cohort}: stopped at {step} ({log}): its raw files in {raw} have "
                "problems (listed in the log and below); correct them and alliance run again. The "
                f"coding workbooks for {', '.join(missing)} are written once intake passes.")
    return (f"Cohort {cohort}: its responses have not been read yet (intake did not run for "
            f"it); waiting for {', '.join(missing)}. Next: alliance run (or alliance coding-sheets) "
            "reads them and writes the coding workbooks.")


RAW_FILES = "problem(s) in the raw files"  # how an intake error begins (intake.problems.IntakeError)


def stopped_at(cohort: str, waiting: bool) -> tuple[str, Path, str] | None:
    """(step, its log, the first error) of the first failed step of a cohort, or None. A step
    that stopped on the raw files (intake, or a coding workbook reading the responses) is
    named ``intake``. A cohort waiting for coders runs only intake and the coding workbooks,
    so only their logs are read (others may be left from earlier runs)."""
    folder = Path("logs", cohort)
    logs = ([folder / "intake.log", *sorted(folder.glob("coding_sheet_*.log"))] if waiting
            else sorted(folder.glob("*.log")))
    for log in logs:
        why = _first_error(log)
        if why:
            return ("intake" if RAW_FILES in why[:200] else log.stem), log, why
    return None


def _first_error(log: Path) -> str | None:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines):
        if line.startswith("ERROR "):
            following = [x for x in lines[number + 1:number + 4] if x and not x.startswith(("INFO ", "DEBUG "))]
            return " ".join([line[len("ERROR "):], *following])
    return None


def run_summary(cohorts: list[str], waiting: dict[str, list[str]],
                not_built: str = "no step failed") -> str:
    """Per cohort: its report if built, else the step that stopped it and why (from
    ``logs/<cohort>/<step>.log``: :func:`stopped_at`), or that it waits for coders;
    ``not_built``: what to say of a cohort with neither a report nor a failed step."""
    lines = ["Summary by cohort:"]
    for cohort in cohorts:
        report = Path("reports") / cohort / "report.html"
        stop = stopped_at(cohort, cohort in waiting)
        if stop:
            step, log, why = stop
            short = why if len(why) <= 300 else why[:297] + "... (the whole message is above and in the log)"
            lines.append(f"  {cohort}: stopped at {step} ({log}): {short}")
        elif cohort in waiting:
            lines.append(f"  {cohort}: waiting for {', '.join(waiting[cohort])} (see the next steps above)")
        elif report.is_file():
            lines.append(f"  {cohort}: done ({report})")
        else:
            lines.append(f"  {cohort}: {not_built}")
    return "\n".join(lines)


def missing_responses(entry: dict) -> list[str]:
    """The response files a cohort's raw folder still lacks (responses.csv, or the exports its
    ``survey:`` block names); empty when they are all there."""
    return [path for path in response_files(entry) if not Path(path).is_file()]


def responses_needed(cohort: str, entry: dict, missing: list[str]) -> str:
    """What to put in the raw folder of a cohort whose responses are not there yet."""
    raw = entry["raw"]
    if "survey" in entry:
        what = (f"the form exports named under cohorts.{cohort}.survey.files ({', '.join(missing)}): "
                "one file per time point, one row per participant, with the participant column and "
                f"the question columns named under cohorts.{cohort}.survey (edit those headers to "
                "match the exports exactly)")
    else:
        what = ("responses.csv (columns response_id, participant_id, timepoint, question, text; "
                "UTF-8, or set the cohort's encoding)")
    coders = entry.get("coders")
    codes = (f"the coders' filled workbooks come back later as {raw}/codes/<coder>.xlsx "
             f"({', '.join(coders)})" if coders else
             f"two or more coders' files later in {raw}/codes/ (<coder>.csv or <coder>.xlsx)")
    return (f"Cohort {cohort}: waiting for its responses. Next:\n"
            f"  1. put {what} in {raw}/;\n"
            f"  2. {codes};\n"
            "  3. alliance run (until step 1 is done, a run stops at start-up naming this cohort).")


def cohort_status(config: dict) -> str:
    """Per cohort: what it waits for and the next step (``alliance status``); the text is the
    one a run prints (:func:`next_steps`, :func:`run_summary`), and for a cohort without its
    responses :func:`responses_needed`. Paths are relative to the data folder (the cwd)."""
    cohorts = list(config["cohorts"])
    no_responses = {c: m for c in cohorts if (m := missing_responses(config["cohorts"][c]))}
    waiting = {c: w for c in cohorts if c not in no_responses
               and (w := waiting_for(config["cohorts"][c]))}
    parts = [responses_needed(c, config["cohorts"][c], m) for c, m in no_responses.items()]
    if waiting:
        parts.append(next_steps(waiting, config, after_run=False))
    others = [c for c in cohorts if c not in no_responses]
    if others:
        parts.append(run_summary(others, waiting, not_built="no report yet: alliance run builds it"))
    return "\n".join(parts)
