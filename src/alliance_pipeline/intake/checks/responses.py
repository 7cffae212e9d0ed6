"""The checks of responses.csv.

Response ids (:data:`RESPONSE_ID`), participant ids (pseudonyms: the cohort's
``participant_id_pattern``, and ids differing only in case or zero-padding, P05/p05/P5,
taken as one person), time points, questions and one response per participant, question,
time point and item. The form exports' reader (:mod:`alliance_pipeline.intake.sources.survey`)
uses :func:`participant_key` and :func:`similar_id_message` too.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from alliance_pipeline.common.hints import did_you_mean
from alliance_pipeline.common.privacy import distinct_id_problems, joined_cells
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.read.csv_cells import ascii_without_whitespace

RESPONSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
RESPONSE_ID_CHARACTERS = "ASCII letters and digits, then also _ - ."
_RESPONSE_IDS = re.compile(f"(?:{RESPONSE_ID.pattern}\n)*{RESPONSE_ID.pattern}")  # one per line


def foreign_character(value: str) -> str | None:
    """The first character of an id outside :data:`RESPONSE_ID_CHARACTERS`, named."""
    for char in value:
        if not (char.isascii() and (char.isalnum() or char in "_.-")):
            name = unicodedata.name(char, "a control character")
            return f"{name} (U+{ord(char):04X})"
    return None


def strip_cells(column: pd.Series) -> pd.Series:
    """``column.str.strip()``, in one pass over the cells (a column of strings). A column of
    ASCII text without any whitespace (ids, codes: most columns) is returned as it is, not
    rebuilt (building a column of strings costs more than searching it)."""
    values = column.to_numpy(dtype=object)
    if ascii_without_whitespace(values):
        return column
    try:
        cells = [v.strip() for v in values]
    except AttributeError:  # a cell that is not a string
        return column.str.strip()
    return pd.Series(cells, index=column.index, dtype=column.dtype, name=column.name)


_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def participant_key(participant_id: str) -> str:
    """The id with case folded and leading zeros of each number removed: ``P05`` -> ``p5``."""
    return _LEADING_ZEROS.sub("", participant_id.casefold())


def participant_keys(participant_ids) -> list[str]:
    """:func:`participant_key` of each id, folded and stripped of zeros all at once (case
    folding goes letter by letter and no zero run crosses a line, so joining the ids one per
    line gives each its own key)."""
    text = joined_cells(participant_ids)
    if text is None or not len(participant_ids):
        return [participant_key(pid) for pid in participant_ids]
    return _LEADING_ZEROS.sub("", text.casefold()).split("\n")


def similar_id_message(other: str, where: str) -> str:
    """Why a participant id is refused that differs from ``other`` (found ``where``, e.g.
    "row 4" or "in pre1.csv") only in case or zero-padding."""
    return (f"differs from {other!r} ({where}) only in upper/lower case or leading zeros, so "
            "the two would be taken as different people; write the same id for the same "
            "person, or set privacy.allow_similar_participant_ids: true in config/config.yaml "
            "if they really are different people")


def _similar_participant_ids(frame: pd.DataFrame, path: str, distinct: np.ndarray) -> list[Problem]:
    """Ids that differ only in case or zero-padding (P05, p05, P5) are probably one person.

    ``distinct``: the ids in the order they first appear. Only the rows whose id shares its
    :func:`participant_key` with another id are walked."""
    ids = frame["participant_id"]
    distinct = distinct[distinct != ""]
    keys = pd.Series(participant_keys(distinct), dtype=object)
    shared = set(keys[keys.duplicated(keep=False)])
    if not shared:
        return []
    key_of = dict(zip(distinct, keys, strict=True))
    first: dict[str, tuple[str, int]] = {}
    reported: set[str] = set()
    problems = []
    for pid, row in zip(ids, frame["spreadsheet_row"], strict=True):
        if not pid or key_of[pid] not in shared:
            continue
        key = key_of[pid]
        if key not in first:
            first[key] = (pid, row)
        elif first[key][0] != pid and pid not in reported:
            reported.add(pid)
            other, other_row = first[key]
            problems.append(Problem(path, row, "participant_id", pid,
                                    similar_id_message(other, f"row {other_row}")))
    return problems


def _located(frame: pd.DataFrame, path: str, column: str, mask, why) -> list[Problem]:
    """A problem in ``column`` for each row of ``mask``; ``why(value)`` says what is wrong."""
    at = np.flatnonzero(np.asarray(mask, dtype=bool))
    values = frame[column].to_numpy(dtype=object)[at]
    rows = frame["spreadsheet_row"].to_numpy()[at]
    return [Problem(path, int(row), column, value, why(value))
            for row, value in zip(rows, values, strict=True)]


def _response_id_problems(frame: pd.DataFrame, path: str) -> list[Problem]:
    """Empty, malformed (:data:`RESPONSE_ID`) and repeated response ids."""
    ids = frame["response_id"]
    empty = (ids == "").to_numpy()
    text = joined_cells(ids.to_numpy(dtype=object))
    if text is not None and _RESPONSE_IDS.fullmatch(text):  # every id well formed
        well = np.ones(len(ids), dtype=bool)
    else:
        well = np.fromiter((RESPONSE_ID.fullmatch(v) is not None for v in ids), dtype=bool,
                           count=len(ids))

    def malformed(value: str) -> str:
        foreign = foreign_character(value)
        what = (f"contains {foreign}" if foreign else "does not start with a letter or digit")
        return (f"{what}; response ids are made of {RESPONSE_ID_CHARACTERS} (a look-alike letter "
                "of another alphabet or an invisible mark would not match the coder files): "
                "retype the id")

    problems = _located(frame, path, "response_id", empty,
                        lambda _: "is empty; every response needs a unique id")
    problems += _located(frame, path, "response_id", ~empty & ~well, malformed)
    repeated = np.zeros(len(ids), dtype=bool)
    repeated[well] = ids[well].duplicated().to_numpy()
    if repeated.any():
        first = dict(zip(ids[well & ~repeated], frame["spreadsheet_row"][well & ~repeated], strict=True))
        problems += _located(frame, path, "response_id", repeated,
                             lambda value: f"is a duplicate of row {first[value]}; ids must be "
                                           "unique, give one of them a new id")
    return problems


def _participant_id_problems(frame: pd.DataFrame, path: str, id_pattern: str,
                             participant: tuple[np.ndarray, np.ndarray]) -> list[Problem]:
    """Empty participant ids, and ids that are not pseudonyms (:func:`participant_id_problems`
    of each distinct id: ``participant`` is the column factorized)."""
    ids = frame["participant_id"]
    empty = (ids == "").to_numpy()
    problems = _located(frame, path, "participant_id", empty,
                        lambda _: "is empty; give every response its participant's pseudonym")
    numbers, distinct = participant
    why = distinct_id_problems(distinct, id_pattern)[numbers]
    rows = frame["spreadsheet_row"].to_numpy()
    problems += [Problem(path, int(rows[at]), "participant_id", ids.iloc[at], why[at])
                 for at in np.flatnonzero(~empty & pd.notna(why))]
    return problems


def _design_problems(frame: pd.DataFrame, path: str, timepoints: list[str], questions: dict,
                     timepoint: tuple[np.ndarray, np.ndarray], question: tuple[np.ndarray, np.ndarray]
                     ) -> tuple[list[Problem], list[Problem]]:
    """(time points not of the study, questions not of the codebook or asked at another time
    point): a row has at most one of each. ``timepoint``, ``question``: the columns factorized."""
    study_tp = _known(timepoint, timepoints)
    known_q = _known(question, list(questions))
    wrong_tp = _located(frame, path, "timepoint", ~study_tp,
                        lambda value: f"is not a study time point ({', '.join(timepoints)})"
                                      f"{did_you_mean(value, timepoints)}; correct it, or add it "
                                      "to study.timepoints in config/config.yaml")
    located = [(p.row, p) for p in _located(
        frame, path, "question", ~known_q,
        lambda value: f"is not a question of the codebook ({', '.join(questions)})"
                      f"{did_you_mean(value, questions)}; correct it, or add the question to "
                      "the codebook")]
    for name, spec in questions.items():
        asked = ", ".join(spec["timepoints"])
        elsewhere = _known(question, [name]) & study_tp & ~_known(timepoint, spec["timepoints"])
        located += [(p.row, p) for p in _located(
            frame, path, "timepoint", elsewhere,
            lambda value, name=name, asked=asked: (
                f"is not a time point of question {name} (asked only at {asked}); correct the "
                "time point or the question, or add the time point to the question's "
                "timepoints in the codebook"))]
    return wrong_tp, [p for _, p in sorted(located, key=lambda item: item[0] or 0)]


def _known(factorized: tuple[np.ndarray, np.ndarray], values: list[str]) -> np.ndarray:
    """Per row of a factorized column, whether its value is one of ``values``."""
    numbers, distinct = factorized
    return np.isin(distinct, values)[numbers]


def _repeated_responses(frame: pd.DataFrame, path: str, keyed: list[np.ndarray],
                        counted: np.ndarray) -> list[Problem]:
    """A second response of a participant to a question at a time point (and item): ``keyed``
    holds the numbers of those columns' values, ``counted`` the rows taken into account."""
    key = np.zeros(len(frame), dtype=np.int64)
    for numbers in keyed:  # one number per combination so far, kept below the rows squared
        key, _ = pd.factorize(key * (int(numbers.max(initial=0)) + 1) + numbers)
    at = np.flatnonzero(counted)
    repeated = at[pd.Series(key[at]).duplicated(keep=False).to_numpy()]
    if not len(repeated):
        return []
    has_item = "item" in frame.columns
    what = "participant, question, time point" + (" and item" if has_item else "")
    fix = ("give each a distinct item" if has_item else
           "add an `item` column if participants answered several items, or remove the duplicate")
    rows, ids = frame["spreadsheet_row"].to_numpy(), frame["participant_id"].to_numpy(dtype=object)
    problems = []
    for group in pd.Series(repeated).groupby(key[repeated], sort=False):
        first, *later = group[1].tolist()
        problems += [Problem(path, int(rows[at]), "participant_id", ids[first],
                             f"has a second response for the same {what} as row {rows[first]}; {fix}")
                     for at in later]
    return problems


def validate_responses(frame: pd.DataFrame, path: str, *, timepoints: list[str],
                       questions: dict, id_pattern: str, allow_similar_ids: bool = False
                       ) -> list[Problem]:
    """Contract rules for responses.csv (ids, time points, questions, pseudonyms, items), each
    checked over its whole column (each column hashed once: :func:`pandas.factorize`);
    problems in row order, within a row in the order response id, participant id, time
    point, question, repeated response, similar participant id."""
    for column in ("response_id", "participant_id", "timepoint", "question"):
        frame[column] = strip_cells(frame[column])
    participant, timepoint, question = (
        pd.factorize(frame[column].to_numpy(dtype=object))
        for column in ("participant_id", "timepoint", "question"))
    problems = _response_id_problems(frame, path)
    problems += _participant_id_problems(frame, path, id_pattern, participant)
    wrong_tp, wrong_question = _design_problems(frame, path, timepoints, questions, timepoint,
                                                question)
    problems += wrong_tp + wrong_question
    keyed = [participant[0], question[0], timepoint[0]]
    if "item" in frame.columns:
        keyed.append(pd.factorize(strip_cells(frame["item"]).to_numpy(dtype=object))[0])
    counted = ((frame["participant_id"] != "").to_numpy() & _known(timepoint, timepoints)
               & _known(question, list(questions)))
    problems += _repeated_responses(frame, path, keyed, counted)
    if not allow_similar_ids:
        problems += _similar_participant_ids(frame, path, participant[1])
    problems.sort(key=lambda p: (p.row or 0))
    return problems
