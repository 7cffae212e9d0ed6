"""The intake checks as they were before issue #25: one row at a time, in plain Python.

A reference for tests/test_intake_fast.py, which compares the column-at-a-time checks of
``alliance_pipeline.intake`` with these on seeded generated data. Copied from the package as
it was (commit 8a30330); only the names of the per-value helpers they call are imported from
the package (they are the same functions either way). Keep these as they are: they are the
independent implementation, not code to maintain alongside.
"""
import pandas as pd

from alliance_pipeline.common.hints import did_you_mean
from alliance_pipeline.common.privacy import identifying_kinds, participant_id_problem
from alliance_pipeline.intake.checks.codes import _code_problem, _id_key, normalise_codes
from alliance_pipeline.intake.checks.responses import (
    RESPONSE_ID,
    RESPONSE_ID_CHARACTERS,
    foreign_character,
    participant_key,
    similar_id_message,
)
from alliance_pipeline.intake.problems import Problem


def _similar_participant_ids(frame: pd.DataFrame, path: str) -> list[Problem]:
    """Ids that differ only in case or zero-padding (P05, p05, P5) are probably one person."""
    first: dict[str, tuple[str, int]] = {}
    reported: set[str] = set()
    problems = []
    for pid, row in zip(frame["participant_id"], frame["spreadsheet_row"], strict=True):
        if not pid:
            continue
        key = participant_key(pid)
        if key not in first:
            first[key] = (pid, row)
        elif first[key][0] != pid and pid not in reported:
            reported.add(pid)
            other, other_row = first[key]
            problems.append(Problem(path, row, "participant_id", pid,
                                    similar_id_message(other, f"row {other_row}")))
    return problems


def validate_responses(frame: pd.DataFrame, path: str, *, timepoints: list[str],
                       questions: dict, id_pattern: str, allow_similar_ids: bool = False
                       ) -> list[Problem]:
    """Contract rules for responses.csv (ids, time points, questions, pseudonyms, items)."""
    problems = []
    for column in ("response_id", "participant_id", "timepoint", "question"):
        frame[column] = frame[column].str.strip()
    seen: dict[str, int] = {}
    checked_ids: dict[str, str | None] = {}
    for rec in frame.itertuples(index=False):
        row = rec.spreadsheet_row
        if not rec.response_id:
            problems.append(Problem(path, row, "response_id", "",
                                    "is empty; every response needs a unique id"))
        elif not RESPONSE_ID.fullmatch(rec.response_id):
            foreign = foreign_character(rec.response_id)
            what = (f"contains {foreign}" if foreign else "does not start with a letter or digit")
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"{what}; response ids are made of {RESPONSE_ID_CHARACTERS} "
                                    "(a look-alike letter of another alphabet or an invisible "
                                    "mark would not match the coder files): retype the id"))
        elif rec.response_id in seen:
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"is a duplicate of row {seen[rec.response_id]}; ids must be "
                                    "unique, give one of them a new id"))
        else:
            seen[rec.response_id] = row
        if not rec.participant_id:
            problems.append(Problem(path, row, "participant_id", "",
                                    "is empty; give every response its participant's pseudonym"))
        else:
            if rec.participant_id not in checked_ids:
                checked_ids[rec.participant_id] = participant_id_problem(rec.participant_id, id_pattern)
            why = checked_ids[rec.participant_id]
            if why:
                problems.append(Problem(path, row, "participant_id", rec.participant_id, why))
        if rec.timepoint not in timepoints:
            problems.append(Problem(path, row, "timepoint", rec.timepoint,
                                    f"is not a study time point ({', '.join(timepoints)})"
                                    f"{did_you_mean(rec.timepoint, timepoints)}; correct it, or "
                                    "add it to study.timepoints in config/config.yaml"))
        if rec.question not in questions:
            problems.append(Problem(path, row, "question", rec.question,
                                    f"is not a question of the codebook ({', '.join(questions)})"
                                    f"{did_you_mean(rec.question, questions)}; correct it, or add "
                                    "the question to the codebook"))
        elif rec.timepoint in timepoints and rec.timepoint not in questions[rec.question]["timepoints"]:
            problems.append(Problem(path, row, "timepoint", rec.timepoint,
                                    f"is not a time point of question {rec.question} (asked only "
                                    f"at {', '.join(questions[rec.question]['timepoints'])}); "
                                    "correct the time point or the question, or add the time "
                                    "point to the question's timepoints in the codebook"))
    key = ["participant_id", "question", "timepoint"] + (["item"] if "item" in frame.columns else [])
    items = frame["item"].str.strip() if "item" in frame.columns else None
    keyed = frame.assign(item=items) if items is not None else frame
    keyed = keyed[(keyed["participant_id"] != "") & keyed["timepoint"].isin(timepoints)
                  & keyed["question"].isin(list(questions))]
    dup = keyed[keyed.duplicated(key, keep=False)]
    for _, group in dup.groupby(key, sort=False):
        rows = group["spreadsheet_row"].tolist()
        what = "participant, question, time point" + (" and item" if "item" in frame.columns else "")
        fix = ("give each a distinct item" if "item" in frame.columns else
               "add an `item` column if participants answered several items, or remove the duplicate")
        for later in rows[1:]:
            problems.append(Problem(path, later, "participant_id", group["participant_id"].iloc[0],
                                    f"has a second response for the same {what} as row {rows[0]}; {fix}"))
    if not allow_similar_ids:
        problems += _similar_participant_ids(frame, path)
    problems.sort(key=lambda p: (p.row or 0))
    return problems


def validate_coding(frame: pd.DataFrame, path: str, *, response_question: dict[str, str],
                    questions: dict) -> list[Problem]:
    """Contract rules for one coder file or adjudication.csv."""
    problems = []
    frame["response_id"] = frame["response_id"].str.strip()
    seen: dict[str, int] = {}
    copies: dict[str, int] = {}
    near: dict[str, str] | None = None  # folded id -> id of responses.csv, built when needed
    for rec in frame.itertuples(index=False):
        row = rec.spreadsheet_row
        if rec.response_id not in response_question:
            if near is None:
                near = {}
                for known in response_question:
                    near.setdefault(_id_key(known), known)
            hint = ""
            meant = near.get(_id_key(rec.response_id))
            if meant:
                foreign = foreign_character(rec.response_id)
                hint = (f" (it looks like {meant!r}" + (f" but contains {foreign}" if foreign else "")
                        + f"; write it as {meant!r})")
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"is not a response_id of responses.csv{hint}; fix the id or "
                                    "remove the row"))
            continue
        if rec.response_id in seen:
            copies[rec.response_id] = copies.get(rec.response_id, 1) + 1
            times = "twice" if copies[rec.response_id] == 2 else f"{copies[rec.response_id]} times"
            problems.append(Problem(path, row, "response_id", rec.response_id,
                                    f"is coded {times} (first in row {seen[rec.response_id]}); "
                                    "keep one row"))
            continue
        seen[rec.response_id] = row
        code, why = _code_problem(rec.codes, response_question[rec.response_id], questions)
        if why:
            if code is not None and code != rec.codes.strip():  # name the code within the cell
                why = f"code {code!r} {why}"
            problems.append(Problem(path, row, "codes", rec.codes, why))
    return problems


def adjudication_of_agreed(adjudication: pd.DataFrame, codings: pd.DataFrame, path: str) -> list[Problem]:
    """An adjudication row for a response all its coders coded alike would silently override them."""
    if adjudication.empty:
        return []
    sets = codings.groupby("response_id")["codes"].agg(["nunique", "size"])
    agreed = set(sets.index[(sets["size"] >= 2) & (sets["nunique"] == 1)])
    problems = []
    for rec in adjudication.to_dict("records"):
        if rec["response_id"] in agreed:
            where = ({"sheet": rec["sheet"], "cell": rec["cell"]} if "sheet" in rec else {})
            problems.append(Problem(path, rec.get("spreadsheet_row"),
                                    None if where else "response_id", rec["response_id"],
                                    "is a response the coders agreed on; adjudication is only "
                                    "for disagreements, so remove the row (or correct a coder "
                                    "file)", **where))
    return problems


def scan_texts(responses: pd.DataFrame) -> pd.Series:
    """Per response, the ``;``-joined identifying kinds found in its text ('' if none)."""
    return responses["text"].map(lambda t: ";".join(identifying_kinds(t)))


def normalise_code_column(codes, question, questions) -> list[str]:
    return [normalise_codes(v, q, questions) for v, q in zip(codes, question, strict=True)]
