"""Inter-coder agreement on the independent codings (before consensus): ``agreement.csv``.

Units and values
    The unit is a response. For a code row the value a coder gives a response is presence (1)
    or absence (0) of that code; for the ``*`` row of a question it is the whole code set
    (single-label questions: the one code, or ``''`` = none, compared nominally; multi-label
    questions: the set, compared with the MASI distance). A response a coder did not code is
    a missing value, never an absence.

    ``n_units`` = responses of the question coded by at least two coders (the pairable units;
    every coefficient except Fleiss' kappa and the chance term of Gwet's AC1 is computed on
    exactly these). ``n_coders`` = distinct coders who coded at least one response of the
    question.

Coefficients and who computes them (definitions, formulas and references where computed)
    percent_agreement  :mod:`alliance_pipeline.coding.coefficients`.
    cohen_kappa        :mod:`alliance_pipeline.coding.coefficients`. Exactly two coders, else
                       empty.
    fleiss_kappa       :mod:`alliance_pipeline.coding.coefficients`, on the units coded by all
                       coders (the note says when that is fewer than n_units). Three or more
                       coders, else empty.
    krippendorff_alpha :mod:`alliance_pipeline.coding.krippendorff_alpha`, nominal. Code rows:
                       the krippendorff package; ``*`` rows: own implementation with a
                       distance matrix (nominal, or MASI for code sets).
    alpha_ci_low/high  here: unit bootstrap: the n_units responses are resampled with
                       replacement, ``bootstrap`` resamples, ``numpy.random.Generator`` seeded
                       from ``seed`` and the question and code (:func:`seeds.row_rng`, so a
                       row's interval does not depend on which other rows exist), percentile
                       interval at ``confidence`` (numpy.quantile, linear interpolation).
                       Resamples in which alpha is undefined (no variation) are left out and
                       counted in the note. Fast: alpha is a ratio of sums of per-unit
                       contributions, and units with the same multiset of values contribute
                       identically, so a resample is just a vector of counts per distinct
                       unit pattern — drawn from the multinomial distribution when patterns
                       are few, by drawing unit indices otherwise (both are exactly "units
                       with replacement").
    gwet_ac1           :mod:`alliance_pipeline.coding.coefficients`, q = 2 for a code row.
                       Not computed for code sets.
    verdict            by alpha: good if >= ``good``, tentative if >= ``acceptable``, else
                       insufficient (Krippendorff 2004, 0.800 / 0.667); empty when alpha is
                       undefined.

Undefined values are NaN (an empty cell) with a ``note``: fewer than two coders, no response
coded by two coders, no variation (alpha and the kappas are 0/0 when every value is the
same). No file I/O; ``scripts/`` write the table.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from alliance_pipeline.coding.coefficients import (
    coder_kappas,
    gwet_ac1_from_counts,
    percent_agreement_encoded,
)
from alliance_pipeline.coding.krippendorff_alpha import (
    AlphaParts,
    alpha_from_weights,
    alpha_of_parts,
    alpha_parts,
    masi_distance_matrix,
    nominal_distance,
)
from alliance_pipeline.coding.reliability_data import NAN, codings_matrix, index_data, value_counts
from alliance_pipeline.common.seeds import row_rng

COLUMNS = ["cohort", "question", "code", "n_units", "n_coders", "percent_agreement",
           "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "alpha_ci_low",
           "alpha_ci_high", "gwet_ac1", "verdict", "note"]
EXTRA_COLUMNS = ["alpha_ci_method"]
ALL_CODES = "*"
_CHUNK_ELEMENTS = 4_000_000  # bootstrap work arrays stay near 32 MB each


# ----------------------------------------------------------------------------- bootstrap

@dataclass(frozen=True)
class BootstrapCI:
    low: float
    high: float
    n_defined: int      # resamples in which alpha was defined
    resamples: int


def _resample_weights(parts: AlphaParts, resamples: int, rng: np.random.Generator):
    """Yield chunks of resamples x patterns count matrices, each row one resample of the
    pairable units drawn with replacement."""
    n_units = parts.n_units
    n_patterns = parts.multiplicity.size
    if n_patterns * 8 <= n_units:
        # Few patterns: the pattern counts of a unit resample are multinomial(n, share).
        share = parts.multiplicity / n_units
        chunk = max(1, min(resamples, _CHUNK_ELEMENTS // max(n_patterns, 1)))
        done = 0
        while done < resamples:
            size = min(chunk, resamples - done)
            yield rng.multinomial(n_units, share, size=size)
            done += size
    else:
        chunk = max(1, min(resamples, _CHUNK_ELEMENTS // max(n_units, n_patterns)))
        done = 0
        while done < resamples:
            size = min(chunk, resamples - done)
            drawn = parts.unit_pattern[rng.integers(0, n_units, size=(size, n_units))]
            drawn += (np.arange(size, dtype=np.int64) * n_patterns)[:, None]
            yield np.bincount(drawn.ravel(), minlength=size * n_patterns).reshape(size,
                                                                                  n_patterns)
            done += size


def _bootstrap(parts: AlphaParts, resamples: int, rng: np.random.Generator,
               confidence: float) -> BootstrapCI:
    if resamples <= 0 or parts.n_units == 0:
        return BootstrapCI(NAN, NAN, 0, max(resamples, 0))
    alphas = np.concatenate([alpha_from_weights(parts, w)
                             for w in _resample_weights(parts, resamples, rng)])
    defined = alphas[~np.isnan(alphas)]
    if defined.size < 2:
        return BootstrapCI(NAN, NAN, int(defined.size), resamples)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(defined, [tail, 1.0 - tail])
    return BootstrapCI(float(low), float(high), int(defined.size), resamples)


def alpha_bootstrap(reliability_data, distance, *, resamples: int = 2000, seed: int = 0,
                    confidence: float = 0.95) -> BootstrapCI:
    """Percentile unit-bootstrap interval of Krippendorff's alpha with any distance.

    Parameters
    ----------
    reliability_data, distance : array_like
        Coders x units category indices (NaN missing) into the V x V ``distance`` matrix.
    resamples : int, default 2000
        Bootstrap resamples B (0: no interval).
    seed : int, default 0
        Seed of ``numpy.random.default_rng``.
    confidence : float, default 0.95
        Confidence level c.

    Returns
    -------
    BootstrapCI
        ``low``, ``high``, ``n_defined`` (resamples with a defined alpha) and ``resamples``;
        NaN bounds when fewer than two resamples have a defined alpha.

    Notes
    -----
    Pairable units drawn with replacement; bounds: the (1 − c)/2 and (1 + c)/2 quantiles of the
    defined alphas (``numpy.quantile``, linear interpolation).

    References
    ----------
    .. [1] Efron, B. & Tibshirani, R. J. (1993). An Introduction to the Bootstrap, ch. 13.
       Chapman & Hall.

    Examples
    --------
    >>> from alliance_pipeline.coding.agreement import alpha_bootstrap
    >>> from alliance_pipeline.coding.krippendorff_alpha import nominal_distance
    >>> alpha_bootstrap([[0, 0, 0], [0, 0, 0]], nominal_distance(2), resamples=100)  # no variation
    BootstrapCI(low=nan, high=nan, n_defined=0, resamples=100)
    >>> data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]   # alpha 0.0952
    >>> ci = alpha_bootstrap(data, nominal_distance(2), resamples=1000, seed=1)
    >>> ci.resamples, ci.low < 0.0952 < ci.high <= 1
    (1000, True)
    """
    return _bootstrap(alpha_parts(index_data(reliability_data), distance), resamples,
                      np.random.default_rng(seed), confidence)


# ------------------------------------------------------------------------- the table

def _verdict(alpha: float, acceptable: float, good: float) -> str:
    if np.isnan(alpha):
        return ""
    if alpha >= good:
        return "good"
    if alpha >= acceptable:
        return "tentative"
    return "insufficient"


def _statistics(values: np.ndarray, distance: np.ndarray, *, q: int | None, kappas: bool,
                library_alpha: bool, no_variation: str, resamples: int,
                rng: np.random.Generator, confidence: float) -> dict:
    """All coefficients of one row from coders x units integer data (-1 missing)."""
    n_coders = values.shape[0]
    pairable = (values >= 0).sum(axis=0) >= 2
    n_units = int(pairable.sum())
    row = {"n_units": n_units, "percent_agreement": NAN, "cohen_kappa": NAN,
           "fleiss_kappa": NAN, "krippendorff_alpha": NAN, "alpha_ci_low": NAN,
           "alpha_ci_high": NAN, "gwet_ac1": NAN}
    notes: list[str] = []
    if n_coders < 2:
        notes.append("fewer than 2 coders: agreement undefined")
        return row | {"note": notes}
    if n_units == 0:
        notes.append("no response coded by 2 or more coders: agreement undefined")
        return row | {"note": notes}

    row["percent_agreement"] = percent_agreement_encoded(values)
    n_values = distance.shape[0]
    if q is not None:
        row["gwet_ac1"] = gwet_ac1_from_counts(value_counts(values, n_values), q)
    used = np.unique(values[:, pairable][values[:, pairable] >= 0])
    if used.size < 2:
        notes.append(no_variation + ": alpha and kappa undefined")
        return row | {"note": notes}

    if kappas:
        row["cohen_kappa"], row["fleiss_kappa"], kappa_note = coder_kappas(values, n_values)
        if kappa_note:
            notes.append(kappa_note)
    _alpha_statistics(row, notes, values, distance, library_alpha=library_alpha,
                      resamples=resamples, rng=rng, confidence=confidence)
    return row | {"note": notes}


def _alpha_statistics(row: dict, notes: list[str], values: np.ndarray, distance: np.ndarray, *,
                      library_alpha: bool, resamples: int, rng: np.random.Generator,
                      confidence: float) -> None:
    """Krippendorff's alpha and its bootstrap interval into ``row``, notes into ``notes``."""
    parts = alpha_parts(values, distance)
    if library_alpha:
        import krippendorff

        data = np.where(values >= 0, values, np.nan).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            row["krippendorff_alpha"] = float(krippendorff.alpha(
                reliability_data=data, value_domain=np.arange(distance.shape[0]),
                level_of_measurement="nominal"))
    else:
        row["krippendorff_alpha"] = alpha_of_parts(parts)
    ci = _bootstrap(parts, resamples, rng, confidence)
    row["alpha_ci_low"], row["alpha_ci_high"] = ci.low, ci.high
    if resamples <= 0:
        notes.append("no alpha CI: analysis.agreement.bootstrap is 0")
    elif ci.n_defined < ci.resamples:
        if ci.n_defined < 2:
            notes.append(f"alpha CI undefined: alpha defined in only {ci.n_defined} of "
                         f"{ci.resamples} resamples (no variation)")
        else:
            notes.append(f"alpha CI from the {ci.n_defined} of {ci.resamples} resamples "
                         "with variation")


def agreement_table(codings: pd.DataFrame, questions: Mapping[str, Mapping], *, cohort: str,
                    bootstrap: int = 2000, seed: int = 20250601, confidence: float = 0.95,
                    acceptable: float = 0.667, good: float = 0.800) -> pd.DataFrame:
    """Inter-coder agreement per question and code, plus a ``*`` row per question.

    Parameters
    ----------
    codings : pandas.DataFrame
        ``response_id, question, coder, codes``: one row per coder and response coded.
    questions : mapping
        The codebook, question id -> ``{"multi_label", "codes", ...}``; rows follow its order.
    cohort : str
        The cohort's name, written in every row.
    bootstrap : int, default 2000
        Resamples of the alpha interval (0: none).
    seed : int, default 20250601
        Seed, combined with question and code (:func:`alliance_pipeline.common.seeds.row_rng`).
    confidence : float, default 0.95
        Confidence level of the alpha interval.
    acceptable, good : float, default 0.667, 0.800
        Alpha thresholds of the verdicts ``tentative`` and ``good`` (Krippendorff 2004).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` then ``alpha_ci_method``; per question its codes (codebook
        order, presence / absence), then ``*`` (the code set). Deterministic for a ``seed``;
        ``ValueError`` for an unknown question or code, or a response coded twice by a coder.

    Notes
    -----
    Formulas: the module docstring, :mod:`.coefficients`, :mod:`.krippendorff_alpha`.

    References
    ----------
    .. [1] Krippendorff, K. (2004). Content Analysis, 2nd ed. Sage.

    Examples
    --------
    Two coders differ on r2 only. Code a: values (1, 1, 0, 0) and (1, 0, 0, 0); agreement
    3/4, kappa (0.75 − 0.5)/0.5, alpha 1 − 7·1/(3·5), AC1 (0.75 − 0.46875)/0.53125:

    >>> import pandas as pd
    >>> from alliance_pipeline.coding.agreement import agreement_table
    >>> codings = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r4"] * 2, "question": "q1",
    ...                         "coder": ["c1"] * 4 + ["c2"] * 4,
    ...                         "codes": ["a", "a", "b", "b", "a", "b", "b", "b"]})
    >>> table = agreement_table(codings, {"q1": {"multi_label": False, "codes": ["a", "b"]}},
    ...                         cohort="demo", bootstrap=0)
    >>> print(table[["code", "percent_agreement", "cohen_kappa", "krippendorff_alpha", "gwet_ac1",
    ...              "verdict"]].round(4).to_string())
      code  percent_agreement  cohen_kappa  krippendorff_alpha  gwet_ac1       verdict
    0    a               0.75          0.5              0.5333    0.5294  insufficient
    1    b               0.75          0.5              0.5333    0.5294  insufficient
    2    *               0.75          0.5              0.5333    0.5294  insufficient
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    codings = codings.astype({"response_id": str, "question": str, "coder": str})
    unknown = sorted(set(codings["question"]) - set(questions))
    if unknown:
        raise ValueError("codings of question(s) not in the codebook: " + ", ".join(unknown))
    method = (f"unit bootstrap, percentile, {bootstrap} resamples" if bootstrap > 0
              else "none")
    rows = []
    for question, spec in questions.items():
        question = str(question)
        cq = codings[codings["question"] == question]
        rows += _question_rows(cq, spec, cohort=cohort, question=question, bootstrap=bootstrap,
                               seed=seed, confidence=confidence)
    return _agreement_frame(rows, method=method, acceptable=acceptable, good=good)


def _question_rows(cq: pd.DataFrame, spec: Mapping, *, cohort: str, question: str,
                   bootstrap: int, seed: int, confidence: float) -> list[dict]:
    """One question's rows: one per code (codebook order), then the ``*`` row."""
    codes = [str(c) for c in spec["codes"]]
    multi = bool(spec.get("multi_label", True))
    matrix, membership, labels = codings_matrix(cq, codes, question)
    n_coders = matrix.shape[0]
    base = {"cohort": cohort, "question": question, "n_coders": n_coders}
    rows = []
    for k, code in enumerate(codes):
        values = np.where(matrix >= 0, membership[np.maximum(matrix, 0), k], -1)
        stats = _statistics(values, nominal_distance(2), q=2, kappas=True,
                            library_alpha=True, resamples=bootstrap,
                            rng=row_rng(seed, question, code), confidence=confidence,
                            no_variation=_no_variation_code(values))
        rows.append(base | {"code": code} | stats)

    if multi:
        distance = masi_distance_matrix(membership)
        q, kappas = None, False
        kind_note = ("alpha over code sets with the MASI distance; kappa and AC1 not "
                     "computed for code sets")
    else:
        distance = nominal_distance(len(labels))
        q = len(codes) + sum(1 for label in labels if label not in codes)
        kappas = True
        kind_note = ""
    stats = _statistics(matrix, distance, q=q, kappas=kappas, library_alpha=False,
                        resamples=bootstrap, rng=row_rng(seed, question, ALL_CODES),
                        confidence=confidence,
                        no_variation="no variation: every coding has the same code set")
    if kind_note and stats["n_units"] > 0 and n_coders >= 2:
        stats["note"] = [kind_note] + stats["note"]
    rows.append(base | {"code": ALL_CODES} | stats)
    return rows


def _agreement_frame(rows: list[dict], *, method: str, acceptable: float,
                     good: float) -> pd.DataFrame:
    """The rows with verdict, joined notes and CI method, as the typed ``agreement.csv`` frame."""
    for row in rows:
        row["verdict"] = _verdict(row["krippendorff_alpha"], acceptable, good)
        row["note"] = "; ".join(row["note"])
        row["alpha_ci_method"] = method if not np.isnan(row["alpha_ci_low"]) else ""
    table = pd.DataFrame(rows, columns=COLUMNS + EXTRA_COLUMNS)
    for column in ("n_units", "n_coders"):
        table[column] = table[column].astype(np.int64)
    for column in ("percent_agreement", "cohen_kappa", "fleiss_kappa", "krippendorff_alpha",
                   "alpha_ci_low", "alpha_ci_high", "gwet_ac1"):
        table[column] = table[column].astype(float)
    for column in ("cohort", "question", "code", "verdict", "note", "alpha_ci_method"):
        table[column] = table[column].astype(str)
    return table


def _no_variation_code(values: np.ndarray) -> str:
    pairable = (values >= 0).sum(axis=0) >= 2
    seen = values[:, pairable][values[:, pairable] >= 0]
    if seen.size and seen.max() == 1:
        return "no variation: code assigned to every response"
    return "no variation: code never assigned"
