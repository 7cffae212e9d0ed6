"""The plain values the Snakefile passes down to the rules, made from the checked config and
codebook (:mod:`alliance_pipeline.config.load` reads and checks them).

- :func:`study_settings`: study-wide values (title, time points, contrasts, compare pairs,
  questions, cohorts);
  :func:`questions_settings`: the codebook's questions as plain values.
- :func:`cohort_settings`: one cohort's values, its ``analysis`` block laid over the study's
  (:func:`deep_merge`); :func:`coding_settings`: its coders and coding key;
  :func:`cohort_config`: the config with only that cohort's entries.
- :func:`published_figures`: a cohort's ``published`` shares as rows, with their basis
  (:data:`PUBLISHED_BASES`).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping


def deep_merge(base: dict, override: dict) -> dict:
    """``base`` with ``override``'s keys laid over it, recursively (neither is changed)."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def questions_settings(codebook: Mapping) -> dict:
    """Plain per-question values: ``{qid: {prompt, timepoints, multi_label, codes, labels, definitions}}``."""
    out = {}
    for qid, q in codebook["questions"].items():
        out[qid] = {
            "prompt": q.get("prompt", ""),
            "timepoints": list(q["timepoints"]),
            "multi_label": bool(q.get("multi_label", True)),
            "codes": list(q["codes"]),
            "labels": {c: spec["label"] for c, spec in q["codes"].items()},
            "definitions": {c: spec.get("definition", "") for c, spec in q["codes"].items()},
        }
        translations = codebook_translations(q)
        if translations:
            out[qid]["translations"] = translations
    return out


def codebook_translations(question: dict) -> dict:
    """``{lang: {prompt, labels, definitions}}`` from a codebook question's ``prompt_<lang>``
    and its codes' ``label_<lang>``, ``definition_<lang>`` (only what the codebook gives)."""
    out: dict = {}
    for key, value in question.items():
        if key.startswith("prompt_") and value:
            out.setdefault(key.split("_", 1)[1], {})["prompt"] = value
    for code, spec in question["codes"].items():
        for key, value in spec.items():
            for field, bucket in (("label_", "labels"), ("definition_", "definitions")):
                if key.startswith(field) and value:
                    out.setdefault(key[len(field):], {}).setdefault(bucket, {})[code] = value
    return out


# What a published share is a share of -> the proportions.csv column that reproduces it.
PUBLISHED_BASES = {
    "participants": "proportion",   # k / n: participants with the code (the default)
    "codes": "share_of_codes",      # k / all codes given for the question at that time point
}


def published_figures(published: dict | None) -> list[dict]:
    """One cohort's ``published`` entry as rows ``{question, code, timepoint, share, basis}``,
    in config order.

    A figure is either a number (a share of participants, ``basis: participants``) or
    ``{share: number, basis: participants | codes}``.
    """
    rows = []
    for question, codes in (published or {}).items():
        for code, figures in (codes or {}).items():
            for timepoint, figure in (figures or {}).items():
                if isinstance(figure, dict):
                    share, basis = figure["share"], figure.get("basis", "participants")
                else:
                    share, basis = figure, "participants"
                rows.append({"question": question, "code": code, "timepoint": timepoint,
                             "share": float(share), "basis": basis})
    return rows


def cohort_settings(config: Mapping, cohort: str) -> dict:
    """Everything one cohort's jobs need, as plain values.

    ``analysis`` is the study's analysis block with the cohort's own ``analysis`` laid over
    it; ``published`` is the cohort's entry of the top-level ``published`` block.
    """
    entry = config["cohorts"][cohort]
    return {
        "cohort": cohort,
        "raw": entry["raw"],
        "label": entry.get("label", cohort),
        **{key: value for key, value in entry.items() if key.startswith("label_")},  # label_ja, ...
        "synthetic": bool(entry.get("synthetic", False)),
        "encoding": entry.get("encoding", "utf-8"),
        "site": entry.get("site", ""),
        "analysis": deep_merge(config["analysis"], entry.get("analysis", {})),
        "published": config.get("published", {}).get(cohort, {}),
        "privacy": config["privacy"],
        "report": config["report"],
    }


def coding_settings(config: dict, cohort: str) -> dict:
    """The cohort's coding workbooks: ``{"coders": [...], "coding_key": "..."}`` ([] and ""
    when the cohort has none). Kept apart from :func:`cohort_settings` so that only the
    rules that make or read workbooks see the key."""
    entry = config["cohorts"][cohort]
    return {"coders": list(entry.get("coders", [])), "coding_key": entry.get("coding_key", "")}


def cohort_config(config: dict, cohort: str) -> dict:
    """The config one cohort's jobs depend on: only that cohort's ``cohorts`` and ``published``
    entries, so adding a cohort leaves the others' jobs (and their reports' manifests) alone."""
    return {**config, "cohorts": {cohort: config["cohorts"][cohort]},
            "published": {k: v for k, v in config.get("published", {}).items() if k == cohort}}


def report_languages(config: Mapping) -> list[str]:
    """``report.languages``: the reports' languages, the first written as report.html
    (``[en]`` when the config leaves the key out)."""
    return list(config.get("report", {}).get("languages") or ["en"])


def study_settings(config: Mapping, codebook: Mapping) -> dict:
    """Study-wide plain values: title, time points, contrasts, the differences of changes to
    test (``compare``: ``[[A, B], ...]``, change A minus change B; ``[]`` when not configured),
    the published source (``reference``, only when configured), questions, cohort names."""
    return {
        "title": config["study"]["title"],
        **{key: value for key, value in config["study"].items() if key.startswith("title_")},
        "timepoints": list(config["study"]["timepoints"]),
        "contrasts": {k: list(v) for k, v in config["study"]["contrasts"].items()},
        "compare": [[str(a), str(b)] for a, b in config["study"].get("compare") or []],
        **({"reference": dict(config["study"]["reference"])} if config["study"].get("reference")
           else {}),
        "questions": questions_settings(codebook),
        "codebook_version": str(codebook.get("version", "unversioned")),
        "cohorts": list(config["cohorts"]),
    }
