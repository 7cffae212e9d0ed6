"""The row order of intake's tables: responses by question (codebook order), time point (study
order), participant, item and response id; codings and adjudication in the order of their
responses in that table, codings then by coder name. Stable sorts, so rows equal on the keys
keep the order of their files."""
from __future__ import annotations

import numpy as np
import pandas as pd

from alliance_pipeline.intake.checks.codes import ResponseLookup, response_positions


def responses_in_order(responses: pd.DataFrame, questions: dict, timepoints: list[str]
                       ) -> pd.DataFrame:
    """The responses sorted by question, time point, participant, item and response id
    (returned as they are when in that order already: most files are)."""
    order_q = {q: i for i, q in enumerate(questions)}
    order_t = {t: i for i, t in enumerate(timepoints)}
    keyed = responses.assign(_q=responses["question"].map(order_q),
                             _t=responses["timepoint"].map(order_t))
    order = ["_q", "_t", "participant_id", "item", "response_id"]
    if in_order([keyed[key].to_numpy() for key in order]):
        return responses
    return keyed.sort_values(order, kind="stable").drop(columns=["_q", "_t"])


def table_rank(table_ids: pd.Series, lookup: ResponseLookup) -> np.ndarray:
    """Per position of a response in responses.csv (the keys of ``lookup``), its row in the
    responses table ``table_ids`` (which holds each response once)."""
    table_at = response_positions(table_ids, lookup)
    rank = np.empty(len(table_at), dtype=np.int64)
    rank[table_at] = np.arange(len(table_at))
    return rank


def codings_order(coded_at: list[np.ndarray], coders: list[str], rank: np.ndarray
                  ) -> np.ndarray:
    """The order of the concatenated codings by response (in the order of the responses
    table) and coder name, as a stable sort: ``coded_at`` holds per coder the position of
    each coded response in responses.csv, ``rank`` per position its row in the table."""
    if not coded_at:
        return np.arange(0)
    names = sorted(set(coders))
    key = np.concatenate([rank[at] * len(names) + names.index(coder)
                          for at, coder in zip(coded_at, coders, strict=True)])
    return np.argsort(key, kind="stable")


def in_order(keys: list[np.ndarray]) -> bool:
    """Whether the rows are already sorted by ``keys`` (compared in turn), so that a stable
    sort would leave them as they are."""
    if len(keys[0]) < 2:
        return True
    undecided = np.ones(len(keys[0]) - 1, dtype=bool)  # pairs of rows equal on the keys so far
    for key in keys:
        before, after = key[:-1], key[1:]
        try:
            if (undecided & ~(before <= after)).any():
                return False
        except TypeError:  # values that do not compare (a missing value): sort
            return False
        undecided &= before == after
    return True
