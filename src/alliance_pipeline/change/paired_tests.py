"""Change over time in paired binary codes: the contract's ``tests.csv`` (:func:`tests_table`).

For every question asked at two or more time points and each of its codes:

- one **Cochran's Q** row (``test = "cochran_q"``, ``contrast = "omnibus"``) on the complete
  cases, i.e. participants who answered the question at every one of its time points;
- one **McNemar** row per configured contrast whose two time points the question has
  (``test = "mcnemar"``), on the participants who answered at both time points;
- when the question has items (several responses per participant, question and time
  point), right after each McNemar row a ``method = "clustered"`` row: the Durkalski et al.
  (2003) clustered McNemar test on the response pairs, participants as clusters.

Participant-level rows combine a participant's item responses by the ``aggregate`` rule of
:func:`alliance_pipeline.change.proportions.participant_codes`. The tests, effect sizes and
counts are computed by the modules beside this one, where their formulas and references
stand: :mod:`.mcnemar` (McNemar's variants and the clustered test), :mod:`.cochran_q`
(Cochran's Q and its permutation p-value), :mod:`.effect_sizes` (risk difference, paired
odds ratio), :mod:`.multiplicity` (Holm / Bonferroni) and :mod:`.paired_counts` (pairs and
their 2×2 counts).

Columns (the contract's first, then extras)::

    cohort, question, code, test, contrast, timepoints, n, b, c, statistic, df, p_value,
    p_adjusted, method, risk_difference, rd_ci_low, rd_ci_high, odds_ratio, or_ci_low,
    or_ci_high, note, n_excluded, n_clusters, rd_ci_method, or_ci_method, p_permutation,
    p_permutation_mcse, permutations

What each cell holds:

- ``n``: complete cases (Cochran) or pairs (McNemar); in a ``clustered`` row, response
  pairs (participant and item answered at both time points).
- ``b`` / ``c``: pairs with the code at the first time point only / at the second only
  (empty for Cochran).
- ``statistic``: Cochran's Q; McNemar's X² (``asymptotic``, ``asymptotic_cc``) or min(b, c)
  (``exact``, ``midp``); Durkalski's X² (``clustered``). See :mod:`.mcnemar`.
- ``df``: k − 1 (Cochran), 1 (asymptotic and clustered McNemar), empty for exact and midp
  and wherever the statistic is empty.
- ``p_value``: from chi-square(k − 1) (Cochran); per method for McNemar (:mod:`.mcnemar`).
- ``p_adjusted``: McNemar p-values adjusted (Holm / Bonferroni / none) across the
  contrasts of the same cohort, question and code; the clustered rows form their own
  family the same way. Empty p-values are left out of the family. The Cochran row's
  ``p_adjusted`` is its ``p_value`` (it is a single omnibus test).
- ``method``: McNemar: exact | midp | asymptotic | asymptotic_cc | clustered; ``auto`` picks
  exact when b + c < ``exact_below``, else asymptotic (asymptotic_cc with ``continuity``).
  Cochran: ``asymptotic`` (chi-square approximation).
- ``risk_difference`` = p(second) − p(first) = (c − b) / n with its interval
  (``rd_ci_method``: ``newcombe10``; clustered rows ``wald_cluster``), see :mod:`.effect_sizes`.
- ``odds_ratio`` = c / b (paired, conditional odds ratio) with its exact conditional
  interval (``or_ci_method = "exact_conditional"``, see :mod:`.effect_sizes`). b = 0: the
  ratio is infinite, so ``odds_ratio`` and ``or_ci_high`` are empty and only ``or_ci_low``
  is given; c = 0: the ratio and its lower bound are 0 and the upper bound is finite;
  b = c = 0: all empty. Not given for clustered rows.
- ``n_excluded``: participants left out — answered at only one of the two time points
  (McNemar), or at some but not all of the question's time points (Cochran); clustered
  rows: responses (participant and item) without a partner at the other time point.
- ``n_clusters``: clustered rows only: participants contributing at least one pair.
- ``p_permutation``, ``p_permutation_mcse``, ``permutations``: Cochran rows only: the
  permutation p-value of Q (each complete case's responses permuted across its time points,
  ``permutations`` seeded draws, :func:`.cochran_q.cochran_q_permutation`) and its Monte
  Carlo standard error, beside the chi-square ``p_value``; empty when Q is undefined or
  permutations are off (0). The seed of a row is the configured seed with the question and
  code, so a row's value does not depend on the rest of the table.
- ``note``: why a value is empty, or which method ``auto`` chose. Undefined values are
  empty (NaN), never 0 or 1: no discordant pairs (b + c = 0) leaves statistic and p empty;
  a code never or always present (or unchanged in every participant) leaves Cochran's Q
  empty ("no variation"); fewer than two complete cases / pairs leave the test empty.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.change.cochran_q import cochran_q_permutation, cochran_q_test
from alliance_pipeline.change.effect_sizes import cluster_rd, newcombe_paired_rd, paired_odds_ratio
from alliance_pipeline.change.mcnemar import (
    clustered_mcnemar_test,
    mcnemar_test,
    resolve_mcnemar_method,
)
from alliance_pipeline.change.multiplicity import P_ADJUST_METHODS, adjust_pvalues
from alliance_pipeline.change.paired_counts import (
    ClusterCounts,
    ContrastCounts,
    cluster_counts,
    contrast_counts,
    has_items,
)
from alliance_pipeline.change.participant_level import (
    QuestionPlan,
    participant_codes,
    question_plans,
    response_arrays,
)
from alliance_pipeline.common.seeds import row_rng

TESTS_COLUMNS = ["cohort", "question", "code", "test", "contrast", "timepoints", "n", "b", "c",
                 "statistic", "df", "p_value", "p_adjusted", "method", "risk_difference",
                 "rd_ci_low", "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "note",
                 "n_excluded", "n_clusters", "rd_ci_method", "or_ci_method", "p_permutation",
                 "p_permutation_mcse", "permutations"]
INT_COLUMNS = ["n", "b", "c", "df", "n_excluded", "n_clusters", "permutations"]
NAN = float("nan")


# --------------------------------------------------------------------------- the table

def _join(notes) -> str:
    return "; ".join(n for n in notes if n)


def _no_response_note(timepoints) -> str:
    return f"no responses at {', '.join(timepoints)}" if timepoints else ""


def tests_table(final_codes: pd.DataFrame, *, cohort: str, questions: Mapping[str, Mapping],
                timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                confidence: float = 0.95, p_adjust: str = "holm", mcnemar_method: str = "auto",
                continuity: bool = False, exact_below: int = 25,
                aggregate: str = "any", permutations: int = 10_000,
                permutation_seed: int = 20250601) -> pd.DataFrame:
    """The contract's ``tests.csv`` for one cohort (see the module docstring for the columns).

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes (``participant_id, timepoint, question, code, present``, and
        ``item`` when the cohort has items).
    cohort : str
        The cohort's name.
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` in codebook order.
    timepoints : sequence of str
        The study's time points in order.
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    confidence : float, default 0.95
        Confidence level of the effect-size intervals.
    p_adjust : {"holm", "bonferroni", "none"}, default "holm"
        Adjustment within each family (:func:`.multiplicity.adjust_pvalues`).
    mcnemar_method : {"auto", "exact", "midp", "asymptotic"}, default "auto"
        See :func:`.mcnemar.mcnemar_test`.
    continuity : bool, default False
        Continuity correction of the asymptotic McNemar test.
    exact_below : int, default 25
        ``auto`` takes the exact test when b + c < ``exact_below``.
    aggregate : {"any", "all", "majority"}, default "any"
        How a participant's item responses are combined.
    permutations : int, default 10000
        Permutations of Cochran's Q (0: off).
    permutation_seed : int, default 20250601
        Seed of the permutations, combined with the question and code.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TESTS_COLUMNS`. Rows: questions asked at two or more time points
        (codebook order), their codes; per code the Cochran's Q row, then one McNemar row per
        applicable contrast (config order), each followed by its clustered row when the
        question has items. Deterministic; never raises on sparse or degenerate data.

    Notes
    -----
    Cochran's Q: :func:`.cochran_q.cochran_q_test` and :func:`.cochran_q.cochran_q_permutation`;
    McNemar: :func:`.mcnemar.mcnemar_test`, clustered :func:`.mcnemar.clustered_mcnemar_test`;
    effect sizes: :func:`.effect_sizes.newcombe_paired_rd`, :func:`.effect_sizes.paired_odds_ratio`,
    :func:`.effect_sizes.cluster_rd`.

    References
    ----------
    .. [1] Cochran, W. G. (1950). Biometrika, 37(3/4), 256-266. doi:10.1093/biomet/37.3-4.256
    .. [2] McNemar, Q. (1947). Psychometrika, 12(2), 153-157. doi:10.1007/BF02295996
    .. [3] Newcombe, R. G. (1998). Statistics in Medicine, 17(22), 2635-2650.

    Examples
    --------
    Four participants, code x at pre and post: a = 1, b = 0, c = 2, d = 1. Cochran's Q with
    two time points is McNemar's (b − c)² / (b + c) = 2; the exact McNemar p is
    2·P(X ≤ 0 | n = 2) = 0.5:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.paired_tests import tests_table
    >>> rows = [("p1", "pre", 0), ("p1", "post", 1), ("p2", "pre", 0), ("p2", "post", 1),
    ...         ("p3", "pre", 1), ("p3", "post", 1), ("p4", "pre", 0), ("p4", "post", 0)]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", y) for p, t, y in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> table = tests_table(codes, cohort="demo", questions={"q1": {"codes": ["x"]}},
    ...                     timepoints=["pre", "post"], contrasts={"change": ["pre", "post"]},
    ...                     permutations=0)
    >>> print(table[["test", "contrast", "n", "b", "c", "statistic", "df", "p_value", "method"]]
    ...       .round(4).to_string())
            test contrast  n     b     c  statistic    df  p_value      method
    0  cochran_q  omnibus  4  <NA>  <NA>        2.0     1   0.1573  asymptotic
    1    mcnemar   change  4     0     2        0.0  <NA>   0.5000       exact

    The risk difference (c − b)/n = 0.5 with Newcombe's interval; b = 0, so the odds ratio is
    infinite and only the lower bound of its exact interval, from π_L = sqrt(0.025), is given:

    >>> row = table.iloc[1]
    >>> print(f"{row.risk_difference} {row.rd_ci_low:.4f} {row.rd_ci_high:.4f} {row.or_ci_low:.4f}")
    0.5 -0.1355 0.7891 0.1878
    """
    if p_adjust not in P_ADJUST_METHODS:
        raise ValueError(f"p_adjust must be one of {', '.join(P_ADJUST_METHODS)}; got {p_adjust!r}")
    resolve_mcnemar_method(0, 0, mcnemar_method)  # validates the name
    pc = participant_codes(final_codes, aggregate=aggregate)
    rows: list[dict] = []
    for plan in question_plans(questions, timepoints):
        if len(plan.timepoints) < 2:
            continue
        arrays = response_arrays(pc, plan)
        counts = contrast_counts(arrays, plan, contrasts)
        clustered = cluster_counts(final_codes, plan, contrasts) if has_items(final_codes, plan.question) else {}
        answered = arrays.responded.sum(axis=0)
        silent = [t for t, m in zip(plan.timepoints, answered, strict=True) if m == 0]
        n_answered = arrays.responded.sum(axis=1)
        complete = n_answered == len(plan.timepoints)
        partial = int(((n_answered > 0) & ~complete).sum())
        x_complete = arrays.present[complete]                     # (N, T, C)
        for j, code in enumerate(plan.codes):
            base = {"cohort": cohort, "question": plan.question, "code": code}
            rows.append(_cochran_row(base, plan, x_complete[:, :, j], partial, silent,
                                     permutations, permutation_seed))
            family, cluster_family = [], []
            for cc in counts:
                row = _mcnemar_row(base, cc, j, confidence, mcnemar_method, continuity, exact_below)
                rows.append(row)
                family.append(row)
                if cc.name in clustered:
                    crow = _clustered_row(base, cc, clustered[cc.name], j, confidence)
                    rows.append(crow)
                    cluster_family.append(crow)
            for fam in (family, cluster_family):
                adjusted = adjust_pvalues([r["p_value"] for r in fam], p_adjust)
                for r, p in zip(fam, adjusted, strict=True):
                    r["p_adjusted"] = float(p)
    frame = pd.DataFrame(rows, columns=TESTS_COLUMNS)
    for column in INT_COLUMNS:
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    float_columns = ["statistic", "p_value", "p_adjusted", "risk_difference", "rd_ci_low",
                     "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high", "p_permutation",
                     "p_permutation_mcse"]
    frame[float_columns] = frame[float_columns].astype(float)
    for column in ("note", "rd_ci_method", "or_ci_method"):
        frame[column] = frame[column].fillna("").astype(str)
    return frame.reset_index(drop=True)


# pytest would collect a function named test*/tests* imported into a test module
tests_table.__test__ = False  # type: ignore[attr-defined]  # pytest reads it off the function


def _empty_effects() -> dict:
    return {"risk_difference": NAN, "rd_ci_low": NAN, "rd_ci_high": NAN, "odds_ratio": NAN,
            "or_ci_low": NAN, "or_ci_high": NAN, "rd_ci_method": "", "or_ci_method": ""}


def _cochran_row(base: dict, plan: QuestionPlan, x: np.ndarray, partial: int, silent,
                 permutations: int, seed: int) -> dict:
    n = int(x.shape[0])
    result = cochran_q_test(x)
    permuted = cochran_q_permutation(x, permutations, row_rng(seed, base["question"], base["code"]))
    notes = [_no_response_note(silent)]
    if n < 2:
        notes.append(f"too few complete cases ({n})")
    elif np.isnan(result.statistic):
        total = int(x.sum())
        if total == 0:
            notes.append("no variation: code never present in the complete cases")
        elif total == x.size:
            notes.append("no variation: code always present in the complete cases")
        else:
            notes.append("no variation: every complete case unchanged across time points")
    return {**base, "test": "cochran_q", "contrast": "omnibus",
            "timepoints": "|".join(plan.timepoints), "n": n, "b": pd.NA, "c": pd.NA,
            "statistic": result.statistic,
            "df": pd.NA if np.isnan(result.statistic) else int(result.df), "p_value": result.p_value,
            "p_adjusted": result.p_value, "method": result.method, **_empty_effects(),
            "note": _join(notes), "n_excluded": partial, "n_clusters": pd.NA,
            "p_permutation": permuted.p_value, "p_permutation_mcse": permuted.mcse,
            "permutations": permuted.permutations if permuted.permutations else pd.NA}


def _mcnemar_row(base: dict, cc: ContrastCounts, j: int, confidence: float, method: str,
                 continuity: bool, exact_below: int) -> dict:
    a, b, c, d = int(cc.a[j]), int(cc.b[j]), int(cc.c[j]), int(cc.d[j])
    used = resolve_mcnemar_method(b, c, method, continuity, exact_below)
    notes = [_no_response_note(cc.no_responses)]
    statistic = df = p = NAN
    if cc.n < 2:
        notes.append(f"too few pairs ({cc.n})")
    elif b + c == 0:
        notes.append("no discordant pairs: no change to test")
    else:
        result = mcnemar_test(b, c, method=method, continuity=continuity, exact_below=exact_below)
        statistic, df, p = result.statistic, result.df, result.p_value
        if method == "auto":
            sign = "<" if b + c < exact_below else ">="
            notes.append(f"auto: b + c = {b + c} {sign} {exact_below}")
    effects = _empty_effects()
    if cc.n > 0:
        rd, low, high = newcombe_paired_rd(a, b, c, d, confidence)
        effects.update(risk_difference=rd, rd_ci_low=low, rd_ci_high=high, rd_ci_method="newcombe10")
    if cc.n >= 2 and b + c > 0:
        odds, low, high, or_note = paired_odds_ratio(b, c, confidence)
        effects.update(odds_ratio=odds, or_ci_low=low, or_ci_high=high,
                       or_ci_method="exact_conditional")
        notes.append(or_note)
    return {**base, "test": "mcnemar", "contrast": cc.name, "timepoints": f"{cc.first}|{cc.second}",
            "n": cc.n, "b": b, "c": c, "statistic": statistic,
            "df": pd.NA if np.isnan(df) else int(df), "p_value": p, "p_adjusted": NAN,
            "method": used, **effects, "note": _join(notes), "n_excluded": cc.n_excluded,
            "n_clusters": pd.NA}


def _clustered_row(base: dict, cc: ContrastCounts, kc: ClusterCounts, j: int,
                   confidence: float) -> dict:
    size = kc.n_clusters_total
    b_k = np.bincount(kc.cluster, weights=kc.b[:, j], minlength=size)
    c_k = np.bincount(kc.cluster, weights=kc.c[:, j], minlength=size)
    m_k = np.bincount(kc.cluster, minlength=size)
    used = m_k > 0
    b_k, c_k, m_k = b_k[used], c_k[used], m_k[used]
    k = int(used.sum())
    b, c = int(b_k.sum()), int(c_k.sum())
    notes = [_no_response_note(cc.no_responses)]
    statistic = p = NAN
    if k < 2:
        notes.append(f"too few participants with pairs ({k})")
    elif b + c == 0:
        notes.append("no discordant pairs: no change to test")
    else:
        result = clustered_mcnemar_test(b_k, c_k)
        statistic, p = result.statistic, result.p_value
        if np.isnan(statistic):
            notes.append("discordant pairs cancel within every participant: statistic undefined")
    effects = _empty_effects()
    if kc.n > 0:
        rd, low, high = cluster_rd(b_k, c_k, m_k, confidence)
        effects.update(risk_difference=rd, rd_ci_low=low, rd_ci_high=high, rd_ci_method="wald_cluster")
        if np.isnan(low) and k >= 2:
            notes.append("risk difference interval undefined (no variation between participants)")
    notes.append("odds ratio given at participant level only")
    return {**base, "test": "mcnemar", "contrast": cc.name, "timepoints": f"{cc.first}|{cc.second}",
            "n": kc.n, "b": b, "c": c, "statistic": statistic,
            "df": pd.NA if np.isnan(statistic) else 1, "p_value": p,
            "p_adjusted": NAN, "method": "clustered", **effects, "note": _join(notes),
            "n_excluded": kc.n_excluded, "n_clusters": k}
