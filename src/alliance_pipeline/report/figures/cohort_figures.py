"""A cohort's figures: :func:`write_cohort_figures` draws and saves every figure of one cohort.

The figures themselves are in one module per family beside this one (agreement, shares,
forest, flow, frequencies), their shared style, fonts and saving in :mod:`.style`; import
each from its own module. The design decisions (Figure without pyplot, style in
``rc_context``, fonts, Okabe-Ito colours, journal sizes, byte-reproducible output) are in
:mod:`.style`'s docstring.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from alliance_pipeline.common.outputs import figure_stems, is_repeated
from alliance_pipeline.config.settings import published_figures
from alliance_pipeline.report.figures.agreement import agreement_figure
from alliance_pipeline.report.figures.flow import flow_figure, flow_from_proportions
from alliance_pipeline.report.figures.forest import forest_figure
from alliance_pipeline.report.figures.frequencies import frequencies_figure
from alliance_pipeline.report.figures.shares import shares_figure
from alliance_pipeline.report.figures.style import (
    codes_of,
    merge_labels,
    ordered_timepoints,
    save_figure,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["write_cohort_figures"]


# --------------------------------------------------------------------------- per cohort

_EMPTY = {
    "agreement": ["cohort", "question", "code", "krippendorff_alpha", "alpha_ci_low",
                  "alpha_ci_high", "verdict"],
    "proportions": ["cohort", "question", "code", "timepoint", "n", "k", "proportion",
                    "ci_low", "ci_high"],
    "tests": ["cohort", "question", "code", "test", "contrast", "method",
              "risk_difference", "rd_ci_low", "rd_ci_high", "p_adjusted", "note"],
}


def write_cohort_figures(tables: Mapping[str, pd.DataFrame], *, out_dir: str | os.PathLike,
                         questions: Mapping, labels: Mapping, timepoints: Sequence[str],
                         contrasts: Mapping, acceptable: float, good: float,
                         confidence: float = 0.95, published: Mapping | None = None,
                         question_labels: Mapping | None = None) -> list[Path]:
    """Draw and save every figure of one cohort into ``out_dir``.

    ``tables``: "agreement", "proportions", "tests" and optionally "flow" (without it, the
    flow figure uses the per-time-point n of proportions). ``questions``: qid ->
    {"timepoints", "codes", "multi_label"[, "labels"]} (codebook shape accepted: codes as a
    mapping with labels); ``labels`` (code -> label) take precedence; ``contrasts``: the
    config's name -> [first, second]; ``published``: the config's entry for this cohort
    (question -> code -> {timepoint: figure}, see :func:`~alliance_pipeline.config.settings.published_figures`); the shares
    figures, which show shares of participants, mark the figures on that basis only.
    Returns the written paths in the order of :func:`figure_paths`.
    """
    out_dir = Path(out_dir)
    labels = merge_labels(questions, labels)
    of_participants: dict = {}
    for fig in published_figures(dict(published or {})):
        if fig["basis"] == "participants":
            of_participants.setdefault(fig["question"], {}).setdefault(
                fig["code"], {})[fig["timepoint"]] = fig["share"]
    published = of_participants

    def table(name: str) -> pd.DataFrame:
        frame = tables.get(name)
        return frame if frame is not None else pd.DataFrame(columns=_EMPTY.get(name, []))

    proportions = table("proportions")
    flow = tables.get("flow")
    if flow is None:
        flow = flow_from_proportions(proportions)
    training = tuple(contrasts.get("training", ("pre2", "post"))) if contrasts else None

    written: list[Path] = []
    figures: dict[str, Callable[[], Figure]] = {
        "agreement": lambda: agreement_figure(
            table("agreement"), labels=labels, acceptable=acceptable, good=good,
            questions=questions, question_labels=question_labels, confidence=confidence),
        "flow": lambda: flow_figure(flow, timepoints=timepoints,
                                    question_labels=question_labels),
    }
    for qid, spec in questions.items():
        asked = ordered_timepoints(timepoints, spec.get("timepoints", []))
        codes = codes_of(spec)
        if is_repeated(spec):
            applicable = {name: tps for name, tps in (contrasts or {}).items()
                          if all(tp in asked for tp in tps)}
            figures[f"shares_{qid}"] = partial(
                shares_figure, proportions, question=qid, codes=codes, labels=labels,
                timepoints=asked, training_contrast=training, published=published.get(qid),
                confidence=confidence)
            figures[f"forest_{qid}"] = partial(
                forest_figure, table("tests"), question=qid, codes=codes, labels=labels, contrasts=applicable,
                confidence=confidence)
        else:
            figures[f"frequencies_{qid}"] = partial(
                frequencies_figure, proportions, question=qid, codes=codes, labels=labels,
                confidence=confidence)
    for stem in figure_stems(questions):
        drawn = figures[stem]()
        written += save_figure(drawn, out_dir / stem)
        drawn.clear()
    return written
