"""A new cohort scaffolded (``alliance new-cohort``): its config block and its raw folder.

The block is inserted as text after the last line of the ``cohorts:`` block of
``config/config.yaml``, so every comment and the layout of the rest of the file stay as they
are; the new file is read and checked (YAML, schema, values, cross-references) before it
replaces the old one, and must read as the old config plus the new cohort. The raw folder
``data/raw/<name>/`` gets a README of what to put there. Paths are relative to the data folder
(the current working directory), as in the workflow.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import yaml

from alliance_pipeline.config.load import ConfigError, load_study

CONFIG = Path("config/config.yaml")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")   # schemas/config.schema.yaml, cohorts' names
RESERVED = {"study"}                              # the cross-cohort report's folder

RAW_README = """# Raw files of cohort `{name}`

Put here (paths as in config/config.yaml, cohort `{name}`):

{responses}
- `codes/<coder>.csv` (`response_id, codes`; codes `;`-separated, empty = none) or
  `codes/<coder>.xlsx` (the coder's filled blinded workbook from `alliance coding-sheets`):
  one file per coder, two coders or more.
- `adjudication.csv` (`response_id, codes, rationale`) or `adjudication.xlsx` (optional): the
  codes agreed at the consensus meeting for the responses the coders disagree on.

Participant ids must be pseudonyms (`P01`), never names, e-mail addresses or student numbers.
Files are UTF-8 (Excel's "CSV UTF-8"); for CSV files saved by Excel on Japanese Windows set
`encoding: cp932` in the cohort's block. This folder is not committed to git (`.gitignore`).

`alliance status` says what the cohort still waits for; formats in full:
docs/data-contract.md, the coding round trip: docs/user-guide.md.
"""
RESPONSES_CSV = ("- `responses.csv`: `response_id, participant_id, timepoint, question, text` "
                 "(+ optional `item`),\n  one row per answer.")
RESPONSES_SURVEY = ("- the form exports named under `survey.files` ({files}): one file per time "
                    "point, one row\n  per participant, one column per question; set "
                    "`survey.participant_column` and the\n  column header of each question under "
                    "`survey.questions` to the exports' headers exactly.")


def name_problems(name: str, cohorts: dict) -> list[str]:
    """Why ``name`` cannot be a new cohort's name (empty: it can)."""
    if not NAME.match(name):
        return [f"{name!r} is not a cohort name: start with a letter, then letters, digits, _ "
                "or - (it names the folders data/raw/<name>/ and reports/<name>/)"]
    if name in RESERVED:
        return [f"{name!r} is reserved (reports/study/ is the cross-cohort report); choose another name"]
    same = [c for c in cohorts if c.lower() == name.lower()]
    if same:
        return [f"cohort {same[0]!r} exists already in {CONFIG}"
                + (" (names differing only in upper/lower case would share a folder on Windows "
                   "and macOS)" if same[0] != name else "") + "; choose another name"]
    return []


def yaml_key(name: str) -> str:
    """``name`` as a YAML mapping key that reads back as that string (``yes`` is quoted)."""
    return name if yaml.safe_load(f"{name}: 0") == {name: 0} else json.dumps(name)


def cohort_block(name: str, *, raw: str, label: str, survey: str | None, timepoints: list[str],
                 questions: list[str], indent: str, step: str, newline: str) -> str:
    """The commented YAML block of a new cohort, at the cohorts' indentation."""
    sub = indent + step

    def line(code: str, comment: str = "") -> str:
        return f"{code:<37} # {comment}" if comment else code

    lines = [
        line(f"{indent}{yaml_key(name)}:", "added by alliance new-cohort"),
        line(f"{sub}raw: {raw}", f"its raw files: {raw}/README.md says which"),
        line(f"{sub}label: {json.dumps(label, ensure_ascii=False)}", "the cohort's name in the reports"),
        line(f"{sub}encoding: utf-8", "cp932 for CSV files saved by Excel on Japanese Windows"),
        line(f"{sub}# coders: [coder_a, coder_b]", "who gets a blinded coding workbook (alliance coding-sheets)"),
        line(f"{sub}# coding_key: \"any text the team keeps\"", "with coders:; never give it to the coders"),
        line(f"{sub}# analysis: {{mcnemar: {{method: midp}}}}", "this cohort's own settings over the study's"),
    ]
    if survey:
        files = ", ".join(f"{tp}: {tp}.{survey}" for tp in timepoints)
        lines += [
            line(f"{sub}survey:", "form exports instead of responses.csv"),
            line(f"{sub}{step}participant_column: \"participant_id\"", "the header of the pseudonyms' column"),
            line(f"{sub}{step}files: {{{files}}}"),
            line(f"{sub}{step}questions:", "question -> its column header in the exports, exactly"),
            *(f"{sub}{step}{step}{q}: {json.dumps(q)}" for q in questions),
        ]
    return newline.join(lines) + newline


def insert_block(text: str, block: str, newline: str) -> str:
    """``text`` with ``block`` after the last indented line of its top-level ``cohorts:``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"cohorts\s*:", line)), None)
    if start is None:
        raise ConfigError(str(CONFIG), ["no top-level `cohorts:` key to add the cohort to"])
    if not re.fullmatch(r"cohorts\s*:\s*(#.*)?", lines[start].rstrip("\r\n")):
        raise ConfigError(str(CONFIG), [f"line {start + 1}: `cohorts:` is written on one line "
                                        "(flow style); write one cohort per indented block, as "
                                        "the shipped config does, and try again"])
    last = start
    for i in range(start + 1, len(lines)):
        line = lines[i].rstrip("\r\n")
        if line.strip() and not line[0].isspace():
            if line.lstrip().startswith("#"):
                continue  # a comment at column 0 inside or after the block
            break
        if line.strip():
            last = i
    if not lines[last].endswith(("\n", "\r")):
        lines[last] += newline
    return "".join(lines[:last + 1]) + block + "".join(lines[last + 1:])


def indentation(text: str) -> tuple[str, str]:
    """(the cohorts' indentation, one level deeper's step) as the file writes them."""
    after = re.split(r"(?m)^cohorts\s*:", text, maxsplit=1)[-1].splitlines()[1:]
    keys = [line for line in after if line.strip() and not line.lstrip().startswith("#")]
    first = keys[0] if keys and keys[0][0].isspace() else "  x"
    indent = first[:len(first) - len(first.lstrip())]
    deeper = [line for line in keys[1:] if line[:1].isspace()
              and len(line) - len(line.lstrip()) > len(indent)]
    step = (deeper[0][:len(deeper[0]) - len(deeper[0].lstrip())][len(indent):]
            if deeper else indent)
    return indent, step or "  "


def add_cohort(name: str, *, survey: str | None = None, label: str | None = None) -> str:
    """Add cohort ``name`` to config/config.yaml and create ``data/raw/<name>/`` with a README.

    Raises :class:`ConfigError` (nothing written) for a bad or existing name, a config that
    does not check now, or a result that would not check."""
    config, codebook = load_study(CONFIG)
    problems = name_problems(name, config["cohorts"])
    raw = f"data/raw/{name}"
    if Path(raw).exists() and not Path(raw).is_dir():
        problems.append(f"{raw} exists and is not a folder; move it away first")
    if problems:
        raise ConfigError(f"cohort name {name!r}", problems)
    data = CONFIG.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    indent, step = indentation(text.replace("\r\n", "\n"))
    timepoints = list(config["study"]["timepoints"])
    block = cohort_block(name, raw=raw, label=label or name, survey=survey,
                         timepoints=timepoints, questions=list(codebook["questions"]),
                         indent=indent, step=step, newline=newline)
    new_text = insert_block(text, block, newline)
    write_checked(new_text, bom, config, name)
    readme = Path(raw) / "README.md"
    Path(raw, "codes").mkdir(parents=True, exist_ok=True)
    if not readme.exists():
        files = ", ".join(f"`{tp}.{survey}`" for tp in timepoints)
        responses = RESPONSES_SURVEY.format(files=files) if survey else RESPONSES_CSV
        readme.write_text(RAW_README.format(name=name, responses=responses), encoding="utf-8")
    return (f"Added cohort {name} to {CONFIG} and created {raw}/ ({readme} says what to put "
            f"there). Next: put the files in, then alliance status.")


def write_checked(new_text: str, bom: bool, before: dict, name: str) -> None:
    """Check ``new_text`` as the config it would be, then replace config/config.yaml with it
    (a temporary file in the same folder, then a rename)."""
    handle, temporary = tempfile.mkstemp(dir=CONFIG.parent, prefix=".config-", suffix=".yaml")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write((b"\xef\xbb\xbf" if bom else b"") + new_text.encode("utf-8"))
        after, _ = load_study(temporary)
        expected = {**before["cohorts"]}
        if set(after["cohorts"]) != {*expected, name} or any(
                after["cohorts"][c] != expected[c] for c in expected) or {
                k: v for k, v in after.items() if k != "cohorts"} != {
                k: v for k, v in before.items() if k != "cohorts"}:
            raise ConfigError(str(CONFIG), ["the cohort block could not be added without changing "
                                            "the rest of the config; add it by hand "
                                            "(docs/user-guide.md, Adding a cohort)"])
        os.replace(temporary, CONFIG)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
