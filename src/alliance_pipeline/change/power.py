"""Sample size a follow-up study would need to detect the observed change (``power.csv``).

Per question asked at two or more time points, code and contrast, the observed discordant
shares p10 = b/n (code at the first time point only) and p01 = c/n (second only) over the
n participant pairs of that contrast (items combined by the ``aggregate`` rule) give the
number of pairs a two-sided McNemar test at level alpha needs for the target power, by
Connor (1987, Biometrics 43:207-211):

    n = [z_{1-α/2} √ψ + z_{1-β} √(ψ − δ²)]² / δ²,   ψ = p10 + p01,  δ = p01 − p10,

rounded up (``method = "connor1987"``). ``effect_scale`` s shrinks the change while keeping
the share of participants who change: δ → s·δ with ψ unchanged (so the assumed shares are
p10' = (ψ − sδ)/2, p01' = (ψ + sδ)/2). The ``p10`` and ``p01`` columns always hold the
observed shares; the extra columns ``psi`` and ``delta`` hold the values that entered the
formula (``delta`` already scaled). With s = 0.5 the required n is roughly four times the
n for s = 1 (exactly so when ψ ≫ δ²).

For each ``compare`` pair [A, B] (contrast ``"A - B"``), the participants a follow-up trial
needs to detect the observed difference of changes d_i = (change over A) − (change over B)
(:mod:`.difference_of_changes`, complete cases): a two-sided one-sample t test of mean d = 0
at level alpha with effect size s·mean(d)/sd(d) (sd with n − 1), solved for n by statsmodels'
``TTestPower.solve_power`` (noncentral t; Cohen 1988, ch. 2) and rounded up
(``method = "one_sample_t_d"``). The observed sd stands for the trial's: no shrinkage, so
the figure is as uncertain as sd(d). ``p10``, ``p01`` and ``psi`` are empty on these rows,
``delta`` holds s·mean(d), ``sd_d`` the sd and ``n_pairs`` the complete cases.

Columns: ``cohort, question, code, contrast, p10, p01, alpha, power, effect_scale,
n_required, method`` (the contract's) then ``n_pairs, psi, delta, note, sd_d``. n_required
is empty with a note when δ = 0 (no change observed: no sample size detects it), when the
contrast has no pairs, or (difference of changes) when d does not vary. Rows: questions and
codes in codebook order; per code its contrasts in config order, then its compare pairs;
then effect scales and targets in the order given.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.change.difference import (
    complete_differences,
    difference_weights,
    pair_term,
)
from alliance_pipeline.change.paired_counts import paired_counts
from alliance_pipeline.change.participant_level import (
    contrast_applies,
    participant_codes,
    question_plans,
    response_arrays,
)

POWER_COLUMNS = ["cohort", "question", "code", "contrast", "p10", "p01", "alpha", "power",
                 "effect_scale", "n_required", "method", "n_pairs", "psi", "delta", "note", "sd_d"]
NAN = float("nan")


def connor_sample_size(p10: float, p01: float, *, alpha: float = 0.05, power: float = 0.8,
                       effect_scale: float = 1.0) -> float:
    """Pairs a two-sided McNemar test needs (Connor 1987), rounded up.

    Parameters
    ----------
    p10, p01 : float
        Discordant shares: code at the first time point only (p10), the second only (p01).
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Target power 1 − β.
    effect_scale : float, default 1.0
        s: δ = p01 − p10 is scaled to s·δ, ψ = p10 + p01 kept.

    Returns
    -------
    float
        The number of pairs (a whole number); NaN when the scaled δ is 0 or an input is NaN.

    Notes
    -----
        n = [z_{1−α/2} sqrt(ψ) + z_{1−β} sqrt(ψ − δ²)]² / δ²,  ψ = p10 + p01,  δ = s (p01 − p10).

    References
    ----------
    .. [1] Connor, R. J. (1987). Sample size for testing differences in proportions for the
       paired-sample design. Biometrics, 43(1), 207-211. doi:10.2307/2531961

    Examples
    --------
    p10 = 0.1, p01 = 0.3: ψ = 0.4, δ = 0.2, n = (1.96·0.6325 + 0.8416·0.6)² / 0.04 = 76.09:

    >>> from alliance_pipeline.change.power import connor_sample_size
    >>> connor_sample_size(0.1, 0.3)
    77.0
    >>> connor_sample_size(0.2, 0.2)
    nan
    """
    from scipy import stats

    psi = p10 + p01
    delta = effect_scale * (p01 - p10)
    if not (np.isfinite(psi) and np.isfinite(delta)) or delta == 0:
        return NAN
    z_alpha = stats.norm.ppf(1 - alpha / 2)
    z_beta = stats.norm.ppf(power)
    n = (z_alpha * math.sqrt(psi) + z_beta * math.sqrt(max(0.0, psi - delta ** 2))) ** 2 / delta ** 2
    # guard against 58.0000000001-style float noise before rounding up
    return float(math.ceil(round(n, 9)))


def difference_sample_size(mean: float, sd: float, *, alpha: float = 0.05, power: float = 0.8,
                           effect_scale: float = 1.0) -> float:
    """Participants for a two-sided one-sample t test of mean d = 0, rounded up.

    Parameters
    ----------
    mean, sd : float
        Observed mean and standard deviation (n − 1) of the differences d.
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
        Target power.
    effect_scale : float, default 1.0
        s: the effect size is s·|mean| / sd.

    Returns
    -------
    float
        Participants needed (at least 2); NaN when the effect is 0 or undefined.

    Notes
    -----
    Solves power = P(|T| > t_{1−α/2, n−1}) for n with T noncentral t with n − 1 df and
    noncentrality s·mean/sd·sqrt(n) (statsmodels ``TTestPower.solve_power``).

    References
    ----------
    .. [1] Cohen, J. (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.,
       ch. 2. Lawrence Erlbaum.

    Examples
    --------
    Effect size 0.5 at α = 0.05 and power 0.8 needs 33.4, i.e. 34 participants (Cohen's
    tables and G*Power give 34 too):

    >>> from alliance_pipeline.change.power import difference_sample_size
    >>> difference_sample_size(0.5, 1.0)
    34.0
    >>> difference_sample_size(0.0, 1.0)
    nan
    """
    from statsmodels.stats.power import TTestPower

    if not (np.isfinite(mean) and np.isfinite(sd)) or sd <= 0 or mean == 0 or effect_scale == 0:
        return NAN
    n = TTestPower().solve_power(effect_size=abs(effect_scale * mean) / sd, alpha=alpha,
                                 power=power, alternative="two-sided")
    n = float(np.asarray(n).item())
    return float(math.ceil(round(max(n, 2.0), 9)))


def _difference_rows(pc: pd.DataFrame, *, cohort: str, questions: Mapping[str, Mapping],
                     timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                     compare: Sequence[Sequence[str]], alpha: float, targets: Sequence[float],
                     effect_scales: Sequence[float]) -> list[tuple]:
    rows = []
    for plan in question_plans(questions, timepoints):
        pairs = [pair for pair in compare
                 if all(contrast_applies(contrasts[name], plan) for name in pair)]
        if not pairs:
            continue
        arrays = response_arrays(pc, plan)
        for j, code in enumerate(plan.codes):
            for pair in pairs:
                d = complete_differences(arrays.responded, arrays.present[:, :, j],
                                         plan.timepoints, difference_weights(pair, contrasts))
                n = len(d)
                mean = float(d.mean()) if n else NAN
                sd = float(d.std(ddof=1)) if n >= 2 else NAN
                for scale in effect_scales:
                    if n < 2:
                        note = f"too few complete cases ({n}): sample size not estimable"
                    elif mean == 0:
                        note = "no difference of changes observed (mean d = 0): sample size undefined"
                    elif sd == 0:
                        note = "d does not vary: sample size undefined"
                    else:
                        note = ""
                    for target in targets:
                        n_required = (NAN if note else
                                      difference_sample_size(mean, sd, alpha=alpha, power=float(target),
                                                             effect_scale=float(scale)))
                        rows.append((cohort, plan.question, code, pair_term(pair), NAN, NAN,
                                     float(alpha), float(target), float(scale), n_required,
                                     "one_sample_t_d", n, NAN, float(scale) * mean, note, sd))
    return rows


def power_table(final_codes: pd.DataFrame, *, cohort: str, questions: Mapping[str, Mapping],
                timepoints: Sequence[str], contrasts: Mapping[str, Sequence[str]],
                alpha: float = 0.05, targets: Sequence[float] = (0.8, 0.9),
                effect_scales: Sequence[float] = (1.0, 0.5), aggregate: str = "any",
                compare: Sequence[Sequence[str]] = (),
                participant_level: pd.DataFrame | None = None) -> pd.DataFrame:
    """The contract's ``power.csv`` for one cohort (see the module docstring).

    Parameters
    ----------
    final_codes : pandas.DataFrame
        The consensus codes (``participant_id, timepoint, question, code, present`` are used).
    cohort : str
        The cohort's name, written in every row.
    questions : mapping
        Question id -> ``{"codes": [...], "timepoints": [...]}`` in codebook order.
    timepoints : sequence of str
        The study's time points in order.
    contrasts : mapping of str to [first, second]
        The configured contrasts.
    alpha : float, default 0.05
        Two-sided significance level.
    targets : sequence of float, default (0.8, 0.9)
        Target powers.
    effect_scales : sequence of float, default (1.0, 0.5)
        Scale factors s of the observed change.
    aggregate : {"any", "all", "majority"}, default "any"
        How a participant's item responses are combined.
    compare : sequence of [A, B], default ()
        Pairs of contrasts whose difference of changes gets a row.
    participant_level : pandas.DataFrame, optional
        ``participant_codes(final_codes, aggregate)`` when the caller has it.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`POWER_COLUMNS`; per question, code and contrast (then compare pair),
        one row per effect scale and target.

    Notes
    -----
    McNemar rows: :func:`connor_sample_size` of the observed p10 = b/n, p01 = c/n; compare
    rows: :func:`difference_sample_size` of the complete cases' d.

    References
    ----------
    .. [1] Connor, R. J. (1987). Biometrics, 43(1), 207-211. doi:10.2307/2531961

    Examples
    --------
    Four participants, code x at pre and post: b = 0, c = 2 of n = 4, so p01 = 0.5, ψ = δ = 0.5
    and n = (1.96·0.7071 + 0.8416·0.5)² / 0.25 = 13.06; halved, δ = 0.25 gives 60.38:

    >>> import pandas as pd
    >>> from alliance_pipeline.change.power import power_table
    >>> rows = [("p1", "pre", 0), ("p1", "post", 1), ("p2", "pre", 0), ("p2", "post", 1),
    ...         ("p3", "pre", 1), ("p3", "post", 1), ("p4", "pre", 0), ("p4", "post", 0)]
    >>> codes = pd.DataFrame([(p, t, "q1", "x", y) for p, t, y in rows],
    ...                      columns=["participant_id", "timepoint", "question", "code", "present"])
    >>> table = power_table(codes, cohort="demo", questions={"q1": {"codes": ["x"]}},
    ...                     timepoints=["pre", "post"], contrasts={"change": ["pre", "post"]},
    ...                     targets=(0.8,))
    >>> print(table[["contrast", "p10", "p01", "effect_scale", "n_required"]].to_string())
      contrast  p10  p01  effect_scale  n_required
    0   change  0.0  0.5           1.0          14
    1   change  0.0  0.5           0.5          61
    """
    pc = (participant_level if participant_level is not None
          else participant_codes(final_codes, aggregate=aggregate))
    counts = paired_counts(final_codes, questions=questions, timepoints=timepoints,
                           contrasts=contrasts, aggregate=aggregate, participant_level=pc)
    rows = []
    for rec in counts.to_dict("records"):
        n, b, c = int(rec["n"]), int(rec["b"]), int(rec["c"])
        p10 = b / n if n else NAN
        p01 = c / n if n else NAN
        for scale in effect_scales:
            psi = p10 + p01
            delta = float(scale) * (p01 - p10)
            if n == 0:
                note = "no pairs: sample size not estimable"
            elif delta == 0:
                note = "no change observed (p01 = p10): sample size undefined"
            else:
                note = ""
            for target in targets:
                n_required = (NAN if note else
                              connor_sample_size(p10, p01, alpha=alpha, power=float(target),
                                                 effect_scale=float(scale)))
                rows.append((cohort, rec["question"], rec["code"], rec["contrast"], p10, p01, float(alpha),
                             float(target), float(scale), n_required, "connor1987", n, psi,
                             delta, note, NAN))
    rows += _difference_rows(pc, cohort=cohort, questions=questions, timepoints=timepoints,
                             contrasts=contrasts, compare=compare, alpha=alpha, targets=targets,
                             effect_scales=effect_scales)
    frame = pd.DataFrame(rows, columns=POWER_COLUMNS)
    keys = [(plan.question, code) for plan in question_plans(questions, timepoints) for code in plan.codes]
    rank = {key: i for i, key in enumerate(keys)}
    position = [rank.get(key, len(rank)) for key in zip(frame["question"], frame["code"], strict=True)]
    frame = frame.iloc[np.argsort(position, kind="stable")].reset_index(drop=True)
    frame["n_required"] = pd.array(frame["n_required"].round().tolist(), dtype="Int64") if len(frame) else pd.array([], dtype="Int64")
    frame["n_pairs"] = frame["n_pairs"].astype("int64")
    return frame
