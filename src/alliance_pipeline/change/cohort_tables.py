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
from alliance_pipeline.change.participant_level import participant_codes
from alliance_pipeline.change.power import power_table
from alliance_pipeline.change.proportions import participant_flow, proportions_table

TABLES = ("proportions", "tests", "power", "flow", "models")


def change_tables(codes: pd.DataFrame, *, cohort: Mapping, questions: Mapping,
                  timepoints: list, contrasts: Mapping,
                  compare: Sequence[Sequence[str]] = ()) -> dict[str, pd.DataFrame]:
    """Every table of the change step, from one cohort's final codes.

    Parameters
    ----------
    codes : pandas.DataFrame
        The cohort's ``final_codes``.
    cohort : mapping
        :func:`alliance_pipeline.config.settings.cohort_settings`: its ``cohort`` name and its
        ``analysis`` block, which holds every setting used here.
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` in codebook order.
    timepoints : list of str
        The study's time points in order.
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    compare : sequence of [A, B], default ()
        Pairs of contrasts whose difference of changes is estimated.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"proportions"`` (:func:`.proportions.proportions_table`), ``"tests"``
        (:func:`.paired_tests.tests_table`), ``"power"`` (:func:`.power.power_table`),
        ``"flow"`` (:func:`.proportions.participant_flow`) and ``"models"``
        (:func:`.models.models_table`).

    Notes
    -----
    The formulas and references are those of the functions named above.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.change.cohort_tables import change_tables
    >>> rows = [("p1", "pre", 0), ("p1", "post", 1), ("p2", "pre", 0), ("p2", "post", 1),
    ...         ("p3", "pre", 1), ("p3", "post", 1), ("p4", "pre", 0), ("p4", "post", 0)]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", y) for p, t, y in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> analysis = {"confidence": 0.95, "aggregate": "any", "p_adjust": "holm",
    ...             "mcnemar": {"method": "auto", "continuity": False, "exact_below": 25},
    ...             "power": {"alpha": 0.05, "targets": [0.8], "effect_scales": [1.0]},
    ...             "cochran": {"permutations": 0, "seed": 1},
    ...             "signflip": {"permutations": 0, "seed": 1}}
    >>> tables = change_tables(codes, cohort={"cohort": "demo", "analysis": analysis},
    ...                        questions={"q1": {"codes": ["x"]}}, timepoints=["pre", "post"],
    ...                        contrasts={"change": ["pre", "post"]})
    >>> sorted(tables)
    ['flow', 'models', 'power', 'proportions', 'tests']
    >>> tables["proportions"]["proportion"].tolist(), tables["power"]["n_required"].tolist()
    ([0.25, 0.75], [14])
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
