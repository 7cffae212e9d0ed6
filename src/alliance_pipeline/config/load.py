"""Reading and checking the study configuration and the codebook.

The Snakefile reads config/config.yaml (Snakemake's ``configfile``) and the codebook once,
checks both here, lets ``snakemake.utils.validate`` fill in the schemas' defaults, and
passes plain values (:mod:`alliance_pipeline.config.settings`) to every rule; the cohorts' raw
folders are checked by :func:`check_cohort_folders` (their files: :mod:`alliance_pipeline.common.cohort_files`).

Checks, in order, each listing every problem at once:
1. YAML pitfalls: keys that YAML 1.1 reads as booleans or numbers (``no``, ``on``, ``yes``,
   ``off``, ``1``) — PyYAML turns ``no:`` into ``False:``.
2. The JSON schema (schemas/*.schema.yaml): unknown keys, wrong types, enum typos, each
   reported with its dotted key path (``analysis.mcnemar.method``).
3. Cross-references the schema cannot express: contrasts name study time points, compare
   pairs name contrasts, the codebook's time points are the study's, ``published`` names
   known cohorts, questions, codes and time points.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from alliance_pipeline.common.cohort_files import (
    SURVEY_SUFFIXES,
    not_a_file,
    survey_exports,
    survey_file,
)
from alliance_pipeline.common.hints import did_you_mean
from alliance_pipeline.config.survey import survey_problems

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "schemas"  # src/alliance_pipeline/config/load.py

YAML_BOOLEAN_WORDS = "y, yes, n, no, on, off, true, false"


class ConfigError(ValueError):
    """A configuration or codebook problem; the message lists every problem found."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{lines}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is recorded, not dropped.

    PyYAML keeps the last of duplicate keys, so a second ``analysis:`` block would silently
    replace the first whole. Merge keys (``<<:``) are not duplicates.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicate_keys: list[str] = []

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # an unhashable key: PyYAML's own error follows
                    continue
                line = key_node.start_mark.line + 1
                if first != line:
                    self.duplicate_keys.append(
                        f"line {line}: the key {key!r} appears a second time in the same block "
                        f"(first at line {first}); YAML would silently keep only the last one "
                        "— merge the two into one")
        return super().construct_mapping(node, deep)


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file; a syntax error names the file, line and column; a key given twice
    in one mapping is refused naming both lines."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), [f"file not found (working directory: {Path.cwd()})"])
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        before = data[:err.start]
        line, column = before.count(b"\n") + 1, err.start - (before.rfind(b"\n") + 1) + 1
        raise ConfigError(str(path), [
            f"line {line}, column {column}: not UTF-8 text (byte 0x{data[err.start]:02x}); "
            "save the file as UTF-8"]) from None
    try:
        loader = _UniqueKeyLoader(text)
        try:
            document = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(str(path), [f"{where}not valid YAML ({getattr(err, 'problem', err)})"]) from None
    if loader.duplicate_keys:
        raise ConfigError(str(path), loader.duplicate_keys)
    return document


def load_codebook(path: str, source: str) -> Any:
    """The codebook the config's ``codebook:`` key names; a missing one names the key."""
    if not Path(path).is_file():
        why = not_a_file(Path(path)) or "file not found"
        raise ConfigError(source, [f"codebook: {path!r}: {why} (working directory: "
                                   f"{Path.cwd()}); fix the path"])
    return load_yaml(path)


def load_schema(name: str) -> dict:
    """The schema ``schemas/<name>.schema.yaml`` shipped beside the workflow."""
    return load_yaml(SCHEMA_DIR / f"{name}.schema.yaml")


def _dotted(path) -> str:
    return ".".join(str(p) for p in path) or "(top level)"


def yaml_key_problems(node: Any, path: tuple = ()) -> list[str]:
    """Keys that are not text: YAML 1.1 read them as booleans or numbers."""
    problems = []
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                hint = (f"YAML reads the words {YAML_BOOLEAN_WORDS} as true/false"
                        if isinstance(key, bool) else "YAML reads bare numbers as numbers")
                problems.append(
                    f"{_dotted(path + (key,))}: the key {key!r} is not text ({hint}); "
                    "write the id in quotes (e.g. \"no\": or \"on\":) or choose another id")
            problems += yaml_key_problems(value, path + (str(key),))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            problems += yaml_key_problems(value, path + (i,))
    return problems


def _schema_message(error) -> str:
    """A ``jsonschema.ValidationError`` in the config's words."""
    if error.validator == "anyOf" and error.context:
        # the problem inside the branch of the value's own type (a published figure given
        # as {share, basis} is checked as that object, not reported as "not a number")
        fitting = [e for e in error.context if e.validator != "type"]
        return _schema_message((fitting or error.context)[0])
    where = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})), key=str)
        allowed = ", ".join(error.schema.get("properties", {})) or "none"
        return f"{where}: unknown key(s) {', '.join(map(str, extra))} (allowed here: {allowed})"
    if error.validator == "enum":
        options = " | ".join(map(str, error.validator_value))
        return f"{where}: {error.instance!r} is not one of {options}"
    if error.validator == "type":
        hint = ""
        if isinstance(error.instance, bool) and "string" in str(error.validator_value):
            hint = f" (YAML reads {YAML_BOOLEAN_WORDS} as true/false: put the value in quotes)"
        return f"{where}: {error.instance!r} should be of type {error.validator_value}{hint}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "pattern" and error.schema.get("description"):
        return (f"{where}: {error.instance!r} does not match {error.validator_value} "
                f"({error.schema['description'].strip()})")
    return f"{where}: {error.message}"


def schema_problems(instance: Any, schema: dict) -> list[str]:
    """All schema violations, sorted by key path, each naming its dotted key."""
    import jsonschema  # imported where used: most jobs read no schema (start-up)

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    return [_schema_message(e) for e in errors]


def value_problems(config: dict) -> list[str]:
    """Values the schema lets through but the analysis cannot use: an invalid regular
    expression as participant-id pattern, an agreement threshold ``acceptable`` above
    ``good``, a single bootstrap resample (no interval can come of it)."""
    problems = []
    pattern = config.get("privacy", {}).get("participant_id_pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as err:
            problems.append(f"privacy.participant_id_pattern: {pattern!r} is not a valid regular "
                            f"expression ({err}); correct it, e.g. "
                            "\"^[A-Za-z][A-Za-z0-9_-]{0,31}$\" (in double quotes, write \\\\ for one backslash)")
    blocks = [("analysis", config.get("analysis", {}))]
    blocks += [(f"cohorts.{name}.analysis", entry.get("analysis", {}))
               for name, entry in config.get("cohorts", {}).items() if isinstance(entry, dict)]
    study = config.get("analysis", {}).get("agreement", {})
    for where, block in blocks:
        agreement = block.get("agreement", {})
        if agreement.get("bootstrap") == 1:
            problems.append(f"{where}.agreement.bootstrap: 1 resample gives no interval for "
                            "alpha; set 0 for no intervals or e.g. 2000")
        if not agreement:
            continue
        acceptable = agreement.get("acceptable", study.get("acceptable", 0.667))
        good = agreement.get("good", study.get("good", 0.8))
        if acceptable > good:
            problems.append(f"{where}.agreement: acceptable ({acceptable}) is above good "
                            f"({good}); acceptable is the lower threshold (Krippendorff: "
                            "0.667 tentative, 0.800 good): swap them")
    return problems


def check_config(config: dict, source: str = "config/config.yaml") -> None:
    """Raise :class:`ConfigError` listing every YAML-pitfall, schema and value problem of
    ``config`` (see :func:`value_problems`)."""
    if not isinstance(config, dict) or not config:
        raise ConfigError(source, ["empty or not a mapping of keys (see docs/user-guide.md, Configuration)"])
    problems = yaml_key_problems(config)
    if not problems:
        problems = schema_problems(config, load_schema("config"))
    if not problems:
        problems = value_problems(config)
    if problems:
        raise ConfigError(source, problems)


def check_codebook(codebook: Any, source: str) -> None:
    """Raise :class:`ConfigError` listing every YAML-pitfall and schema problem of the codebook."""
    if not isinstance(codebook, dict) or not codebook:
        raise ConfigError(source, ["empty or not a mapping with a `questions:` key"])
    problems = yaml_key_problems(codebook) or schema_problems(codebook, load_schema("codebook"))
    if problems:
        raise ConfigError(source, problems)


def fill_defaults(instance: dict, schema: dict) -> dict:
    """Fill in the schema's ``default`` values, as ``snakemake.utils.validate`` does.

    Used where no Snakemake workflow runs (tests, benchmarks); the Snakefile uses
    ``snakemake.utils.validate`` itself.
    """
    import jsonschema

    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, inst, sch):
        for prop, sub in properties.items():
            if "default" in sub and isinstance(inst, dict):
                inst.setdefault(prop, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, inst, sch)

    jsonschema.validators.extend(base, {"properties": set_defaults})(schema).validate(instance)
    return instance


def cross_reference_problems(config: dict, codebook: dict) -> list[str]:
    """What the schemas cannot check: names that must refer to each other."""
    problems = []
    timepoints = config["study"]["timepoints"]
    for name, pair in config["study"]["contrasts"].items():
        for tp in pair:
            if tp not in timepoints:
                problems.append(f"study.contrasts.{name}: {tp!r} is not one of study.timepoints "
                                f"({', '.join(timepoints)})")
        if len(set(pair)) == 1:
            problems.append(f"study.contrasts.{name}: compares {pair[0]!r} with itself")
    contrasts = config["study"]["contrasts"]
    for i, pair in enumerate(config["study"].get("compare", [])):
        for name in pair:
            if name not in contrasts:
                problems.append(f"study.compare[{i}]: {name!r} is not one of study.contrasts "
                                f"({', '.join(contrasts)}){did_you_mean(name, contrasts)}")
        if len(pair) == 2 and pair[0] == pair[1]:
            problems.append(f"study.compare[{i}]: compares contrast {pair[0]!r} with itself "
                            "(the difference is 0 by construction)")
    for qid, question in codebook["questions"].items():
        for tp in question["timepoints"]:
            if tp not in timepoints:
                problems.append(f"codebook questions.{qid}.timepoints: {tp!r} is not one of "
                                f"study.timepoints ({', '.join(timepoints)})")
    for cohort, questions in config.get("published", {}).items():
        if cohort not in config["cohorts"]:
            problems.append(f"published.{cohort}: no cohort of that name under cohorts:")
        for qid, codes in questions.items():
            if qid not in codebook["questions"]:
                problems.append(f"published.{cohort}.{qid}: not a question of the codebook")
                continue
            for code, shares in codes.items():
                if code not in codebook["questions"][qid]["codes"]:
                    problems.append(f"published.{cohort}.{qid}.{code}: not a code of question {qid}")
                for tp in shares:
                    if tp not in codebook["questions"][qid]["timepoints"]:
                        problems.append(f"published.{cohort}.{qid}.{code}.{tp}: question {qid} "
                                        f"is not asked at {tp!r}")
    for cohort, entry in config["cohorts"].items():
        if "survey" in entry:
            problems += survey_problems(cohort, entry["survey"], timepoints, codebook["questions"])
        if entry.get("coders") and not entry.get("coding_key"):
            problems.append(f"cohorts.{cohort}.coders: coding workbooks need the cohort's "
                            "coding_key (it keeps the unit ids opaque); add `coding_key: "
                            "\"<any text the team keeps>\"` and do not give it to the coders")
    for quote in config.get("report", {}).get("quotes", []):
        if not isinstance(quote, str):
            problems.append(f"report.quotes: {quote!r} should be a response id in quotes")
    return problems


def check_cohort_folders(config: dict) -> None:
    """Every configured cohort's raw folder exists and holds responses.csv, or the exports its
    ``survey:`` block names (checked at start-up)."""
    problems = []
    for name, entry in config["cohorts"].items():
        raw = Path(entry["raw"])
        if not raw.is_dir():
            problems.append(f"cohorts.{name}.raw: folder {raw} does not exist (working directory "
                            f"{Path.cwd()}); create it or fix the path")
        elif "survey" in entry:
            for tp, value in survey_exports(entry["survey"]).items():
                path = raw / survey_file(value)[0]
                if not path.is_file():
                    present = sorted(p.name for p in raw.iterdir() if p.is_file()
                                     and p.suffix.lower() in SURVEY_SUFFIXES)
                    key = "file" if tp == "file" else f"files.{tp}"
                    problems.append(f"cohorts.{name}.survey.{key}: {path} does not exist "
                                    f"(exports in {raw}: {', '.join(present) or 'none'})"
                                    f"{did_you_mean(path.name, present)}; put the export there "
                                    "or fix the file name")
        elif not any(raw.iterdir()):
            problems.append(f"cohorts.{name}.raw: folder {raw} is empty; it needs responses.csv "
                            "and codes/<coder>.csv")
        elif not (raw / "responses.csv").is_file():
            why = not_a_file(raw / "responses.csv") or (
                "is missing; put the cohort's responses there, or leave the cohort out of the "
                "config until they come (alliance status says what each cohort waits for)")
            problems.append(f"cohorts.{name}.raw: {raw / 'responses.csv'} {why}")
    if problems:
        raise ConfigError("config cohorts", problems)


def read_codebook(path: str | Path, source: str) -> dict:
    """Read, check and default-fill the codebook at ``path`` (``source``: the config naming it)."""
    codebook = load_codebook(str(path), source)
    check_codebook(codebook, str(path))
    fill_defaults(codebook, load_schema("codebook"))
    return codebook


def load_study(config_path: str | Path) -> tuple[dict, dict]:
    """Read, check and default-fill config and codebook outside Snakemake (tests, tools).

    Returns ``(config, codebook)``; the codebook path in the config is taken relative to
    the current working directory, as in the workflow.
    """
    config = load_yaml(config_path)
    check_config(config, str(config_path))
    fill_defaults(config, load_schema("config"))
    codebook_path = config["codebook"]
    codebook = read_codebook(codebook_path, str(config_path))
    problems = cross_reference_problems(config, codebook)
    if problems:
        raise ConfigError(f"{config_path} and {codebook_path}", problems)
    return config, codebook
