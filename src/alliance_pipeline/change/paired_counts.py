"""Who answered both time points of a contrast, and the 2×2 counts of their codes.

Per question asked at two or more time points and per applicable contrast (config order),
the participants who answered at both time points (pairs) and those who answered at only
one (excluded), with every code's cells a = present at both, b = first only, c = second
only, d = neither (all codes at once, vectorised). Participant-level counts combine a
participant's item responses by the ``aggregate`` rule of
:func:`alliance_pipeline.change.proportions.participant_codes`; the clustered counts
(:func:`cluster_counts`) keep the responses (participant and item) apart, participants as
clusters. :func:`paired_counts` is the participant-level table the sample size uses
(:mod:`alliance_pipeline.change.power`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from alliance_pipeline.change.participant_level import (
    QuestionPlan,
    ResponseArrays,
    contrast_applies,
    participant_codes,
    question_plans,
    response_arrays,
)

PAIRED_COUNTS_COLUMNS = ["question", "code", "contrast", "first", "second", "n", "a", "b", "c",
                         "d", "n_excluded", "no_responses"]


@dataclass
class ContrastCounts:
    """Participant-level 2×2 counts of one contrast: the cells a, b, c, d are arrays over codes."""

    name: str
    first: str
    second: str
    n: int
    n_excluded: int
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    no_responses: tuple[str, ...]


class _ContrastPairs(NamedTuple):
    name: str
    first: str
    second: str
    i1: int                  # index of the first time point in plan.timepoints
    i2: int
    both: np.ndarray         # (rows,) bool: answered at both time points
    one_only: np.ndarray     # (rows,) bool: answered at exactly one of them
    x1: np.ndarray           # (pairs, C) bool: code present at the first (rows in both)
    x2: np.ndarray           # (pairs, C) bool: code present at the second


def _contrast_pairs(arrays: ResponseArrays, plan: QuestionPlan,
                    contrasts: Mapping[str, Sequence[str]]):
    """The pairs of every applicable contrast, in config order: who answered both time points
    and their codes at each (all codes at once), for the participant-level and the clustered
    counts alike."""
    t_index = {t: i for i, t in enumerate(plan.timepoints)}
    for name, pair in contrasts.items():
        if not contrast_applies(pair, plan):
            continue
        i1, i2 = t_index[pair[0]], t_index[pair[1]]
        r1, r2 = arrays.responded[:, i1], arrays.responded[:, i2]
        both = r1 & r2
        yield _ContrastPairs(name, pair[0], pair[1], i1, i2, both, r1 ^ r2,
                             arrays.present[both, i1, :].astype(bool),
                             arrays.present[both, i2, :].astype(bool))


def contrast_counts(arrays: ResponseArrays, plan: QuestionPlan,
                     contrasts: Mapping[str, Sequence[str]]) -> list[ContrastCounts]:
    """Participant-level 2×2 counts of every applicable contrast, all codes at once.

    Parameters
    ----------
    arrays : ResponseArrays
        One question at participant level (:func:`.participant_level.response_arrays`).
    plan : QuestionPlan
        The question.
    contrasts : mapping of str to [first, second]
        The configured contrasts; those whose time points the question lacks are skipped.

    Returns
    -------
    list of ContrastCounts
        In config order: pairs ``n``, ``n_excluded`` (answered at only one of the two time
        points), the cells ``a`` (both), ``b`` (first only), ``c`` (second only), ``d``
        (neither) as arrays over the codes, and ``no_responses`` (time points nobody answered).

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.change.paired_counts import contrast_counts
    >>> from alliance_pipeline.change.participant_level import QuestionPlan, response_arrays
    >>> pc = pd.DataFrame({"participant_id": ["p1", "p1", "p2", "p2", "p3"],
    ...                    "timepoint": ["pre", "post", "pre", "post", "pre"],
    ...                    "question": "q1", "code": "x", "present": [0, 1, 1, 1, 1]})
    >>> plan = QuestionPlan("q1", ("pre", "post"), ("x",))
    >>> cc, = contrast_counts(response_arrays(pc, plan), plan, {"change": ["pre", "post"]})
    >>> cc.n, cc.n_excluded, cc.a.tolist(), cc.b.tolist(), cc.c.tolist(), cc.d.tolist()
    (2, 1, [1], [0], [1], [0])
    """
    answered = arrays.responded.sum(axis=0)
    out = []
    for p in _contrast_pairs(arrays, plan, contrasts):
        x1, x2 = p.x1, p.x2
        out.append(ContrastCounts(
            str(p.name), p.first, p.second, int(p.both.sum()), int(p.one_only.sum()),
            (x1 & x2).sum(axis=0), (x1 & ~x2).sum(axis=0), (~x1 & x2).sum(axis=0),
            (~x1 & ~x2).sum(axis=0),
            tuple(t for t, i in ((p.first, p.i1), (p.second, p.i2)) if answered[i] == 0)))
    return out


def paired_counts(final_codes: pd.DataFrame, *, questions: Mapping[str, Mapping],
                  timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                  aggregate: str = "any", participant_level: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """Participant-level 2×2 counts per question (asked at ≥ 2 time points), code and contrast.

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes (``participant_id, timepoint, question, code, present`` are used).
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` in codebook order.
    timepoints : sequence of str
        The study's time points in order.
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    aggregate : {"any", "all", "majority"}, default "any"
        How a participant's item responses are combined.
    participant_level : pandas.DataFrame, optional
        ``participant_codes(final_codes, aggregate)`` when the caller has it already.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIRED_COUNTS_COLUMNS`: ``n`` pairs; ``a`` both, ``b`` first only,
        ``c`` second only, ``d`` neither; ``n_excluded`` answered at only one of the two;
        ``no_responses`` the contrast's time points nobody answered (``|``-joined). Questions
        and codes in codebook order, contrasts in config order.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.change.paired_counts import paired_counts
    >>> rows = [("p1", "pre", 0), ("p1", "post", 1), ("p2", "pre", 0), ("p2", "post", 1),
    ...         ("p3", "pre", 1), ("p3", "post", 1), ("p4", "pre", 0), ("p4", "post", 0)]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", y) for p, t, y in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> table = paired_counts(codes, questions={"q1": {"codes": ["x"]}}, timepoints=["pre", "post"],
    ...                       contrasts={"change": ["pre", "post"]})
    >>> print(table[["code", "contrast", "n", "a", "b", "c", "d", "n_excluded"]].to_string())
      code contrast  n  a  b  c  d  n_excluded
    0    x   change  4  1  0  2  1           0
    """
    pc = (participant_level if participant_level is not None
          else participant_codes(final_codes, aggregate=aggregate))
    rows = []
    for plan in question_plans(questions, timepoints):
        if len(plan.timepoints) < 2:
            continue
        arrays = response_arrays(pc, plan)
        counts = contrast_counts(arrays, plan, contrasts)
        for j, code in enumerate(plan.codes):
            for cc in counts:
                rows.append((plan.question, code, cc.name, cc.first, cc.second, cc.n,
                             int(cc.a[j]), int(cc.b[j]), int(cc.c[j]), int(cc.d[j]),
                             cc.n_excluded, "|".join(cc.no_responses)))
    frame = pd.DataFrame(rows, columns=PAIRED_COUNTS_COLUMNS)
    for column in ("n", "a", "b", "c", "d", "n_excluded"):
        frame[column] = frame[column].astype("int64")
    return frame


@dataclass
class ClusterCounts:
    """Response pairs of one contrast for the clustered test: which participant (cluster) each
    pair belongs to, and per pair and code whether it is discordant (b or c)."""

    n: int
    n_excluded: int
    cluster: np.ndarray      # (pairs,) cluster index of each response pair
    n_clusters_total: int
    b: np.ndarray            # (pairs, C) bool: first only
    c: np.ndarray            # (pairs, C) bool: second only


def has_items(final_codes: pd.DataFrame, question: str) -> bool:
    """Whether a question has items (several responses per participant and time point).

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes; without an ``item`` column no question has items.
    question : str
        The question id.

    Returns
    -------
    bool
        True when any of the question's rows has a non-empty ``item``.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.change.paired_counts import has_items
    >>> codes = pd.DataFrame({"question": ["q1", "q2"], "item": ["scene1", None]})
    >>> has_items(codes, "q1"), has_items(codes, "q2")
    (True, False)
    """
    if "item" not in final_codes.columns:
        return False
    items = final_codes.loc[final_codes["question"] == question, "item"]
    return bool((items.fillna("").astype(str) != "").any())


def _unit_arrays(final_codes: pd.DataFrame, plan: QuestionPlan):
    """Response-level arrays of one question: units are (participant, item) pairs."""
    sub = final_codes[final_codes["question"] == plan.question]
    participant = sub["participant_id"].astype(str)
    unit = participant + "\x1f" + sub["item"].fillna("").astype(str)
    units = sub.assign(participant_id=unit)
    pc_units = participant_codes(units, aggregate="any")  # one response per unit and time
    arrays = response_arrays(pc_units, plan)
    cluster_names = pd.Series(arrays.participants).str.split("\x1f", n=1).str[0]
    cluster, _ = pd.factorize(cluster_names, sort=True)
    return arrays, np.asarray(cluster)


def cluster_counts(final_codes: pd.DataFrame, plan: QuestionPlan,
                    contrasts: Mapping[str, Sequence[str]]) -> dict[str, ClusterCounts]:
    """Response pairs of every applicable contrast for the clustered McNemar test.

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes with ``item``: a unit is a (participant, item) pair.
    plan : QuestionPlan
        The question.
    contrasts : mapping of str to [first, second]
        The configured contrasts.

    Returns
    -------
    dict of str to ClusterCounts
        Contrast -> ``n`` response pairs (unit answered at both time points), ``n_excluded``
        units answered at only one, ``cluster`` the participant index of each pair,
        ``n_clusters_total`` and per pair and code whether it is discordant (``b`` first
        only, ``c`` second only).

    Notes
    -----
    Units (participant and item) are counted apart; their participant is the cluster of
    :func:`.mcnemar.clustered_mcnemar_test` and :func:`.effect_sizes.cluster_rd`.

    Examples
    --------
    p1 answered items s1 and s2 at both time points, p2 item s1 at both and s2 at pre only:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.paired_counts import cluster_counts
    >>> from alliance_pipeline.change.participant_level import QuestionPlan
    >>> rows = [("p1", "s1", "pre", 0), ("p1", "s1", "post", 1), ("p1", "s2", "pre", 1),
    ...         ("p1", "s2", "post", 1), ("p2", "s1", "pre", 0), ("p2", "s1", "post", 0),
    ...         ("p2", "s2", "pre", 1)]
    >>> codes = pd.DataFrame([(p, i, t, "q1", "x", y) for p, i, t, y in rows],
    ...                      columns=["participant_id", "item", "timepoint", "question", "code",
    ...                               "present"])
    >>> plan = QuestionPlan("q1", ("pre", "post"), ("x",))
    >>> kc = cluster_counts(codes, plan, {"change": ["pre", "post"]})["change"]
    >>> kc.n, kc.n_excluded, kc.cluster.tolist(), kc.c[:, 0].tolist()
    (3, 1, [0, 0, 1], [True, False, False])
    """
    arrays, cluster = _unit_arrays(final_codes, plan)
    out = {}
    for p in _contrast_pairs(arrays, plan, contrasts):
        out[str(p.name)] = ClusterCounts(int(p.both.sum()), int(p.one_only.sum()),
                                          cluster[p.both],
                                          int(cluster.max() + 1) if len(cluster) else 0,
                                          p.x1 & ~p.x2, ~p.x1 & p.x2)
    return out
