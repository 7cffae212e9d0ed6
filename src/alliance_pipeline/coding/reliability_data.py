"""Reliability data in the form the agreement coefficients take: coders x units.

A row per coder, a column per unit (a response); a coding the coder did not give is a missing
value (NaN or None), never an absence. :func:`encode` turns such data into integer category
indices (-1 missing) and the category list; :func:`value_counts` counts, per unit, how many
coders gave each value (the r_ik of Fleiss' kappa and Gwet's AC1); :func:`index_data` reads
data already given as integer indices (into a distance matrix, for Krippendorff's alpha).
The coefficients themselves are in :mod:`alliance_pipeline.coding.coefficients` and
:mod:`alliance_pipeline.coding.krippendorff_alpha`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

NAN = float("nan")


def encode(reliability_data, categories: Sequence | None = None) -> tuple[np.ndarray, list]:
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
    cat_list = sorted(set(present.tolist())) if categories is None else list(categories)
    lookup = {c: i for i, c in enumerate(cat_list)}
    try:
        values[~missing] = [lookup[v] for v in present.tolist()]
    except KeyError as error:
        raise ValueError(f"reliability data hold a value outside the categories: {error}") from None
    return values, cat_list


def value_counts(values: np.ndarray, n_categories: int) -> np.ndarray:
    """units x categories: how many coders gave each value to each unit."""
    counts = np.zeros((values.shape[1], n_categories), dtype=np.int64)
    for row in values:
        ok = row >= 0
        np.add.at(counts, (np.nonzero(ok)[0], row[ok]), 1)
    return counts


def index_data(reliability_data) -> np.ndarray:
    arr = np.asarray(reliability_data, dtype=float)
    if arr.ndim != 2:
        raise ValueError("reliability data must be a coders x units (2-D) array")
    return np.where(np.isnan(arr), -1, arr).astype(np.int64)

