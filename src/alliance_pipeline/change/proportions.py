"""Share of participants with each code at each time point, and who answered when.

Everything here works on the contract's ``final_codes`` frame (one row per response and
code of its question: ``response_id, participant_id, timepoint, question, item, code,
present, source``) and plain values taken from the config and codebook:

- ``timepoints``: the study's time points in order, e.g. ``["pre1", "pre2", "post"]``;
- ``contrasts``: ordered mapping name -> ``[first, second]`` time point;
- ``questions``: ordered mapping question id -> ``{"timepoints": [...], "codes": [code ids
  in codebook order], "multi_label": bool}`` (``timepoints`` left out = all of the study's).

The unit of analysis is the participant. When a cohort has items (several responses per
participant, question and time point, e.g. role-play scenes) a participant's responses are
first combined by the ``aggregate`` rule (:func:`participant_codes`).

No file I/O; the functions return data frames.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

AGGREGATE_RULES = ("any", "all", "majority")
KEY_COLUMNS = ("participant_id", "timepoint", "question", "code")
PARTICIPANT_CODES_COLUMNS = ["participant_id", "timepoint", "question", "code", "present"]
PROPORTIONS_COLUMNS = ["cohort", "question", "code", "timepoint", "n", "k", "proportion",
                       "ci_low", "ci_high", "share_of_codes", "ci_method", "note"]
FLOW_COLUMNS = ["question", "step", "name", "timepoints", "n_cohort", "n", "n_excluded",
                "missing"]


# --------------------------------------------------------------------------- plan helpers

@dataclass(frozen=True)
class QuestionPlan:
    """One question as the analyses see it: its time points in study order and its codes."""

    question: str
    timepoints: tuple[str, ...]
    codes: tuple[str, ...]


def question_plans(questions: Mapping[str, Mapping], timepoints: Sequence[str]) -> list[QuestionPlan]:
    """The questions in codebook order, each with its time points put in study order.

    A question's ``timepoints`` default to all of the study's; time points the study does
    not list are dropped (config validation reports them; here they cannot be ordered).
    """
    plans = []
    for qid, spec in questions.items():
        asked = spec.get("timepoints") or list(timepoints)
        q_times = tuple(t for t in timepoints if t in set(asked))
        plans.append(QuestionPlan(str(qid), q_times, tuple(str(c) for c in spec.get("codes", []))))
    return plans


def contrast_applies(pair: Sequence[str], plan: QuestionPlan) -> bool:
    """A contrast is tested for a question only when both its time points are the question's."""
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

    One row per participant, time point, question and code for every participant with at
    least one response to that question at that time point. With one response per
    participant/question/time point this is ``final_codes`` without its response columns.
    With items, the participant's responses are combined by ``aggregate``:

    - ``any`` (default): present if at least one response carries the code;
    - ``all``: present if every response carries it;
    - ``majority``: present if more than half of the responses carry it (a tie is absent).

    Rows are sorted by participant_id, timepoint, question and code (as text), so the
    result does not depend on the input's row order. Vectorised: keys are factorised and
    combined into one integer, counts come from ``np.bincount``.
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

    ``participants`` fixes the rows (e.g. every participant of the cohort, for the flow
    table); by default the participants who answered the question at one of its time
    points. Rows for codes or time points the plan does not list are ignored.
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


# --------------------------------------------------------------------------- proportions

def wilson_interval(k, n, confidence: float = 0.95):
    """Wilson score interval for k of n (arrays allowed); NaN where n = 0.

    Computed by ``statsmodels.stats.proportion.proportion_confint(method="wilson")``; the
    bounds at k = 0 and k = n are set to exactly 0 and 1 (they are so algebraically; the
    floating-point result can be off by ~1e-17), and all bounds clipped to [0, 1].
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    low = np.full(np.broadcast(k, n).shape, np.nan)
    high = low.copy()
    ok = np.broadcast_to(n > 0, low.shape)
    if ok.any():
        kk = np.broadcast_to(k, low.shape)[ok]
        nn = np.broadcast_to(n, low.shape)[ok]
        lo, hi = proportion_confint(kk, nn, alpha=1 - confidence, method="wilson")
        low[ok] = np.where(kk == 0, 0.0, np.clip(lo, 0.0, 1.0))
        high[ok] = np.where(kk == nn, 1.0, np.clip(hi, 0.0, 1.0))
    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def proportions_table(final_codes: pd.DataFrame, *, cohort: str, questions: Mapping[str, Mapping],
                      timepoints: Sequence[str], confidence: float = 0.95,
                      aggregate: str = "any") -> pd.DataFrame:
    """The contract's ``proportions.csv`` (plus ``share_of_codes``, ``ci_method``, ``note``).

    One row per question (codebook order), code (codebook order) and time point of the
    question (study order). ``n`` = participants who answered the question at that time
    point; ``k`` = those of them with the code (items combined by ``aggregate``);
    ``proportion = k / n`` with its Wilson score interval at ``confidence``
    (``ci_method = "wilson"``). ``share_of_codes`` = k / (sum of k over the question's codes
    at that time point): the code's share of all codes given, the way feedback results
    are often reported; empty when no code was given. A time point nobody answered has
    n = 0, k = 0 and empty proportion, interval and share, with a note.
    """
    pc = participant_codes(final_codes, aggregate=aggregate)
    rows = []
    for plan in question_plans(questions, timepoints):
        arrays = response_arrays(pc, plan)
        n = arrays.responded.sum(axis=0)                       # (T,)
        k = arrays.present.sum(axis=0, dtype=np.int64)         # (T, C)
        total = k.sum(axis=1)                                  # (T,)
        for j, code in enumerate(plan.codes):
            for t, tp in enumerate(plan.timepoints):
                rows.append((cohort, plan.question, code, tp, int(n[t]), int(k[t, j]),
                             int(total[t])))
    frame = pd.DataFrame(rows, columns=["cohort", "question", "code", "timepoint", "n", "k",
                                        "_total"])
    n = frame["n"].to_numpy(dtype=float)
    k = frame["k"].to_numpy(dtype=float)
    total = frame.pop("_total").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["proportion"] = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
        frame["share_of_codes"] = np.where(total > 0, k / np.where(total > 0, total, 1), np.nan)
    frame["ci_low"], frame["ci_high"] = wilson_interval(k, n, confidence) if len(frame) else ([], [])
    frame["ci_method"] = "wilson"
    frame["note"] = np.where(n > 0, "", "no responses at this time point")
    frame["n"] = frame["n"].astype("int64")
    frame["k"] = frame["k"].astype("int64")
    return frame[PROPORTIONS_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- participant flow

def _join_ids(ids: np.ndarray) -> str:
    return ";".join(map(str, ids))


def participant_flow(final_codes: pd.DataFrame, *, timepoints: Sequence[str],
                     contrasts: Mapping[str, Sequence[str]], questions: Mapping[str, Mapping]
                     ) -> pd.DataFrame:
    """Who answered each question when, and who each analysis leaves out.

    Columns ``question, step, name, timepoints, n_cohort, n, n_excluded, missing``; per
    question (codebook order) these rows:

    - ``step = "timepoint"`` (one per time point of the question, study order; ``name`` and
      ``timepoints`` = that time point): ``n`` participants who answered the question then;
      ``n_excluded`` = participants of the cohort who did not; ``missing`` = their ids.
    - ``step = "complete"`` (``name = "complete"``, ``timepoints`` = all of the question's,
      ``|``-joined): ``n`` complete cases (answered at every time point of the question: the
      participants of Cochran's Q); ``n_excluded`` = participants who answered at some but
      not all of them (left out of Cochran's Q); ``missing`` = their ids.
    - ``step = "contrast"`` (one per configured contrast whose two time points the question
      has, config order; ``name`` = contrast, ``timepoints`` = ``first|second``): ``n`` pairs
      (answered at both); ``n_excluded`` = answered at exactly one of the two (left out of
      that McNemar test); ``missing`` = their ids.

    ``n_cohort`` = participants anywhere in ``final_codes`` (the cohort). Ids in
    ``missing`` are sorted and ``;``-joined; empty when nobody is missing.
    """
    pc = participant_codes(final_codes)  # presence of a response does not depend on the rule
    cohort_ids = np.asarray(sorted(final_codes["participant_id"].astype(str).unique()), dtype=object)
    n_cohort = len(cohort_ids)
    rows = []
    for plan in question_plans(questions, timepoints):
        arrays = response_arrays(pc, plan, participants=cohort_ids)
        responded = arrays.responded
        for t, tp in enumerate(plan.timepoints):
            absent = ~responded[:, t]
            rows.append((plan.question, "timepoint", tp, tp, n_cohort, int(responded[:, t].sum()),
                         int(absent.sum()), _join_ids(cohort_ids[absent])))
        answered = responded.sum(axis=1)
        complete = answered == len(plan.timepoints)
        partial = (answered > 0) & ~complete
        rows.append((plan.question, "complete", "complete", "|".join(plan.timepoints), n_cohort,
                     int(complete.sum()), int(partial.sum()), _join_ids(cohort_ids[partial])))
        t_index = {t: i for i, t in enumerate(plan.timepoints)}
        for name, pair in contrasts.items():
            if not contrast_applies(pair, plan):
                continue
            first, second = responded[:, t_index[pair[0]]], responded[:, t_index[pair[1]]]
            only_one = first ^ second
            rows.append((plan.question, "contrast", str(name), f"{pair[0]}|{pair[1]}", n_cohort,
                         int((first & second).sum()), int(only_one.sum()),
                         _join_ids(cohort_ids[only_one])))
    frame = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    for column in ("n_cohort", "n", "n_excluded"):
        frame[column] = frame[column].astype("int64")
    return frame
