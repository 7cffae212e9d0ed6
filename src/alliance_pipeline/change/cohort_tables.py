"""The change step: every table computed from a cohort's final codes alone.

:func:`change_tables` is what rule ``change`` runs (scripts/change.py writes its tables) and
what ``alliance_pipeline.verify.check`` reruns when a reviewer has only ``final_codes.csv``: shares
with Wilson intervals (:mod:`.proportions`), Cochran's Q and McNemar contrasts
(:mod:`.paired_tests`), the follow-up trial's sample size (:mod:`.power`), the participant
flow and the all-available-data model with the difference of changes (:mod:`.models`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from alliance_pipeline.change.models import models_table
from alliance_pipeline.change.paired_tests import tests_table
from alliance_pipeline.change.power import power_table
from alliance_pipeline.change.proportions import (
    participant_codes,
    participant_flow,
    proportions_table,
)

TABLES = ("proportions", "tests", "power", "flow", "models")


def change_tables(codes: pd.DataFrame, *, cohort: Mapping, questions: Mapping,
                  timepoints: list, contrasts: Mapping,
                  compare: Sequence[Sequence[str]] = ()) -> dict[str, pd.DataFrame]:
    """``{"proportions", "tests", "power", "flow", "models"}`` -> table, from final codes.

    ``cohort``: :func:`alliance_pipeline.config.settings.cohort_settings` (its ``analysis`` block
    holds every setting used here).
    """
    analysis = cohort["analysis"]
    design: dict[str, Any] = {"questions": questions, "timepoints": timepoints}
    mcnemar, power = analysis["mcnemar"], analysis["power"]
    pc = participant_codes(codes, aggregate=analysis["aggregate"])   # shared by power and models
    return {
        "proportions": proportions_table(codes, cohort=cohort["cohort"], confidence=analysis["confidence"],
                                         aggregate=analysis["aggregate"], **design),
        "tests": tests_table(codes, cohort=cohort["cohort"], contrasts=contrasts,
                             confidence=analysis["confidence"], p_adjust=analysis["p_adjust"],
                             mcnemar_method=mcnemar["method"], continuity=mcnemar["continuity"],
                             exact_below=mcnemar["exact_below"], aggregate=analysis["aggregate"],
                             permutations=analysis["cochran"]["permutations"],
                             permutation_seed=analysis["cochran"]["seed"], **design),
        "power": power_table(codes, cohort=cohort["cohort"], contrasts=contrasts,
                             alpha=power["alpha"], targets=tuple(power["targets"]),
                             effect_scales=tuple(power["effect_scales"]),
                             aggregate=analysis["aggregate"], compare=compare,
                             participant_level=pc, **design),
        "flow": participant_flow(codes, contrasts=contrasts, **design),
        "models": models_table(codes, cohort=cohort["cohort"], contrasts=contrasts, compare=compare,
                               confidence=analysis["confidence"], aggregate=analysis["aggregate"],
                               permutations=analysis["signflip"]["permutations"],
                               seed=analysis["signflip"]["seed"], participant_level=pc, **design),
    }
