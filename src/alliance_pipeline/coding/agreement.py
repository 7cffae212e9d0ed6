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

Coefficients and who computes them
    percent_agreement  own code: share of the n_units responses on which *all* coders who
                       coded the response gave the same value (not mean pairwise agreement).
    cohen_kappa        statsmodels.stats.inter_rater.cohens_kappa, unweighted, on the
                       confusion table of the units both coders coded. Exactly two coders,
                       else empty.
    fleiss_kappa       statsmodels.stats.inter_rater.fleiss_kappa(method="fleiss") on the
                       units coded by all coders (the note says when that is fewer than
                       n_units). Three or more coders, else empty.
    krippendorff_alpha nominal. Code rows: ``krippendorff.alpha(level_of_measurement=
                       "nominal")`` (the krippendorff package). ``*`` rows: own
                       implementation of the general alpha, 1 - D_o / D_e from the coincidence
                       matrix and a distance matrix (nominal, or MASI for code sets), because
                       the package materialises a units x values x values array. Tests check
                       both paths against the package and Krippendorff's published examples.
    alpha_ci_low/high  unit bootstrap: the n_units responses are resampled with replacement,
                       ``bootstrap`` resamples, ``numpy.random.Generator`` seeded from
                       ``seed`` and the question and code (so a row's interval does not depend
                       on which other rows exist), percentile interval at ``confidence``
                       (numpy.quantile, linear interpolation). Resamples in which alpha is
                       undefined (no variation) are left out and counted in the note. Fast:
                       alpha is a ratio of sums of per-unit contributions, and units with the
                       same multiset of values contribute identically, so a resample is just
                       a vector of counts per distinct unit pattern — drawn from the
                       multinomial distribution when patterns are few, by drawing unit
                       indices otherwise (both are exactly "units with replacement").
    gwet_ac1           own code, Gwet (2014, Handbook of Inter-Rater Reliability, 4th ed.,
                       ch. 4) for any number of raters with missing ratings: p_a over units
                       rated by >= 2 raters, pi_k over all units rated by >= 1 rater,
                       p_e = sum_k pi_k (1 - pi_k) / (q - 1), q = number of categories (2 for
                       a code row). Defined (1.0) when every coder always gave the same value.
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # scipy, statsmodels and krippendorff are imported where used (start-up)
    import scipy.sparse

from alliance_pipeline.coding.consensus import parse_codes
from alliance_pipeline.seeds import row_rng

COLUMNS = ["cohort", "question", "code", "n_units", "n_coders", "percent_agreement",
           "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "alpha_ci_low",
           "alpha_ci_high", "gwet_ac1", "verdict", "note"]
EXTRA_COLUMNS = ["alpha_ci_method"]
ALL_CODES = "*"
_CHUNK_ELEMENTS = 4_000_000  # bootstrap work arrays stay near 32 MB each

NAN = float("nan")


# --------------------------------------------------------------------------- encoding

def _encode(reliability_data, categories: Sequence | None = None) -> tuple[np.ndarray, list]:
    """coders x units data (NaN/None missing) -> (int matrix, -1 missing; category list)."""
    arr = np.asarray(reliability_data)
    if arr.ndim != 2:
        raise ValueError("reliability data must be a coders x units (2-D) array")
    if arr.dtype.kind in "iub":
        arr = arr.astype(float)
    missing = np.asarray(pd.isna(arr), dtype=bool)
    present = arr[~missing]
    values = np.full(arr.shape, -1, dtype=np.int64)
    if categories is None and arr.dtype.kind == "f":
        cats = np.unique(present)
        values[~missing] = np.searchsorted(cats, present)
        return values, cats.tolist()
    cats = sorted(set(present.tolist())) if categories is None else list(categories)
    lookup = {c: i for i, c in enumerate(cats)}
    try:
        values[~missing] = [lookup[v] for v in present.tolist()]
    except KeyError as error:
        raise ValueError(f"reliability data hold a value outside the categories: {error}")
    return values, cats


def _value_counts(values: np.ndarray, n_categories: int) -> np.ndarray:
    """units x categories: how many coders gave each value to each unit."""
    counts = np.zeros((values.shape[1], n_categories), dtype=np.int64)
    for row in values:
        ok = row >= 0
        np.add.at(counts, (np.nonzero(ok)[0], row[ok]), 1)
    return counts


def nominal_distance(n_categories: int) -> np.ndarray:
    """Nominal distance matrix: 0 on the diagonal, 1 elsewhere."""
    return 1.0 - np.eye(n_categories)


# ------------------------------------------------------------------ simple coefficients

def _percent_agreement(values: np.ndarray) -> float:
    coded = values >= 0
    pairable = coded.sum(axis=0) >= 2
    if not pairable.any():
        return NAN
    v = values[:, pairable]
    high = v.max(axis=0)
    low = np.where(v >= 0, v, np.iinfo(np.int64).max).min(axis=0)
    return float(np.mean(high == low))


def percent_agreement(reliability_data) -> float:
    """Share of units (coded by >= 2 coders) on which all coders who coded it agree.

    ``reliability_data``: coders x units, NaN (or None) for a missing coding. NaN when no
    unit has two codings.
    """
    values, _ = _encode(reliability_data)
    return _percent_agreement(values)


def _cohen_from_table(table: np.ndarray) -> float:
    total = table.sum()
    if total == 0:
        return NAN
    p_e = float((table.sum(axis=1) / total) @ (table.sum(axis=0) / total))
    if p_e >= 1.0 - 1e-15:  # both coders used one and the same category: 0/0
        return NAN
    from statsmodels.stats import inter_rater  # imported where used: a slow import

    return float(inter_rater.cohens_kappa(table, return_results=False))


def cohen_kappa(a, b) -> float:
    """Cohen's (1960) unweighted kappa of two coders' ratings ``a`` and ``b`` (1-D, same
    units; NaN/None = missing, such units are dropped). statsmodels ``cohens_kappa`` on the
    confusion table. NaN when undefined (no unit rated by both, or chance agreement 1)."""
    values, cats = _encode(np.vstack([np.asarray(a, dtype=object), np.asarray(b, dtype=object)]))
    return _cohen(values, len(cats))


def _cohen(values: np.ndarray, n_categories: int) -> float:
    both = (values[0] >= 0) & (values[1] >= 0)
    if not both.any() or n_categories < 1:
        return NAN
    table = np.bincount(values[0, both] * n_categories + values[1, both],
                        minlength=n_categories * n_categories).reshape(n_categories,
                                                                       n_categories)
    return _cohen_from_table(table.astype(float))


def fleiss_kappa(counts) -> float:
    """Fleiss' (1971) kappa from a units x categories table of rater counts (every unit rated
    by the same number of raters). statsmodels ``fleiss_kappa(method="fleiss")``. NaN when
    undefined (no units, fewer than 2 raters, or all ratings in one category)."""
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2 or table.shape[0] == 0:
        return NAN
    raters = table.sum(axis=1)
    if raters.max() < 2:
        return NAN
    if not np.all(raters == raters[0]):
        raise ValueError("fleiss_kappa needs the same number of raters for every unit")
    p_cat = table.sum(axis=0) / table.sum()
    if float(p_cat @ p_cat) >= 1.0 - 1e-15:
        return NAN
    from statsmodels.stats import inter_rater

    return float(inter_rater.fleiss_kappa(table, method="fleiss"))


def _gwet_from_counts(counts: np.ndarray, q: int) -> float:
    r = counts.sum(axis=1)
    rated = r >= 1
    pair = r >= 2
    if q < 2 or not pair.any():
        return NAN
    rp = r[pair].astype(float)
    cp = counts[pair].astype(float)
    p_a = float(np.mean((cp * (cp - 1)).sum(axis=1) / (rp * (rp - 1))))
    pi = (counts[rated] / r[rated, None]).mean(axis=0)
    p_e = float((pi * (1 - pi)).sum() / (q - 1))
    return (p_a - p_e) / (1 - p_e)


def gwet_ac1(reliability_data, categories: Sequence | None = None) -> float:
    """Gwet's AC1 for any number of raters with missing ratings (Gwet 2008; 2014, ch. 4).

    ``reliability_data``: coders x units, NaN/None missing. ``categories``: the rating
    categories (q = their number); default: the values observed (give them when some category
    could have been used but was not, e.g. ``[0, 1]`` for presence/absence).

    p_a = mean over units rated by >= 2 raters of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1));
    pi_k = mean over units rated by >= 1 rater of r_ik / r_i;
    p_e = sum_k pi_k (1 - pi_k) / (q - 1); AC1 = (p_a - p_e) / (1 - p_e).
    NaN when fewer than 2 categories or no unit rated twice.
    """
    values, cats = _encode(reliability_data, categories)
    return _gwet_from_counts(_value_counts(values, len(cats)), len(cats))


# ----------------------------------------------------------------------------- MASI

def masi_distance(set_a, set_b) -> float:
    """MASI distance (Passonneau 2006): 1 - J * M, J = Jaccard |A & B| / |A | B|,
    M = 1 identical, 2/3 one a subset of the other, 1/3 overlapping, 0 disjoint.
    Two empty sets are identical (distance 0)."""
    a, b = frozenset(set_a), frozenset(set_b)
    if a == b:
        return 0.0
    inter = len(a & b)
    jaccard = inter / len(a | b)
    if a <= b or b <= a:
        monotonicity = 2 / 3
    elif inter:
        monotonicity = 1 / 3
    else:
        monotonicity = 0.0
    return 1.0 - jaccard * monotonicity


def masi_distance_matrix(membership: np.ndarray) -> np.ndarray:
    """MASI distances between code sets given as a sets x codes 0/1 membership matrix
    (vectorised :func:`masi_distance`)."""
    m = np.asarray(membership, dtype=np.int64)
    size = m.sum(axis=1)
    inter = m @ m.T
    union = size[:, None] + size[None, :] - inter
    smaller = np.minimum(size[:, None], size[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        jaccard = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    identical = (inter == size[:, None]) & (inter == size[None, :])
    monotonicity = np.select([identical, inter == smaller, inter > 0], [1.0, 2 / 3, 1 / 3], 0.0)
    distance = 1.0 - jaccard * monotonicity
    distance[identical] = 0.0
    return distance


# --------------------------------------------------- Krippendorff's alpha as sums of parts

@dataclass(frozen=True)
class AlphaParts:
    """Krippendorff's alpha decomposed over units.

    alpha = 1 - (n - 1) * sum_u do_u / (N' delta N), where for a pairable unit u with m_u
    values, do_u = sum over ordered pairs of its values of delta / (m_u - 1), N is the vector
    of value totals over pairable units and n its sum (Krippendorff 2011, eqs. for o_ck,
    n_c, D_o, D_e). Units with the same multiset of values ("pattern") contribute the same,
    so the data are stored per pattern.
    """

    distance: np.ndarray            # (V, V)
    pattern_do: np.ndarray          # (K,)
    pattern_counts: scipy.sparse.csr_matrix  # (K, V) values of one unit of each pattern
    multiplicity: np.ndarray        # (K,) units per pattern
    unit_pattern: np.ndarray        # (U,) pattern of each pairable unit, in input order

    @property
    def n_units(self) -> int:
        return int(self.unit_pattern.size)


def alpha_parts(values: np.ndarray, distance: np.ndarray) -> AlphaParts:
    """Per-pattern contributions of coders x units integer data (-1 missing; values index
    ``distance``)."""
    from scipy import sparse

    values = np.asarray(values, dtype=np.int64)
    distance = np.asarray(distance, dtype=float)
    n_values = distance.shape[0]
    pairable = (values >= 0).sum(axis=0) >= 2
    v = np.sort(values[:, pairable], axis=0)
    if v.shape[1] == 0:
        empty = np.zeros(0)
        return AlphaParts(distance, empty, sparse.csr_matrix((0, n_values)),
                          np.zeros(0, np.int64), np.zeros(0, np.int64))
    patterns, inverse, multiplicity = np.unique(v.T, axis=0, return_inverse=True,
                                                return_counts=True)
    inverse = inverse.reshape(-1)
    n_coders = patterns.shape[1]
    coded = patterns >= 0
    m = coded.sum(axis=1)
    do = np.zeros(patterns.shape[0])
    for i in range(n_coders):
        for j in range(n_coders):
            if i != j:
                both = coded[:, i] & coded[:, j]
                do[both] += distance[patterns[both, i], patterns[both, j]]
    do /= m - 1
    rows, cols = np.nonzero(coded)
    counts = sparse.csr_matrix((np.ones(rows.size), (rows, patterns[rows, cols])),
                               shape=(patterns.shape[0], n_values))
    counts.sum_duplicates()
    return AlphaParts(distance, do, counts, multiplicity.astype(np.int64), inverse)


def alpha_from_weights(parts: AlphaParts, weights) -> np.ndarray:
    """Alpha for each row of ``weights`` (resamples x patterns: how many copies of a unit of
    each pattern the resample holds). NaN where undefined (no variation)."""
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    observed = w @ parts.pattern_do
    totals = np.asarray((parts.pattern_counts.T @ w.T).T)  # resamples x values
    n = totals.sum(axis=1)
    expected = np.einsum("bv,bv->b", totals @ parts.distance, totals)
    out = np.full(w.shape[0], NAN)
    ok = expected > 0
    out[ok] = 1.0 - (n[ok] - 1.0) * observed[ok] / expected[ok]
    return out


def _alpha(parts: AlphaParts) -> float:
    if parts.n_units == 0:
        return NAN
    return float(alpha_from_weights(parts, parts.multiplicity)[0])


def _index_data(reliability_data) -> np.ndarray:
    arr = np.asarray(reliability_data, dtype=float)
    if arr.ndim != 2:
        raise ValueError("reliability data must be a coders x units (2-D) array")
    return np.where(np.isnan(arr), -1, arr).astype(np.int64)


def alpha_with_distance(reliability_data, distance) -> float:
    """Krippendorff's alpha with any distance: ``reliability_data`` is coders x units of
    integer category indices into the V x V ``distance`` matrix (NaN missing). NaN when
    undefined (no pairable unit, or no variation)."""
    return _alpha(alpha_parts(_index_data(reliability_data), distance))


def krippendorff_alpha_nominal(reliability_data, value_domain: Sequence | None = None) -> float:
    """Nominal Krippendorff's alpha via ``krippendorff.alpha`` (coders x units, NaN missing).
    NaN instead of an error or a 0/0 warning when undefined (fewer than two values in the
    data, or no unit coded twice)."""
    values, cats = _encode(reliability_data, value_domain)
    pairable = (values >= 0).sum(axis=0) >= 2
    used = np.unique(values[:, pairable][values[:, pairable] >= 0])
    if not pairable.any() or used.size < 2:
        return NAN
    import krippendorff

    data = np.where(values >= 0, values, np.nan).astype(float)
    return float(krippendorff.alpha(reliability_data=data,
                                    value_domain=np.arange(max(len(cats), 2)),
                                    level_of_measurement="nominal"))


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
    """Percentile unit-bootstrap interval of :func:`alpha_with_distance` (same data form)."""
    return _bootstrap(alpha_parts(_index_data(reliability_data), distance), resamples,
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

    row["percent_agreement"] = _percent_agreement(values)
    n_values = distance.shape[0]
    if q is not None:
        row["gwet_ac1"] = _gwet_from_counts(_value_counts(values, n_values), q)
    used = np.unique(values[:, pairable][values[:, pairable] >= 0])
    if used.size < 2:
        notes.append(no_variation + ": alpha and kappa undefined")
        return row | {"note": notes}

    if kappas and n_coders == 2:
        row["cohen_kappa"] = _cohen(values, n_values)
    elif kappas:
        complete = (values >= 0).all(axis=0)
        n_complete = int(complete.sum())
        if n_complete == 0:
            notes.append(f"fleiss_kappa undefined: no response coded by all {n_coders} coders")
        else:
            row["fleiss_kappa"] = fleiss_kappa(_value_counts(values[:, complete], n_values))
            if np.isnan(row["fleiss_kappa"]):
                notes.append("fleiss_kappa undefined: no variation among the responses "
                             "coded by all coders")
            elif n_complete < n_units:
                notes.append(f"fleiss_kappa on the {n_complete} of {n_units} responses "
                             "coded by all coders")

    parts = alpha_parts(values, distance)
    if library_alpha:
        import krippendorff

        data = np.where(values >= 0, values, np.nan).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            row["krippendorff_alpha"] = float(krippendorff.alpha(
                reliability_data=data, value_domain=np.arange(n_values),
                level_of_measurement="nominal"))
    else:
        row["krippendorff_alpha"] = _alpha(parts)
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
    return row | {"note": notes}


def _question_data(cq: pd.DataFrame, codes: list[str], question: str):
    """coders x units matrix of code-set ids, the sets' membership matrix and set labels."""
    if cq.duplicated(["response_id", "coder"]).any():
        dup = cq.loc[cq.duplicated(["response_id", "coder"]), ["response_id", "coder"]].iloc[0]
        raise ValueError(f"coder {dup['coder']!r} has more than one coding of response "
                         f"{dup['response_id']!r}")
    rank = {code: i for i, code in enumerate(codes)}
    parsed = [parse_codes(c) for c in cq["codes"].tolist()]
    unknown = sorted(set().union(*parsed) - set(codes)) if parsed else []
    if unknown:
        raise ValueError(f"codings of question {question!r} use code(s) not in its codebook: "
                         + ", ".join(unknown))
    canonical = [";".join(sorted(s, key=rank.__getitem__)) for s in parsed]
    labels, set_index = np.unique(np.asarray(canonical, dtype=object).astype(str),
                                  return_inverse=True)
    _, unit_index = np.unique(cq["response_id"].astype(str).to_numpy(), return_inverse=True)
    coder_ids, coder_index = np.unique(cq["coder"].astype(str).to_numpy(), return_inverse=True)
    n_units = int(unit_index.max()) + 1 if len(cq) else 0
    matrix = np.full((coder_ids.size, n_units), -1, dtype=np.int64)
    matrix[coder_index.reshape(-1), unit_index.reshape(-1)] = set_index.reshape(-1)
    membership = np.zeros((labels.size, len(codes)), dtype=np.int64)
    for i, label in enumerate(labels.tolist()):
        for code in parse_codes(label):
            membership[i, rank[code]] = 1
    return matrix, membership, labels.tolist()


def agreement_table(codings: pd.DataFrame, questions: Mapping[str, Mapping], *, cohort: str,
                    bootstrap: int = 2000, seed: int = 20250601, confidence: float = 0.95,
                    acceptable: float = 0.667, good: float = 0.800) -> pd.DataFrame:
    """Inter-coder agreement per question and code, plus a ``*`` row per question.

    ``codings``: response_id, question, coder, codes (one row per coder and response that
    coder coded). ``questions``: codebook, qid -> {"multi_label", "codes", ...}; rows follow
    its order, codes in codebook order, ``*`` last. Columns: :data:`COLUMNS` then
    ``alpha_ci_method``. Deterministic for a given ``seed``. See the module docstring for
    definitions.
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
        codes = [str(c) for c in spec["codes"]]
        multi = bool(spec.get("multi_label", True))
        cq = codings[codings["question"] == question]
        matrix, membership, labels = _question_data(cq, codes, question)
        n_coders = matrix.shape[0]
        base = {"cohort": cohort, "question": question, "n_coders": n_coders}

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
