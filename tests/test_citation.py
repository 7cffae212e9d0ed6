"""CITATION.cff is valid Citation File Format 1.2.0 and names the package's version.

The schema is the format's own (schemas/citation-file-format-1.2.0.json, a verbatim copy of
schema.json at the format's tag 1.2.0), checked with the locked jsonschema, formats included.
As the schema's note on dates asks, YAML dates are cast to text before validation.
"""
from __future__ import annotations

import datetime
import json
import re

import pytest
import yaml
from jsonschema import Draft7Validator

from conftest import REPO

SCHEMA = json.loads((REPO / "schemas/citation-file-format-1.2.0.json").read_text(encoding="utf-8"))


def cff_problems(text: str) -> list[str]:
    def as_text(value):
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: as_text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_text(v) for v in value]
        return value

    validator = Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.path))}: {e.message}"
            for e in validator.iter_errors(as_text(yaml.safe_load(text)))]


def test_the_schema_is_the_cff_1_2_0_schema():
    assert SCHEMA["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    Draft7Validator.check_schema(SCHEMA)


def test_citation_cff_is_valid():
    assert cff_problems((REPO / "CITATION.cff").read_text(encoding="utf-8")) == []


def test_citation_names_the_package_version():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    source = (REPO / "src/alliance_pipeline/__init__.py").read_text(encoding="utf-8")
    assert cff["version"] == re.search(r'^__version__ = "([^"]+)"$', source, re.M).group(1)
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{cff['version']}]" in changelog      # the changelog has a section for it


@pytest.mark.parametrize(("change", "problem"), [
    (lambda c: c.pop("authors"), "'authors' is a required property"),
    (lambda c: c.update(doi="not a doi"), "doi: 'not a doi' does not match"),
    (lambda c: c.update({"date-released": "2026-13-01"}), "date-released: '2026-13-01' does not match"),
    (lambda c: c.update(licence="MIT"), "Additional properties are not allowed ('licence' was unexpected)"),
    (lambda c: c.update(license="MIT License"), "license: 'MIT License' is not valid"),
])
def test_the_check_sees_an_invalid_file(change, problem):
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    change(cff)
    problems = cff_problems(yaml.safe_dump(cff))
    assert any(problem in p for p in problems), problems
