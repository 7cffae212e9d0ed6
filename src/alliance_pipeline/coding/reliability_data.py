"""Reliability data in the form the agreement coefficients take: coders x units.

A row per coder, a column per unit (a response); a coding the coder did not give is a missing
value (NaN or None), never an absence. :func:`encode` turns such data into integer category
indices (-1 missing) and the category list; :func:`value_counts` counts, per unit, how many
coders gave each value (the r_ik of Fleiss' kappa and Gwet's AC1); :func:`index_data` reads
data already given as integer indices (into a distance matrix, for Krippendorff's alpha);
:func:`codings_matrix` turns one question's codings into coders x units code-set ids.
The coefficients themselves are in :mod:`alliance_pipeline.coding.coefficients` and
:mod:`alliance_pipeline.coding.krippendorff_alpha`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.coding.consensus import parse_codes

NAN = float("nan")


def encode(reliability_data, categories: Sequence | None = None) -> tuple[np.ndarray, list]:
    """Coders x units data (NaN/None missing) -> integer category indices and the categories.

    Parameters
    ----------
    reliability_data : array_like, shape (coders, units)
        One row per coder, one column per unit; NaN or None where the coder did not code
        the unit.
    categories : sequence, optional
        The categories in order; default the values observed, sorted.

    Returns
    -------
    values : numpy.ndarray of int64, shape (coders, units)
        Index of each value in the categories, -1 where missing.
    categories : list
        The categories.

    Raises
    ------
    ValueError
        The data are not 2-D, or hold a value outside ``categories``.

    Examples
    --------
    >>> import numpy as np
    >>> from alliance_pipeline.coding.reliability_data import encode
    >>> values, cats = encode([[1, 0, np.nan], [1, 1, 0]])
    >>> values.tolist(), cats
    ([[1, 0, -1], [1, 1, 0]], [0.0, 1.0])
    >>> values, cats = encode([["a", "b", None], ["a", "a", "b"]])
    >>> values.tolist(), cats
    ([[0, 1, -1], [0, 0, 1]], ['a', 'b'])
    """
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
    cat_list = sorted(set(present.tolist())) if categories is None else list(categories)
    lookup = {c: i for i, c in enumerate(cat_list)}
    try:
        values[~missing] = [lookup[v] for v in present.tolist()]
    except KeyError as error:
        raise ValueError(f"reliability data hold a value outside the categories: {error}") from None
    return values, cat_list


def value_counts(values: np.ndarray, n_categories: int) -> np.ndarray:
    """Units x categories: how many coders gave each value to each unit.

    Parameters
    ----------
    values : numpy.ndarray of int, shape (coders, units)
        Encoded data (:func:`encode`), -1 missing.
    n_categories : int
        Number of categories.

    Returns
    -------
    numpy.ndarray of int64, shape (units, categories)
        r_ik, the counts of Fleiss' kappa and Gwet's AC1.

    Examples
    --------
    >>> import numpy as np
    >>> from alliance_pipeline.coding.reliability_data import value_counts
    >>> value_counts(np.array([[1, 0, -1], [1, 1, 0]]), 2).tolist()
    [[0, 2], [1, 1], [1, 0]]
    """
    counts = np.zeros((values.shape[1], n_categories), dtype=np.int64)
    for row in values:
        ok = row >= 0
        np.add.at(counts, (np.nonzero(ok)[0], row[ok]), 1)
    return counts


def index_data(reliability_data) -> np.ndarray:
    """Coders x units data given as integer indices (NaN missing) -> int64, -1 missing.

    Parameters
    ----------
    reliability_data : array_like of float, shape (coders, units)
        Category indices (e.g. into a distance matrix), NaN where missing.

    Returns
    -------
    numpy.ndarray of int64
        The indices, -1 where missing.

    Raises
    ------
    ValueError
        The data are not 2-D.

    Examples
    --------
    >>> import numpy as np
    >>> from alliance_pipeline.coding.reliability_data import index_data
    >>> index_data([[0, 2, np.nan], [1, 1, 0]]).tolist()
    [[0, 2, -1], [1, 1, 0]]
    """
    arr = np.asarray(reliability_data, dtype=float)
    if arr.ndim != 2:
        raise ValueError("reliability data must be a coders x units (2-D) array")
    return np.where(np.isnan(arr), -1, arr).astype(np.int64)


def codings_matrix(cq: pd.DataFrame, codes: list[str], question: str):
    """One question's codings as a coders x units matrix of code-set ids.

    Parameters
    ----------
    cq : pandas.DataFrame
        The question's codings: ``response_id, coder, codes`` (``;``-joined code ids, one row
        per coder and response that coder coded).
    codes : list of str
        The question's codes in codebook order.
    question : str
        The question id (for the error messages).

    Returns
    -------
    matrix : numpy.ndarray of int64, shape (coders, units)
        Index of each coding's code set in ``labels``, -1 where the coder did not code the
        response; coders and responses sorted by id.
    membership : numpy.ndarray of int64, shape (sets, codes)
        1 where the set holds the code.
    labels : list of str
        The code sets, codes ``;``-joined in codebook order (``""``: no code applies).

    Raises
    ------
    ValueError
        A coder coded a response twice, or a coding uses a code not in ``codes``.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.coding.reliability_data import codings_matrix
    >>> cq = pd.DataFrame({"response_id": ["r1", "r2", "r1"], "coder": ["c1", "c1", "c2"],
    ...                    "codes": ["b;a", "", "a"]})
    >>> matrix, membership, labels = codings_matrix(cq, ["a", "b"], "q1")
    >>> matrix.tolist(), membership.tolist(), labels
    ([[2, 0], [1, -1]], [[0, 0], [1, 0], [1, 1]], ['', 'a', 'a;b'])
    """
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
