"""The checks of responses.csv.

Response ids (:data:`RESPONSE_ID`), participant ids (pseudonyms: the cohort's
``participant_id_pattern``, and ids differing only in case or zero-padding, P05/p05/P5,
taken as one person), time points, questions and one response per participant, question,
time point and item. The form exports' reader (:mod:`alliance_pipeline.intake.survey`)
uses :func:`participant_key` and :func:`similar_id_message` too.
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

from alliance_pipeline.config import did_you_mean
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.privacy import participant_id_problem

RESPONSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESPONSE_ID_CHARACTERS = "ASCII letters and digits, then also _ - ."


def foreign_character(value: str) -> str | None:
    """The first character of an id outside :data:`RESPONSE_ID_CHARACTERS`, named."""
    for char in value:
        if not (char.isascii() and (char.isalnum() or char in "_.-")):
            name = unicodedata.name(char, "a control character")
            return f"{name} (U+{ord(char):04X})"
    return None


def participant_key(participant_id: str) -> str:
    """The id with case folded and leading zeros of each number removed: ``P05`` -> ``p5``."""
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", participant_id.casefold())


def similar_id_message(other: str, where: str) -> str:
    """Why a participant id is refused that differs from ``other`` (found ``where``, e.g.
    "row 4" or "in pre1.csv") only in case or zero-padding."""
    return (f"differs from {other!r} ({where}) only in upper/lower case or leading zeros, so "
            "the two would be taken as different people; write the same id for the same "
            "person, or set privacy.allow_similar_participant_ids: true in config/config.yaml "
            "if they really are different people")


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
