"""Disagreements the coders left open: the majority rule, why a response has no majority,
and the stop (:class:`UnresolvedDisagreements`) when any is left without adjudication.

The majority is taken per **code set**, not code by code (:func:`majority_set`): the code set
chosen by more than half of the coders who coded the response, and by at least two of them,
so that the final set is one that some coders actually gave. :mod:`.consensus` applies it
with ``unresolved="majority"``.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

SHOWN_IDS = 5  # response ids a message names before "and N more"


class UnresolvedDisagreements(ValueError):
    """Responses without agreed codes: coders differ (or fewer than two coded the response)
    and adjudication.csv has no row for them.

    Attributes: ``count`` (number of such responses) and ``response_ids`` (all of them, in
    the order of the responses table).

    Examples
    --------
    >>> from alliance_pipeline.coding.majority import UnresolvedDisagreements
    >>> error = UnresolvedDisagreements(["r3"])
    >>> error.count, error.response_ids
    (1, ['r3'])
    >>> print(error)
    1 response(s) have no agreed codes: the coders differ (or fewer than two coded them), and adjudication.csv has no row for them: r3. Resolve them in the consensus meeting and add them to adjudication.csv.
    """

    def __init__(self, response_ids: Sequence[str], *, mode: str = "fail",
                 reasons: Sequence[str] | None = None):
        self.response_ids = list(response_ids)
        self.count = len(self.response_ids)
        self.reasons = list(reasons) if reasons is not None else None
        if self.reasons is not None:
            named = [f"{r} ({why})" for r, why in zip(self.response_ids, self.reasons, strict=True)]
        else:
            named = self.response_ids
        shown = ", ".join(named[:SHOWN_IDS])
        more = self.count - SHOWN_IDS
        if more > 0:
            shown += f" and {more} more"
        if mode == "majority":
            super().__init__(
                f"{self.count} response(s) have no agreed codes and no majority (unresolved: "
                "majority takes the code set chosen by more than half of the coders who coded "
                "the response, and by at least two of them), and adjudication.csv has no row "
                f"for them: {shown}. Resolve them in the consensus meeting and add them to "
                "adjudication.csv.")
            return
        super().__init__(
            f"{self.count} response(s) have no agreed codes: the coders differ (or fewer than "
            f"two coded them), and adjudication.csv has no row for them: {shown}. "
            "Resolve them in the consensus meeting and add them to adjudication.csv.")


def majority_set(sets: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """The code set chosen by more than half of the coders who coded a response, if any.

    Parameters
    ----------
    sets : mapping of str to frozenset
        Coder -> the code set that coder gave the response.

    Returns
    -------
    frozenset or None
        The set chosen by v coders with v ≥ 2 and 2v > (coders of the response); else None.

    Notes
    -----
    Per code set, not per code: the final set is one that some coders actually gave, while
    per-code voting can assemble a combination nobody chose.

    Examples
    --------
    >>> from alliance_pipeline.coding.majority import majority_set
    >>> a, ab = frozenset({"a"}), frozenset({"a", "b"})
    >>> sorted(majority_set({"c1": ab, "c2": ab, "c3": a}))
    ['a', 'b']
    >>> majority_set({"c1": ab, "c2": a}) is None       # two coders who differ
    True
    >>> majority_set({"c1": ab, "c2": ab, "c3": a, "c4": a}) is None   # a tie
    True
    """
    if not sets:
        return None
    (best, votes), = Counter(sets.values()).most_common(1)
    if votes >= 2 and 2 * votes > len(sets):
        return best
    return None


def no_majority_reason(sets: Mapping[str, frozenset[str]]) -> str:
    """Why :func:`majority_set` found no majority, in words (for the stop message).

    Parameters
    ----------
    sets : mapping of str to frozenset
        Coder -> the code set that coder gave the response.

    Returns
    -------
    str
        E.g. ``"two coders differ: a | a;b"``; code sets ``;``-joined and sorted, ``(no code)``
        for the empty set.

    Examples
    --------
    >>> from alliance_pipeline.coding.majority import no_majority_reason
    >>> no_majority_reason({"c1": frozenset({"a"}), "c2": frozenset({"a", "b"})})
    'two coders differ: a | a;b'
    >>> no_majority_reason({"c1": frozenset({"a"}), "c2": frozenset({"b"}), "c3": frozenset()})
    '3-way split: a | b | (no code)'
    >>> no_majority_reason({"c1": frozenset({"a"})})
    'coded by fewer than two coders'
    """
    shown = " | ".join(";".join(sorted(codes)) or "(no code)" for codes in dict.fromkeys(sets.values()))
    if len(sets) < 2:
        return "coded by fewer than two coders"
    votes = sorted(Counter(sets.values()).values(), reverse=True)
    if len(sets) == 2:
        return f"two coders differ: {shown}"
    if votes[0] == 1:
        return f"{len(sets)}-way split: {shown}"
    if len(votes) > 1 and votes[0] == votes[1]:
        return f"tie, {' against '.join(map(str, votes))} coders: {shown}"
    return f"{votes[0]} of {len(sets)} coders is not more than half: {shown}"
