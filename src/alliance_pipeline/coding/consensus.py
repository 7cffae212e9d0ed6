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
* Anything still unresolved raises :class:`UnresolvedDisagreements`.

No file I/O here; ``scripts/`` read and write the tables.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

SOURCES = ("unanimous", "adjudicated", "majority")
FINAL_COLUMNS = ["response_id", "participant_id", "timepoint", "question", "item", "code",
                 "present", "source"]
_SHOWN_IDS = 5


class UnresolvedDisagreements(ValueError):
    """Responses without agreed codes: coders differ (or fewer than two coded the response)
    and adjudication.csv has no row for them.

    Attributes: ``count`` (number of such responses) and ``response_ids`` (all of them, in
    the order of the responses table).
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
        shown = ", ".join(named[:_SHOWN_IDS])
        more = self.count - _SHOWN_IDS
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


def parse_codes(codes) -> frozenset[str]:
    """``'a;b'`` -> ``{'a', 'b'}``; ``''`` (no code applies) -> empty set. Blanks are ignored."""
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
                         + ", ".join(sorted(set(ids[ids.duplicated()]))[:_SHOWN_IDS]))
    return {rid: parse_codes(codes) for rid, codes in zip(ids, adjudication["codes"], strict=True)}


def _check_known(responses: pd.DataFrame, *tables: tuple[str, pd.DataFrame | None]) -> None:
    known = set(responses["response_id"].astype(str))
    for name, table in tables:
        if table is None or len(table) == 0:
            continue
        unknown = sorted(set(table["response_id"].astype(str)) - known)
        if unknown:
            raise ValueError(f"{name} refers to {len(unknown)} response(s) not in responses: "
                             + ", ".join(unknown[:_SHOWN_IDS]))


def _is_unanimous(sets: Mapping[str, frozenset[str]]) -> bool:
    return len(sets) >= 2 and len(set(sets.values())) == 1


def _majority_set(sets: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """The code set chosen by more than half of the coders who coded the response (and by at
    least two of them), else None."""
    if not sets:
        return None
    (best, votes), = Counter(sets.values()).most_common(1)
    if votes >= 2 and 2 * votes > len(sets):
        return best
    return None


def no_majority_reason(sets: Mapping[str, frozenset[str]]) -> str:
    """Why :func:`_majority_set` found no majority, in words (for the stop message)."""
    shown = " | ".join(_join(codes) or "(no code)" for codes in dict.fromkeys(sets.values()))
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


def disagreements(responses: pd.DataFrame, codings: pd.DataFrame,
                  adjudication: pd.DataFrame | None, coders: Sequence[str] | None = None
                  ) -> pd.DataFrame:
    """The worksheet for the consensus meeting.

    One row for every response that is not unanimous: two or more coders coded it and their
    code sets differ, or fewer than two coders coded it (``note`` says so). Columns:
    ``response_id, participant_id, question, timepoint, item, text``, one ``coder_<id>``
    column per coder (in the order of ``coders``; that coder's codes as given, empty when the
    coder did not code the response — ``note`` names who did not), ``resolved`` (``yes`` when
    adjudication has a row for the response, else ``no``), ``adjudicated_codes`` (empty when
    not resolved) and ``note``.

    Rows keep the order of ``responses`` (intake sorts it by question, time point in study
    order, participant, item, response_id), so the worksheet is deterministic. Text passes
    through unchanged; spreadsheet safety is applied when the sheet is written
    (``tables.write_table(for_people=True)``).
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

    Columns ``response_id, participant_id, timepoint, question, item, code, present,
    source`` (``present`` 0/1 int; ``source`` unanimous | adjudicated | majority). Rows follow
    the order of ``responses``, codes in codebook order.

    * adjudication row present -> its codes, ``adjudicated`` (wins over everything);
    * else unanimous (>= 2 coders, identical sets) -> that set, ``unanimous``;
    * else, with ``unresolved="majority"``, the code set chosen by more than half of the
      coders who coded the response and by at least two of them -> ``majority``
      (per code set, not per code: see the module docstring);
    * anything left raises :class:`UnresolvedDisagreements` (``unresolved="fail"`` raises for
      every non-unanimous response without adjudication).

    Codes that are not codes of the response's question, and more than one final code for a
    single-label question, raise ``ValueError``.
    """
    if unresolved not in ("fail", "majority"):
        raise ValueError(f"unresolved must be 'fail' or 'majority', not {unresolved!r}")
    responses = responses.reset_index(drop=True)
    _check_known(responses, ("codings", codings), ("adjudication", adjudication))
    by_response = _coder_sets(codings)
    adjudicated = _adjudicated(adjudication)

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
            chosen = _majority_set(sets) if unresolved == "majority" else None
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

    question_ids = responses["question"].astype(str).tolist()
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

    Every question gets the three sources (unanimous, adjudicated, majority), zero included,
    questions in order of first appearance.
    """
    per_response = final_codes.drop_duplicates("response_id")[["question", "source"]]
    questions = list(dict.fromkeys(per_response["question"].astype(str)))
    counts = per_response.groupby(["question", "source"]).size()
    rows = [{"question": q, "source": s, "n_responses": int(counts.get((q, s), 0))}
            for q in questions for s in SOURCES]
    out = pd.DataFrame(rows, columns=["question", "source", "n_responses"])
    out["n_responses"] = out["n_responses"].astype(np.int64)
    return out
