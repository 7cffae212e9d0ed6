"""Participant-level codes: the questions as the analyses see them, and arrays of who answered when.

:func:`question_plans` puts each question's time points in study order; :func:`participant_codes`
combines a participant's item responses by the ``aggregate`` rule (one row per participant,
time point, question and code); :func:`response_arrays` turns one question of that table into
arrays (participants x time points x codes). Every table of the change step starts here
(:mod:`.proportions`, :mod:`.paired_counts`, :mod:`.power`, :mod:`.models`); the frames are
described in :mod:`.proportions`.

No file I/O.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

AGGREGATE_RULES = ("any", "all", "majority")
KEY_COLUMNS = ("participant_id", "timepoint", "question", "code")
PARTICIPANT_CODES_COLUMNS = ["participant_id", "timepoint", "question", "code", "present"]

# --------------------------------------------------------------------------- plan helpers

@dataclass(frozen=True)
class QuestionPlan:
    """One question as the analyses see it: its time points in study order and its codes."""

    question: str
    timepoints: tuple[str, ...]
    codes: tuple[str, ...]


def question_plans(questions: Mapping[str, Mapping], timepoints: Sequence[str]) -> list[QuestionPlan]:
    """The questions in codebook order, each with its time points put in study order.

    Parameters
    ----------
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` (``timepoints`` left out:
        all of the study's).
    timepoints : sequence of str
        The study's time points in order.

    Returns
    -------
    list of QuestionPlan
        One per question. Time points the study does not list are dropped (config
        validation reports them; here they cannot be ordered).

    Examples
    --------
    >>> from alliance_pipeline.change.participant_level import question_plans
    >>> questions = {"q1": {"codes": ["x", "y"], "timepoints": ["post", "pre"]},
    ...              "q2": {"codes": ["z"]}}
    >>> for plan in question_plans(questions, ["pre", "mid", "post"]):
    ...     print(plan)
    QuestionPlan(question='q1', timepoints=('pre', 'post'), codes=('x', 'y'))
    QuestionPlan(question='q2', timepoints=('pre', 'mid', 'post'), codes=('z',))
    """
    plans = []
    for qid, spec in questions.items():
        asked = spec.get("timepoints") or list(timepoints)
        q_times = tuple(t for t in timepoints if t in set(asked))
        plans.append(QuestionPlan(str(qid), q_times, tuple(str(c) for c in spec.get("codes", []))))
    return plans


def contrast_applies(pair: Sequence[str], plan: QuestionPlan) -> bool:
    """Whether a contrast is tested for a question: both its time points are the question's.

    Parameters
    ----------
    pair : sequence of str
        The contrast's [first, second] time points.
    plan : QuestionPlan
        The question.

    Returns
    -------
    bool

    Examples
    --------
    >>> from alliance_pipeline.change.participant_level import QuestionPlan, contrast_applies
    >>> plan = QuestionPlan("q1", ("pre", "post"), ("x",))
    >>> contrast_applies(["pre", "post"], plan), contrast_applies(["mid", "post"], plan)
    (True, False)
    """
    return len(pair) == 2 and pair[0] in plan.timepoints and pair[1] in plan.timepoints


def _check_aggregate(aggregate: str) -> None:
    if aggregate not in AGGREGATE_RULES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATE_RULES)}; got {aggregate!r}")


def _present_values(final_codes: pd.DataFrame) -> np.ndarray:
    present = pd.to_numeric(final_codes["present"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(present, (0.0, 1.0))
    if bad.any():
        raise ValueError(f"final_codes.present must be 0 or 1; {int(bad.sum())} rows are not")
    return present.astype(np.int8)


# --------------------------------------------------------------------------- participant level

def participant_codes(final_codes: pd.DataFrame, aggregate: str = "any") -> pd.DataFrame:
    """Codes per participant: ``participant_id, timepoint, question, code, present``.

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes; ``participant_id, timepoint, question, code, present`` are used.
    aggregate : {"any", "all", "majority"}, default "any"
        How a participant's item responses (several per question and time point) combine:
        ``any`` present if at least one response carries the code, ``all`` if every one
        does, ``majority`` if more than half do (a tie is absent).

    Returns
    -------
    pandas.DataFrame
        One row per participant, time point, question and code with at least one response,
        sorted by those keys (as text), so the result does not depend on the input's row
        order; ``present`` int 0/1.

    Raises
    ------
    ValueError
        An unknown ``aggregate``, an empty key, or ``present`` other than 0/1.

    Notes
    -----
    Vectorised: keys are factorised and combined into one integer, counts come from
    ``numpy.bincount``. With one response per participant, question and time point the
    result is ``final_codes`` without its response columns.

    Examples
    --------
    p1 gave two responses at pre (items), one with the code:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.participant_level import participant_codes
    >>> codes = pd.DataFrame({"participant_id": ["p1", "p1", "p2"], "timepoint": ["pre"] * 3,
    ...                       "question": ["q1"] * 3, "code": ["x"] * 3, "present": [1, 0, 1]})
    >>> print(participant_codes(codes).to_string())
      participant_id timepoint question code  present
    0             p1       pre       q1    x        1
    1             p2       pre       q1    x        1
    >>> participant_codes(codes, aggregate="all")["present"].tolist()
    [0, 1]
    >>> participant_codes(codes, aggregate="majority")["present"].tolist()   # 1 of 2: a tie
    [0, 1]
    """
    _check_aggregate(aggregate)
    if final_codes.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "present" else object)
                             for c in PARTICIPANT_CODES_COLUMNS})
    codes, uniques = [], []
    for column in KEY_COLUMNS:
        values = final_codes[column]
        if values.isna().any():
            raise ValueError(f"final_codes.{column} has empty values")
        c, u = pd.factorize(values.astype(str), sort=True)
        codes.append(c)
        uniques.append(np.asarray(u, dtype=object))
    sizes = tuple(len(u) for u in uniques)
    key = np.ravel_multi_index(tuple(codes), sizes)
    present = _present_values(final_codes)
    groups, inverse = np.unique(key, return_inverse=True)
    count = np.bincount(inverse, minlength=len(groups))
    total = np.bincount(inverse, weights=present, minlength=len(groups))
    if aggregate == "any":
        value = total > 0
    elif aggregate == "all":
        value = total == count
    else:  # majority: strictly more than half
        value = 2 * total > count
    index = np.unravel_index(groups, sizes)
    out = {column: uniques[i][index[i]] for i, column in enumerate(KEY_COLUMNS)}
    out["present"] = value.astype("int64")
    return pd.DataFrame(out, columns=PARTICIPANT_CODES_COLUMNS)


@dataclass
class ResponseArrays:
    """One question at participant level, as arrays.

    ``participants``: ids (sorted); ``responded[i, t]``: participant i answered the question
    at time point t; ``present[i, t, j]``: code j present (0 where the participant did not
    answer, or where a code row is missing for an answered time point).
    """

    participants: np.ndarray
    timepoints: tuple[str, ...]
    codes: tuple[str, ...]
    responded: np.ndarray
    present: np.ndarray


def response_arrays(pc: pd.DataFrame, plan: QuestionPlan,
                    participants: Sequence[str] | np.ndarray | None = None) -> ResponseArrays:
    """Arrays of one question from :func:`participant_codes` output.

    Parameters
    ----------
    pc : pandas.DataFrame
        :func:`participant_codes` output.
    plan : QuestionPlan
        The question; rows for codes or time points it does not list are ignored.
    participants : sequence of str, optional
        Fixes the rows (e.g. every participant of the cohort, for the flow table); by default
        the participants who answered the question at one of its time points.

    Returns
    -------
    ResponseArrays
        ``participants`` (sorted), ``responded`` (participants x time points, bool) and
        ``present`` (participants x time points x codes, 0 where not answered).

    Raises
    ------
    ValueError
        ``participants`` misses a participant of the question.

    Examples
    --------
    p2 did not answer at post:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.participant_level import QuestionPlan, response_arrays
    >>> pc = pd.DataFrame({"participant_id": ["p1", "p1", "p2"], "timepoint": ["pre", "post", "pre"],
    ...                    "question": ["q1"] * 3, "code": ["x"] * 3, "present": [0, 1, 1]})
    >>> arrays = response_arrays(pc, QuestionPlan("q1", ("pre", "post"), ("x",)))
    >>> arrays.participants.tolist(), arrays.responded.tolist()
    (['p1', 'p2'], [[True, True], [True, False]])
    >>> arrays.present[:, :, 0].tolist()
    [[0, 1], [1, 0]]
    """
    sub = pc[pc["question"] == plan.question]
    t_pos = pd.Index(plan.timepoints, dtype=object).get_indexer(pd.Index(sub["timepoint"], dtype=object))
    keep = t_pos >= 0
    sub, t_pos = sub[keep], t_pos[keep].astype(np.int64)
    if participants is None:
        p_pos, labels = pd.factorize(sub["participant_id"], sort=True)
        pids = np.asarray(labels, dtype=object)
    else:
        pids = np.asarray(sorted(set(map(str, participants))), dtype=object)
        p_pos = pd.Index(pids).get_indexer(pd.Index(sub["participant_id"]))
        if (p_pos < 0).any():
            raise ValueError("participants does not list every participant of the question")
    n_p, n_t, n_c = len(pids), len(plan.timepoints), len(plan.codes)
    responded = np.zeros((n_p, n_t), dtype=bool)
    responded[p_pos, t_pos] = True
    present = np.zeros((n_p, n_t, n_c), dtype=np.int8)
    c_pos = pd.Index(plan.codes, dtype=object).get_indexer(pd.Index(sub["code"], dtype=object))
    has_code = c_pos >= 0
    present[p_pos[has_code], t_pos[has_code], c_pos[has_code]] = (
        sub["present"].to_numpy()[has_code].astype(np.int8))
    return ResponseArrays(pids, plan.timepoints, plan.codes, responded, present)
