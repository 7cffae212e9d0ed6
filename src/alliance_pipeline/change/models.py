"""``models.csv``: the all-available-data model and the complete-case difference of changes.

Per question asked at two or more time points and each of its codes (codebook order), one
row per term and method:

- ``method = "gee_bias_reduced"``, one row per configured contrast the question has (config
  order) and then per ``compare`` pair whose contrasts it has (term ``"A - B"``): the
  saturated time-point GEE of :mod:`.gee` (binomial, identity link, exchangeable, every
  answered time point of every participant), the term as a linear contrast c'μ of the
  shares (contrast [t1, t2]: μ_t2 − μ_t1; pair: the difference of the two), its Wald
  interval c'μ ± z √(c'Σc) and two-sided Wald p on the normal reference, Σ the Mancl–DeRouen
  bias-reduced sandwich. ``n_participants`` / ``n_observations``: participants and answered
  time points the model used (the whole model's, the same on every term of the code).
- ``method = "gee_bias_reduced_t"``, right after each ``gee_bias_reduced`` row: the same
  estimate and standard error, with interval c'μ ± t_{K − p} √(c'Σc) and p on the t reference
  with K − p degrees of freedom (K the participants with at least one answer to the question,
  p the time points of the saturated model): with few clusters the normal reference is too
  liberal (Li & Redden 2015). NaN interval and p with a note when K ≤ p.
- ``method = "signflip"``, compare terms only, right after the pair's GEE row: mean d over the
  complete cases with the exact sign-flip p and the t interval
  (:mod:`.difference_of_changes`); ``n_participants`` = complete cases,
  ``n_observations`` = complete cases × the pair's time points.

``scale`` is ``risk_difference`` on every row. No p-value here is adjusted for multiplicity.
An undefined value is NaN with the ``note`` saying why (the GEE's notes, :mod:`.gee`);
the sign-flip note says how p was made (exact over 2^m patterns, or Monte Carlo with its SE).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.change.difference import (
    complete_differences,
    difference_weights,
    pair_term,
    signflip_test,
    t_interval,
)
from alliance_pipeline.change.gee import GeeFit, saturated_gee
from alliance_pipeline.change.participant_level import (
    QuestionPlan,
    contrast_applies,
    participant_codes,
    question_plans,
    response_arrays,
)
from alliance_pipeline.common.seeds import row_rng

MODELS_COLUMNS = ["cohort", "question", "code", "term", "estimate", "ci_low", "ci_high",
                  "p_value", "scale", "n_participants", "n_observations", "method", "note"]
NAN = float("nan")
GEE, GEE_T, SIGNFLIP = "gee_bias_reduced", "gee_bias_reduced_t", "signflip"


def model_terms(plan: QuestionPlan, contrasts: Mapping[str, Sequence[str]],
                compare: Sequence[Sequence[str]]) -> list[tuple[str, dict[str, int], bool]]:
    """The model terms a question has: its contrasts, then its compare pairs.

    Parameters
    ----------
    plan : QuestionPlan
        The question (its time points and codes).
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    compare : sequence of [A, B]
        Pairs of contrast names.

    Returns
    -------
    list of tuple
        ``(term, time point -> weight, is_compare)`` for every contrast whose time points
        the question has (config order), then every compare pair whose contrasts it has.

    Examples
    --------
    >>> from alliance_pipeline.change.models import model_terms
    >>> from alliance_pipeline.change.participant_level import QuestionPlan
    >>> plan = QuestionPlan("q1", ("pre1", "pre2", "post"), ("x",))
    >>> contrasts = {"baseline": ["pre1", "pre2"], "training": ["pre2", "post"]}
    >>> for term in model_terms(plan, contrasts, [["training", "baseline"]]):
    ...     print(term)
    ('baseline', {'pre1': -1, 'pre2': 1}, False)
    ('training', {'pre2': -1, 'post': 1}, False)
    ('training - baseline', {'pre2': -2, 'post': 1, 'pre1': 1}, True)
    """
    terms = [(str(name), {pair[0]: -1, pair[1]: 1}, False)
             for name, pair in contrasts.items() if contrast_applies(pair, plan)]
    for pair in compare:
        if all(contrast_applies(contrasts[name], plan) for name in pair):
            terms.append((pair_term(pair), difference_weights(pair, contrasts), True))
    return terms


def wald_row(fit: GeeFit, timepoints: Sequence[str], weights: Mapping[str, int],
             confidence: float, *, t_reference: bool = False) -> dict:
    """Estimate, Wald interval and p of a linear contrast c'μ of a GEE fit.

    Parameters
    ----------
    fit : GeeFit
        A fit of :func:`~alliance_pipeline.change.gee.saturated_gee`.
    timepoints : sequence of str
        The fit's time points, in the order of ``fit.params``.
    weights : mapping of str to int
        Time point -> contrast weight c_t (absent time points weigh 0).
    confidence : float
        Confidence level.
    t_reference : bool, default False
        Interval and p on the t reference with K − p degrees of freedom (K = the fit's
        participants, p = its time points) instead of the normal one.

    Returns
    -------
    dict
        ``estimate, ci_low, ci_high, p_value, note``; NaN with the fit's note when it was not
        fitted, interval and p NaN when the standard error is 0 (or, on the t reference, when
        K ≤ p).

    Notes
    -----
    With Σ the bias-reduced covariance, se = sqrt(c'Σc), the interval is
    c'μ ± z_{(1 + confidence)/2} se and p = 2 (1 − Φ(|c'μ| / se)) (normal reference), or
    c'μ ± t_{K − p, (1 + confidence)/2} se and p = 2 (1 − F_{t, K − p}(|c'μ| / se)) (t
    reference; Li & Redden 2015 recommend it with the Mancl–DeRouen covariance when there are
    few clusters, where the normal reference is too liberal).

    References
    ----------
    .. [1] Mancl, L. A. & DeRouen, T. A. (2001). Biometrics, 57(1), 126-134.
       doi:10.1111/j.0006-341X.2001.00126.x
    .. [2] Li, P. & Redden, D. T. (2015). Small sample performance of bias-corrected sandwich
       estimators for cluster-randomized trials with binary outcomes. Statistics in Medicine,
       34(2), 281-296. doi:10.1002/sim.6344

    Examples
    --------
    Complete data (see :func:`~alliance_pipeline.change.gee.saturated_gee`): μ_post − μ_pre =
    0.5 with bias-reduced variance 1/9, so 0.5 ± 1.96/3 and p = 2 (1 − Φ(1.5)):

    >>> import numpy as np
    >>> from alliance_pipeline.change.gee import saturated_gee
    >>> from alliance_pipeline.change.models import wald_row
    >>> y = np.array([[0, 1], [0, 1], [1, 1], [0, 0]])
    >>> fit = saturated_gee(np.ones((4, 2), dtype=bool), y, ["pre", "post"])
    >>> row = wald_row(fit, ["pre", "post"], {"pre": -1, "post": 1}, 0.95)
    >>> print(", ".join(f"{row[k]:.4f}" for k in ("estimate", "ci_low", "ci_high", "p_value")))
    0.5000, -0.1533, 1.1533, 0.1336

    On the t reference with 4 − 2 = 2 degrees of freedom, 0.5 ± 4.3027/3:

    >>> row = wald_row(fit, ["pre", "post"], {"pre": -1, "post": 1}, 0.95, t_reference=True)
    >>> print(", ".join(f"{row[k]:.4f}" for k in ("estimate", "ci_low", "ci_high", "p_value")))
    0.5000, -0.9342, 1.9342, 0.2724
    """
    from scipy import stats

    c = np.array([weights.get(tp, 0) for tp in timepoints], dtype=float)
    row = {"estimate": NAN, "ci_low": NAN, "ci_high": NAN, "p_value": NAN, "note": fit.note}
    if fit.note:
        return row
    estimate = float(c @ fit.params)
    se = float(np.sqrt(max(c @ fit.cov_bias_reduced @ c, 0.0)))
    row["estimate"] = estimate
    if se == 0:
        row["note"] = "standard error 0: interval and p undefined"
        return row
    level, ratio = (1 + confidence) / 2, abs(estimate) / se
    if t_reference:
        df = fit.n_participants - len(timepoints)
        if df <= 0:
            row["note"] = (f"{fit.n_participants} participants for {len(timepoints)} time points: "
                           "no degrees of freedom for the t reference")
            return row
        q, p = float(stats.t.ppf(level, df)), float(2 * stats.t.sf(ratio, df))
    else:
        q, p = float(stats.norm.ppf(level)), float(2 * stats.norm.sf(ratio))
    row.update(ci_low=estimate - q * se, ci_high=estimate + q * se, p_value=p)
    return row


def signflip_row(d: np.ndarray, confidence: float, permutations: int,
                 rng: np.random.Generator) -> dict:
    """The complete-case row of a compare term: mean d, t interval, sign-flip p.

    Parameters
    ----------
    d : numpy.ndarray
        Differences of changes of the complete cases (:func:`.difference.complete_differences`).
    confidence : float
        Confidence level of the t interval.
    permutations : int
        Monte Carlo draws when the exact test is too large (0: off).
    rng : numpy.random.Generator
        Generator of those draws.

    Returns
    -------
    dict
        ``estimate, ci_low, ci_high, p_value, note``; the note says how p was made.

    Notes
    -----
    Estimate mean(d); interval :func:`.difference.t_interval`; p
    :func:`.difference.signflip_test`.

    References
    ----------
    .. [1] Good, P. I. (2005). Permutation, Parametric and Bootstrap Tests of Hypotheses,
       3rd ed. Springer.

    Examples
    --------
    d = (1, 1, 1, 2): mean 1.25, t interval 1.25 ± 3.1824 · 0.5 / 2, exact p = 2/16:

    >>> import numpy as np
    >>> from alliance_pipeline.change.models import signflip_row
    >>> row = signflip_row(np.array([1, 1, 1, 2]), 0.95, 1000, np.random.default_rng(0))
    >>> print(f"{row['estimate']:.4f} {row['ci_low']:.4f} {row['ci_high']:.4f} {row['p_value']}")
    1.2500 0.4544 2.0456 0.125
    >>> row["note"]
    'exact p over all 16 sign patterns; t interval'
    """
    n = len(d)
    row = {"estimate": float(d.mean()) if n else NAN, "ci_low": NAN, "ci_high": NAN,
           "p_value": NAN}
    if n == 0:
        return {**row, "note": "no participant answered at every time point of both contrasts"}
    row["ci_low"], row["ci_high"] = t_interval(d, confidence)
    result = signflip_test(d, permutations=permutations, rng=rng)
    notes = []
    if result.patterns == 0:
        notes.append("every d is 0: no difference of changes to test" if not (d != 0).any()
                     else "Monte Carlo permutations off (0): p not computed")
    elif result.exact:
        notes.append(f"exact p over all {result.patterns} sign patterns")
    else:
        notes.append(f"Monte Carlo p over {result.patterns} sign patterns, MC SE {result.mcse:.2g}")
    if n < 2:
        notes.append(f"too few complete cases ({n}) for an interval")
    elif np.isnan(row["ci_low"]):
        if (d != 0).any():
            notes.append("every d is the same: interval undefined")
    else:
        notes.append("t interval")
    return {**row, "p_value": result.p_value, "note": "; ".join(notes)}


def models_table(final_codes: pd.DataFrame, *, cohort: str, questions: Mapping[str, Mapping],
                 timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                 compare: Sequence[Sequence[str]] = (), confidence: float = 0.95,
                 aggregate: str = "any", permutations: int = 10_000,
                 seed: int = 20250601, participant_level: pd.DataFrame | None = None) -> pd.DataFrame:
    """The contract's ``models.csv`` for one cohort (see the module docstring).

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
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    compare : sequence of [A, B], default ()
        Pairs of contrasts whose difference of changes gets rows.
    confidence : float, default 0.95
        Confidence level.
    aggregate : {"any", "all", "majority"}, default "any"
        How a participant's item responses are combined.
    permutations : int, default 10000
        Monte Carlo draws of the sign-flip test when not exact.
    seed : int, default 20250601
        The sign-flip draws use :func:`alliance_pipeline.common.seeds.row_rng` of ``seed``, the
        question and ``"<code> <term>"``, so a row does not depend on the others.
    participant_level : pandas.DataFrame, optional
        ``participant_codes(final_codes, aggregate)`` when the caller has it.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MODELS_COLUMNS`: per question and code a ``gee_bias_reduced`` and a
        ``gee_bias_reduced_t`` row per term, each compare term's followed by its ``signflip``
        row.

    Notes
    -----
    The GEE is :func:`.gee.saturated_gee`, its rows :func:`wald_row`; the sign-flip rows
    :func:`signflip_row`. No p-value is adjusted for multiplicity.

    References
    ----------
    .. [1] Liang, K.-Y. & Zeger, S. L. (1986). Biometrika, 73(1), 13-22.
    .. [2] Mancl, L. A. & DeRouen, T. A. (2001). Biometrics, 57(1), 126-134.
       doi:10.1111/j.0006-341X.2001.00126.x

    Examples
    --------
    The complete data of :func:`wald_row` as final codes:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.models import models_table
    >>> rows = [("p1", "pre", 0), ("p1", "post", 1), ("p2", "pre", 0), ("p2", "post", 1),
    ...         ("p3", "pre", 1), ("p3", "post", 1), ("p4", "pre", 0), ("p4", "post", 0)]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", y) for p, t, y in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> table = models_table(codes, cohort="demo", questions={"q1": {"codes": ["x"]}},
    ...                      timepoints=["pre", "post"], contrasts={"change": ["pre", "post"]})
    >>> print(table[["term", "method", "estimate", "ci_low", "ci_high", "p_value"]]
    ...       .round(4).to_string())
         term              method  estimate  ci_low  ci_high  p_value
    0  change    gee_bias_reduced       0.5 -0.1533   1.1533   0.1336
    1  change  gee_bias_reduced_t       0.5 -0.9342   1.9342   0.2724
    """
    pc = (participant_level if participant_level is not None
          else participant_codes(final_codes, aggregate=aggregate))
    rows = []
    for plan in question_plans(questions, timepoints):
        if len(plan.timepoints) < 2:
            continue
        terms = model_terms(plan, contrasts, compare)
        if not terms:
            continue
        arrays = response_arrays(pc, plan)
        for j, code in enumerate(plan.codes):
            y = arrays.present[:, :, j]
            fit = saturated_gee(arrays.responded, y, plan.timepoints)
            base = {"cohort": cohort, "question": plan.question, "code": code,
                    "scale": "risk_difference"}
            sizes = {"n_participants": fit.n_participants, "n_observations": fit.n_observations}
            for term, weights, is_compare in terms:
                for method, t_ref in ((GEE, False), (GEE_T, True)):
                    rows.append({**base, "term": term, **sizes, "method": method,
                                 **wald_row(fit, plan.timepoints, weights, confidence,
                                            t_reference=t_ref)})
                if not is_compare:
                    continue
                d = complete_differences(arrays.responded, y, plan.timepoints, weights)
                rng = row_rng(seed, plan.question, f"{code} {term}")
                rows.append({**base, "term": term, **signflip_row(d, confidence, permutations, rng),
                             "n_participants": len(d), "n_observations": len(d) * len(weights),
                             "method": SIGNFLIP})
    frame = pd.DataFrame(rows, columns=MODELS_COLUMNS)
    for column in ("n_participants", "n_observations"):
        frame[column] = frame[column].astype("int64")
    for column in ("estimate", "ci_low", "ci_high", "p_value"):
        frame[column] = frame[column].astype(float)
    frame["note"] = frame["note"].fillna("").astype(str)
    return frame.reset_index(drop=True)
