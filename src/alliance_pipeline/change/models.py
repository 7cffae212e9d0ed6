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
from alliance_pipeline.change.proportions import (
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


def model_terms(plan: QuestionPlan, contrasts: Mapping[str, Sequence[str]],
                compare: Sequence[Sequence[str]]) -> list[tuple[str, dict[str, int], bool]]:
    """``(term, time point -> weight, is_compare)`` for the terms a question has."""
    terms = [(str(name), {pair[0]: -1, pair[1]: 1}, False)
             for name, pair in contrasts.items() if contrast_applies(pair, plan)]
    for pair in compare:
        if all(contrast_applies(contrasts[name], plan) for name in pair):
            terms.append((pair_term(pair), difference_weights(pair, contrasts), True))
    return terms


def wald_row(fit: GeeFit, timepoints: Sequence[str], weights: Mapping[str, int],
             confidence: float) -> dict:
    """Estimate, Wald interval and normal-reference p of c'μ from the bias-reduced covariance."""
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
    z = float(stats.norm.ppf((1 + confidence) / 2))
    row.update(ci_low=estimate - z * se, ci_high=estimate + z * se,
               p_value=float(2 * stats.norm.sf(abs(estimate) / se)))
    return row


def signflip_row(d: np.ndarray, confidence: float, permutations: int,
                 rng: np.random.Generator) -> dict:
    """The complete-case row of a compare term (see the module docstring)."""
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

    The sign-flip Monte Carlo branch draws from :func:`alliance_pipeline.common.seeds.row_rng` of
    ``seed``, the question and ``"<code> <term>"``, so a row does not depend on the others.
    ``participant_level``: ``participant_codes(final_codes, aggregate)`` when the caller has it.
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
            for term, weights, is_compare in terms:
                rows.append({**base, "term": term, **wald_row(fit, plan.timepoints, weights, confidence),
                             "n_participants": fit.n_participants,
                             "n_observations": fit.n_observations, "method": "gee_bias_reduced"})
                if not is_compare:
                    continue
                d = complete_differences(arrays.responded, y, plan.timepoints, weights)
                rng = row_rng(seed, plan.question, f"{code} {term}")
                rows.append({**base, "term": term, **signflip_row(d, confidence, permutations, rng),
                             "n_participants": len(d), "n_observations": len(d) * len(weights),
                             "method": "signflip"})
    frame = pd.DataFrame(rows, columns=MODELS_COLUMNS)
    for column in ("n_participants", "n_observations"):
        frame[column] = frame[column].astype("int64")
    for column in ("estimate", "ci_low", "ci_high", "p_value"):
        frame[column] = frame[column].astype(float)
    frame["note"] = frame["note"].fillna("").astype(str)
    return frame.reset_index(drop=True)
