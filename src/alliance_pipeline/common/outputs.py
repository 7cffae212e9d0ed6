"""Names of the files the pipeline writes, without the code that writes them.

Kept apart from :mod:`alliance_pipeline.report.figures.cohort_figures` so the Snakefile can declare a rule's
outputs without importing matplotlib (a no-op rerun must stay quick).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def is_repeated(spec: Mapping) -> bool:
    """A question asked at two or more time points: it gets change tests and figures."""
    return len(list(spec.get("timepoints", []))) >= 2


def repeated_questions(questions: Mapping) -> list[str]:
    """The questions asked at two or more time points, in codebook order."""
    return [qid for qid, spec in questions.items() if is_repeated(spec)]


def figure_stems(questions: Mapping) -> list[str]:
    """The figure stems :func:`write_cohort_figures` writes, without drawing anything.

    ``agreement``, ``flow``, then per question in codebook order ``shares_<q>`` and
    ``forest_<q>`` when it is asked at two or more time points, else ``frequencies_<q>``.
    Each stem is written as ``.png`` and ``.svg``.
    """
    stems = ["agreement", "flow"]
    for qid, spec in questions.items():
        if is_repeated(spec):
            stems += [f"shares_{qid}", f"forest_{qid}"]
        else:
            stems.append(f"frequencies_{qid}")
    return stems


def figure_paths(out_dir: str | os.PathLike, questions: Mapping) -> list[Path]:
    """The files :func:`write_cohort_figures` writes (PNG then SVG for each stem)."""
    out_dir = Path(out_dir)
    return [out_dir / f"{stem}.{fmt}" for stem in figure_stems(questions)
            for fmt in ("png", "svg")]


def study_figure_stems(questions: Mapping) -> list[str]:
    """The cross-cohort report's figure stems: ``forest_<question>`` per repeated question."""
    return [f"forest_{qid}" for qid in repeated_questions(questions)]


def report_stem(language: str, languages: list[str]) -> str:
    """``report`` for the first of ``report.languages``, ``report.<lang>`` for each other."""
    return "report" if language == languages[0] else f"report.{language}"


def language_subfolder(language: str, languages: list[str]) -> str:
    """Where a language's figures go below a figures folder: ``""`` for the first language
    (the folder itself), ``<lang>`` for each other."""
    return "" if language == languages[0] else language
