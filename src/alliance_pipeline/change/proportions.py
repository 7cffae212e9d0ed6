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
first combined by the ``aggregate`` rule
(:func:`.participant_level.participant_codes`, where the question plans and arrays are too).

No file I/O; the functions return data frames.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.change.participant_level import (
    contrast_applies,
    participant_codes,
    question_plans,
    response_arrays,
)

PROPORTIONS_COLUMNS = ["cohort", "question", "code", "timepoint", "n", "k", "proportion",
                       "ci_low", "ci_high", "share_of_codes", "ci_method", "note"]
FLOW_COLUMNS = ["question", "step", "name", "timepoints", "n_cohort", "n", "n_excluded",
                "missing"]


# --------------------------------------------------------------------------- proportions

def wilson_interval(k, n, confidence: float = 0.95):
    """Wilson score interval of a proportion k / n (arrays allowed).

    Parameters
    ----------
    k : int or array_like
        Participants with the code.
    n : int or array_like
        Participants who answered (broadcast against ``k``).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple
        (low, high): floats for scalar input, arrays otherwise; NaN where n = 0.

    Notes
    -----
    With p̂ = k / n and z = z_{(1 + confidence)/2},

        (p̂ + z²/(2n) ± z sqrt(p̂(1 − p̂)/n + z²/(4n²))) / (1 + z²/n),

    computed by statsmodels' ``proportion_confint(method="wilson")``. The bounds at k = 0 and
    k = n are set to exactly 0 and 1 (so algebraically; the floating-point result can be off
    by ~1e-17), and all bounds are clipped to [0, 1].

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. Journal of the American Statistical Association, 22(158), 209-212.
       doi:10.1080/01621459.1927.10502953

    Examples
    --------
    3 of 10: centre (0.3 + 0.1921) / 1.3841 = 0.3555, half-width 0.2477:

    >>> from alliance_pipeline.change.proportions import wilson_interval
    >>> low, high = wilson_interval(3, 10)
    >>> round(low, 4), round(high, 4)
    (0.1078, 0.6032)
    >>> low, high = wilson_interval([0, 3], [10, 0])
    >>> low.tolist(), high.round(4).tolist()
    ([0.0, nan], [0.2775, nan])
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

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes (``participant_id, timepoint, question, code, present`` are used).
    cohort : str
        The cohort's name.
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` in codebook order.
    timepoints : sequence of str
        The study's time points in order.
    confidence : float, default 0.95
        Confidence level of the Wilson intervals.
    aggregate : {"any", "all", "majority"}, default "any"
        How a participant's item responses are combined (:func:`.participant_level.participant_codes`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PROPORTIONS_COLUMNS`, one row per question (codebook order), code
        (codebook order) and time point of the question (study order).

    Notes
    -----
    ``n`` = participants who answered the question at that time point, ``k`` = those of them
    with the code, ``proportion`` = k / n with its Wilson interval (:func:`wilson_interval`,
    ``ci_method = "wilson"``). ``share_of_codes`` = k / Σ k over the question's codes at that
    time point: the code's share of all codes given; empty when no code was given. A time point
    nobody answered has n = k = 0, empty proportion, interval and share, and a note.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Journal of the American Statistical Association, 22(158),
       209-212. doi:10.1080/01621459.1927.10502953

    Examples
    --------
    1 of 4 participants has code x at pre, 3 of 4 at post:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.proportions import proportions_table
    >>> rows = [("p1", "pre", 0), ("p1", "post", 1), ("p2", "pre", 0), ("p2", "post", 1),
    ...         ("p3", "pre", 1), ("p3", "post", 1), ("p4", "pre", 0), ("p4", "post", 0)]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", y) for p, t, y in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> table = proportions_table(codes, cohort="demo", questions={"q1": {"codes": ["x"]}},
    ...                           timepoints=["pre", "post"])
    >>> print(table[["timepoint", "n", "k", "proportion", "ci_low", "ci_high"]].round(4).to_string())
      timepoint  n  k  proportion  ci_low  ci_high
    0       pre  4  1        0.25  0.0456   0.6994
    1      post  4  3        0.75  0.3006   0.9544
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

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes (``participant_id, timepoint, question`` are used).
    timepoints : sequence of str
        The study's time points in order.
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` in codebook order.

    Returns
    -------
    pandas.DataFrame
        Columns ``question, step, name, timepoints, n_cohort, n, n_excluded, missing``; per
        question (codebook order):

        - ``step = "timepoint"``, one per time point of the question (study order): ``n``
          participants who answered then; ``n_excluded`` participants of the cohort who did
          not; ``missing`` their ids.
        - ``step = "complete"``: ``n`` complete cases (answered at every time point of the
          question: the participants of Cochran's Q); ``n_excluded`` those who answered at
          some but not all of them; ``missing`` their ids.
        - ``step = "contrast"``, one per configured contrast whose two time points the
          question has (config order): ``n`` pairs; ``n_excluded`` answered at exactly one of
          the two (left out of that McNemar test); ``missing`` their ids.

        ``n_cohort`` = participants anywhere in ``final_codes``. Ids in ``missing`` are sorted
        and ``;``-joined; empty when nobody is missing.

    Examples
    --------
    p3 answered at pre only:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.proportions import participant_flow
    >>> rows = [("p1", "pre"), ("p1", "post"), ("p2", "pre"), ("p2", "post"), ("p3", "pre")]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", 0) for p, t in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> flow = participant_flow(codes, timepoints=["pre", "post"], questions={"q1": {"codes": ["x"]}},
    ...                         contrasts={"change": ["pre", "post"]})
    >>> print(flow[["missing", "step", "name", "n_cohort", "n", "n_excluded"]].to_string())
      missing       step      name  n_cohort  n  n_excluded
    0          timepoint       pre         3  3           0
    1      p3  timepoint      post         3  2           1
    2      p3   complete  complete         3  2           1
    3      p3   contrast    change         3  2           1
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
