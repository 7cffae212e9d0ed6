"""Consensus codes: from the coders' independent codings and the adjudication to one
code set per response.

Rules (the data contract's ``final_codes.csv`` and ``disagreements.csv``):

* Codes are compared as **sets** (order and duplicates in the ``;``-joined string do not
  matter).
* A response is **unanimous** when at least two coders coded it and every coder who coded
  it gave the same set. A coder who skipped a response does not make it a disagreement.
* A response coded by fewer than two coders cannot be checked for agreement; it is treated
  like a disagreement (listed in the worksheet with a note, needs adjudication).
* An **adjudication** row always wins, also for a unanimous response (``source`` is then
  ``adjudicated``).
* ``unresolved="majority"`` settles a remaining disagreement by the **code set** (not code by
  code) that more than half of the coders who coded the response chose, provided at least two
  coders chose it. Per-set rather than per-code so that the final set is one that some coders
  actually gave; per-code voting can assemble a combination nobody chose. Two coders who
  differ, a tie, or three coders with three different sets have no majority and stay
  unresolved.
* Anything still unresolved raises :class:`.majority.UnresolvedDisagreements`.

No file I/O here; ``scripts/`` read and write the tables.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from alliance_pipeline.coding.majority import (
    SHOWN_IDS,
    UnresolvedDisagreements,
    majority_set,
    no_majority_reason,
)

SOURCES = ("unanimous", "adjudicated", "majority")
FINAL_COLUMNS = ["response_id", "participant_id", "timepoint", "question", "item", "code",
                 "present", "source"]


def parse_codes(codes) -> frozenset[str]:
    """A ``;``-joined code string as a set of codes.

    Parameters
    ----------
    codes : str, float or None
        E.g. ``"a;b"``; ``""``, None or NaN: no code applies. Blanks are ignored.

    Returns
    -------
    frozenset of str

    Examples
    --------
    >>> from alliance_pipeline.coding.consensus import parse_codes
    >>> sorted(parse_codes(" b; a;;a"))
    ['a', 'b']
    >>> parse_codes(""), parse_codes(None)
    (frozenset(), frozenset())
    """
    if codes is None or (isinstance(codes, float) and np.isnan(codes)):
        return frozenset()
    return frozenset(part.strip() for part in str(codes).split(";") if part.strip())


def _join(codes: Iterable[str], order: Sequence[str] | None = None) -> str:
    if order is not None:
        rank = {code: i for i, code in enumerate(order)}
        return ";".join(sorted(codes, key=lambda c: (rank.get(c, len(rank)), c)))
    return ";".join(sorted(codes))


def _coder_sets(codings: pd.DataFrame) -> dict[str, dict[str, frozenset[str]]]:
    """response_id -> {coder: code set}. A coder coding the same response twice is an error."""
    duplicated = codings.duplicated(["response_id", "coder"], keep=False)
    if duplicated.any():
        first = codings.loc[duplicated, ["response_id", "coder"]].iloc[0]
        raise ValueError(f"coder {first['coder']!r} has more than one coding of response "
                         f"{first['response_id']!r}")
    out: dict[str, dict[str, frozenset[str]]] = {}
    for response_id, coder, codes in zip(codings["response_id"].astype(str),
                                         codings["coder"].astype(str), codings["codes"], strict=True):
        out.setdefault(response_id, {})[coder] = parse_codes(codes)
    return out


def _adjudicated(adjudication: pd.DataFrame | None) -> dict[str, frozenset[str]]:
    if adjudication is None or len(adjudication) == 0:
        return {}
    ids = adjudication["response_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError("adjudication has more than one row for response(s): "
                         + ", ".join(sorted(set(ids[ids.duplicated()]))[:SHOWN_IDS]))
    return {rid: parse_codes(codes) for rid, codes in zip(ids, adjudication["codes"], strict=True)}


def _check_known(responses: pd.DataFrame, *tables: tuple[str, pd.DataFrame | None]) -> None:
    known = set(responses["response_id"].astype(str))
    for name, table in tables:
        if table is None or len(table) == 0:
            continue
        unknown = sorted(set(table["response_id"].astype(str)) - known)
        if unknown:
            raise ValueError(f"{name} refers to {len(unknown)} response(s) not in responses: "
                             + ", ".join(unknown[:SHOWN_IDS]))


def _is_unanimous(sets: Mapping[str, frozenset[str]]) -> bool:
    return len(sets) >= 2 and len(set(sets.values())) == 1


def disagreements(responses: pd.DataFrame, codings: pd.DataFrame,
                  adjudication: pd.DataFrame | None, coders: Sequence[str] | None = None
                  ) -> pd.DataFrame:
    """The worksheet for the consensus meeting: every response that is not unanimous.

    Parameters
    ----------
    responses : pandas.DataFrame
        ``response_id, participant_id, question, timepoint, item, text``, in intake's order.
    codings : pandas.DataFrame
        ``response_id, coder, codes`` (``;``-joined), one row per coder and response coded.
    adjudication : pandas.DataFrame or None
        ``response_id, codes``: the meeting's decisions so far.
    coders : sequence of str, optional
        The coders, in column order; default those in ``codings``, sorted.

    Returns
    -------
    pandas.DataFrame
        A row per response coded differently by two or more coders, or coded by fewer than two,
        in the order of ``responses``: ``response_id, participant_id, question, timepoint,
        item, text``, ``coder_<id>`` (codes as given; empty: not coded), ``resolved`` (``yes``
        when adjudicated), ``adjudicated_codes`` and ``note``.

    Raises
    ------
    ValueError
        Unknown responses or coders, a response coded twice by a coder or adjudicated twice.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.coding.consensus import disagreements
    >>> responses = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "participant_id": "p1",
    ...                           "question": "q1", "timepoint": ["pre", "post", "post"],
    ...                           "item": "", "text": ["t1", "t2", "t3"]})
    >>> codings = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r1", "r2"],
    ...                         "coder": ["c1", "c1", "c1", "c2", "c2"],
    ...                         "codes": ["a", "a;b", "b", "a", "a"]})
    >>> adjudication = pd.DataFrame({"response_id": ["r2"], "codes": ["a;b"]})
    >>> sheet = disagreements(responses, codings, adjudication)
    >>> for row in sheet[["response_id", "coder_c1", "coder_c2", "resolved", "note"]].to_dict("records"):
    ...     print(row)
    {'response_id': 'r2', 'coder_c1': 'a;b', 'coder_c2': 'a', 'resolved': 'yes', 'note': ''}
    {'response_id': 'r3', 'coder_c1': 'b', 'coder_c2': '', 'resolved': 'no', 'note': 'coded by 1 coder; not coded by c2'}
    """
    responses = responses.reset_index(drop=True)
    _check_known(responses, ("codings", codings), ("adjudication", adjudication))
    all_coders = sorted(set(codings["coder"].astype(str)))
    if coders is None:
        coders = all_coders
    coders = [str(c) for c in coders]
    unknown = sorted(set(all_coders) - set(coders))
    if unknown:
        raise ValueError("codings contain coder(s) not in the coder list: " + ", ".join(unknown))
    rows = _worksheet_rows(responses, codings, adjudication, coders)
    return _worksheet_frame(rows, responses, coders)


def _worksheet_rows(responses: pd.DataFrame, codings: pd.DataFrame,
                    adjudication: pd.DataFrame | None, coders: Sequence[str]) -> list[dict]:
    """One dict per non-unanimous response (``_position`` = its row in ``responses``)."""
    by_response = _coder_sets(codings)
    adjudicated = _adjudicated(adjudication)
    raw_codes = {(str(r), str(c)): "" if pd.isna(k) else str(k)
                 for r, c, k in zip(codings["response_id"], codings["coder"], codings["codes"], strict=True)}
    adjudicated_raw = ({} if adjudication is None or len(adjudication) == 0 else
                       {str(r): "" if pd.isna(k) else str(k)
                        for r, k in zip(adjudication["response_id"], adjudication["codes"], strict=True)})

    rows = []
    for position, response_id in enumerate(responses["response_id"].astype(str)):
        sets = by_response.get(response_id, {})
        if _is_unanimous(sets):
            continue
        notes = []
        if len(sets) < 2:
            notes.append("not coded" if not sets else "coded by 1 coder")
        missing = [c for c in coders if c not in sets]
        if missing and sets:
            notes.append("not coded by " + ", ".join(missing))
        row = {"_position": position, "response_id": response_id}
        for coder in coders:
            row[f"coder_{coder}"] = raw_codes.get((response_id, coder), "")
        resolved = response_id in adjudicated
        row["resolved"] = "yes" if resolved else "no"
        row["adjudicated_codes"] = adjudicated_raw.get(response_id, "")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return rows


def _worksheet_frame(rows: list[dict], responses: pd.DataFrame,
                     coders: Sequence[str]) -> pd.DataFrame:
    """The worksheet rows with each response's context columns, in the contract's order."""
    coder_columns = [f"coder_{c}" for c in coders]
    columns = (["response_id", "participant_id", "question", "timepoint", "item", "text"]
               + coder_columns + ["resolved", "adjudicated_codes", "note"])
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=str) for c in columns})
    sheet = pd.DataFrame(rows)
    context = responses.loc[sheet["_position"], ["participant_id", "question", "timepoint",
                                                 "item", "text"]].reset_index(drop=True)
    sheet = pd.concat([sheet.drop(columns="_position").reset_index(drop=True), context], axis=1)
    sheet["item"] = sheet["item"].fillna("")
    return sheet[columns]


def final_codes(responses: pd.DataFrame, codings: pd.DataFrame,
                adjudication: pd.DataFrame | None, questions: Mapping[str, Mapping],
                unresolved: str = "fail") -> pd.DataFrame:
    """The consensus codes: one row per response and code of its question.

    Parameters
    ----------
    responses : pandas.DataFrame
        ``response_id, participant_id, timepoint, question, item`` of every response.
    codings : pandas.DataFrame
        ``response_id, coder, codes`` (``;``-joined), one row per coder and response coded.
    adjudication : pandas.DataFrame or None
        ``response_id, codes``: the consensus meeting's decisions.
    questions : mapping
        The codebook, question id -> ``{"codes": [...], "multi_label": bool}``.
    unresolved : {"fail", "majority"}, default "fail"
        What settles a disagreement without adjudication: nothing, or the majority code set
        (:func:`.majority.majority_set`).

    Returns
    -------
    pandas.DataFrame
        Columns ``response_id, participant_id, timepoint, question, item, code, present,
        source``; rows in the order of ``responses``, codes in codebook order. ``source``: an
        adjudication row wins (``adjudicated``); else two or more coders who all gave the same
        set (``unanimous``); else, with ``unresolved="majority"``, the majority set.

    Raises
    ------
    UnresolvedDisagreements
        Responses left without agreed codes (all of them are named).
    ValueError
        A code not in the codebook, several for a single-label question, unknown ids.

    Examples
    --------
    r1 is unanimous; r2 (the coders differ) and r3 (one coder) are adjudicated, r3 as no code
    (without its row :class:`.majority.UnresolvedDisagreements` is raised):

    >>> import pandas as pd
    >>> from alliance_pipeline.coding.consensus import final_codes
    >>> responses = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "participant_id": "p1",
    ...                           "timepoint": ["pre", "post", "post"], "question": "q1",
    ...                           "item": ""})
    >>> codings = pd.DataFrame({"response_id": ["r1", "r2", "r3", "r1", "r2"],
    ...                         "coder": ["c1", "c1", "c1", "c2", "c2"],
    ...                         "codes": ["a", "a;b", "b", "a", "a"]})
    >>> questions = {"q1": {"codes": ["a", "b"], "multi_label": True}}
    >>> adjudication = pd.DataFrame({"response_id": ["r2", "r3"], "codes": ["a;b", ""]})
    >>> final = final_codes(responses, codings, adjudication, questions)
    >>> print(final[["response_id", "code", "present", "source"]].to_string())
      response_id code  present       source
    0          r1    a        1    unanimous
    1          r1    b        0    unanimous
    2          r2    a        1  adjudicated
    3          r2    b        1  adjudicated
    4          r3    a        0  adjudicated
    5          r3    b        0  adjudicated
    """
    if unresolved not in ("fail", "majority"):
        raise ValueError(f"unresolved must be 'fail' or 'majority', not {unresolved!r}")
    responses = responses.reset_index(drop=True)
    _check_known(responses, ("codings", codings), ("adjudication", adjudication))
    by_response = _coder_sets(codings)
    finals, sources = _consensus_sets(responses, by_response, _adjudicated(adjudication),
                                      unresolved)
    question_ids = responses["question"].astype(str).tolist()
    codebook = _checked_codebook(responses, question_ids, finals, questions)
    return _final_frame(responses, question_ids, finals, sources, codebook)


def _consensus_sets(responses: pd.DataFrame, by_response: Mapping[str, Mapping[str, frozenset[str]]],
                    adjudicated: Mapping[str, frozenset[str]], unresolved: str
                    ) -> tuple[list[frozenset[str]], list[str]]:
    """Each response's final code set and source; raises :class:`UnresolvedDisagreements`."""
    finals: list[frozenset[str]] = []
    sources: list[str] = []
    open_ids: list[str] = []
    for response_id in responses["response_id"].astype(str):
        sets = by_response.get(response_id, {})
        if response_id in adjudicated:
            finals.append(adjudicated[response_id])
            sources.append("adjudicated")
        elif _is_unanimous(sets):
            finals.append(next(iter(sets.values())))
            sources.append("unanimous")
        else:
            chosen = majority_set(sets) if unresolved == "majority" else None
            if chosen is None:
                open_ids.append(response_id)
                finals.append(frozenset())
                sources.append("")
            else:
                finals.append(chosen)
                sources.append("majority")
    if open_ids:
        reasons = ([no_majority_reason(by_response.get(r, {})) for r in open_ids]
                   if unresolved == "majority" else None)
        raise UnresolvedDisagreements(open_ids, mode=unresolved, reasons=reasons)
    return finals, sources


def _checked_codebook(responses: pd.DataFrame, question_ids: list[str],
                      finals: list[frozenset[str]], questions: Mapping[str, Mapping]
                      ) -> dict[str, list[str]]:
    """Question -> its codes; raises ``ValueError`` for a final set the codebook forbids."""
    unknown_q = sorted(set(question_ids) - set(questions))
    if unknown_q:
        raise ValueError("responses to question(s) not in the codebook: " + ", ".join(unknown_q))
    codebook = {q: [str(c) for c in questions[q]["codes"]] for q in set(question_ids)}
    for response_id, question, final in zip(responses["response_id"], question_ids, finals, strict=True):
        extra = final - set(codebook[question])
        if extra:
            raise ValueError(f"response {response_id!r}: code(s) {', '.join(sorted(extra))} "
                             f"are not codes of question {question!r}")
        if not questions[question].get("multi_label", True) and len(final) > 1:
            raise ValueError(f"response {response_id!r}: single-label question {question!r} "
                             f"has {len(final)} final codes ({_join(final, codebook[question])})")
    return codebook


def _final_frame(responses: pd.DataFrame, question_ids: list[str], finals: list[frozenset[str]],
                 sources: list[str], codebook: Mapping[str, list[str]]) -> pd.DataFrame:
    """One row per response and code of its question (``FINAL_COLUMNS``)."""
    n_codes = np.array([len(codebook[q]) for q in question_ids], dtype=np.int64)
    repeat = np.repeat(np.arange(len(responses)), n_codes)
    codes = [code for q in question_ids for code in codebook[q]]
    present = [int(code in final) for final, q in zip(finals, question_ids, strict=True)
               for code in codebook[q]]
    base = responses.iloc[repeat]
    out = pd.DataFrame({
        "response_id": base["response_id"].astype(str).to_numpy(),
        "participant_id": base["participant_id"].astype(str).to_numpy(),
        "timepoint": base["timepoint"].astype(str).to_numpy(),
        "question": base["question"].astype(str).to_numpy(),
        "item": base["item"].fillna("").astype(str).to_numpy(),
        "code": pd.array(codes, dtype=object),
        "present": np.asarray(present, dtype=np.int64),
        "source": np.asarray(sources, dtype=object)[repeat],
    })
    for column in ("code", "source"):
        out[column] = out[column].astype(str)
    return out[FINAL_COLUMNS]


def source_counts(final_codes: pd.DataFrame) -> pd.DataFrame:
    """Responses per question and consensus source: ``question, source, n_responses``.

    Parameters
    ----------
    final_codes : pandas.DataFrame
        :func:`final_codes` output.

    Returns
    -------
    pandas.DataFrame
        Every question (in order of first appearance) with the three sources (unanimous,
        adjudicated, majority), zero included.

    Examples
    --------
    >>> import pandas as pd
    >>> from alliance_pipeline.coding.consensus import source_counts
    >>> final = pd.DataFrame({"response_id": ["r1", "r1", "r2", "r3"], "question": "q1",
    ...                       "source": ["unanimous", "unanimous", "adjudicated", "unanimous"]})
    >>> print(source_counts(final).to_string())
      question       source  n_responses
    0       q1    unanimous            2
    1       q1  adjudicated            1
    2       q1     majority            0
    """
    per_response = final_codes.drop_duplicates("response_id")[["question", "source"]]
    questions = list(dict.fromkeys(per_response["question"].astype(str)))
    counts = per_response.groupby(["question", "source"]).size()
    rows = [{"question": q, "source": s, "n_responses": int(counts.get((q, s), 0))}
            for q in questions for s in SOURCES]
    out = pd.DataFrame(rows, columns=["question", "source", "n_responses"])
    out["n_responses"] = out["n_responses"].astype(np.int64)
    return out
