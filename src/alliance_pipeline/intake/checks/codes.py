"""The checks of coder files (codes/<coder>.csv) and adjudication.csv, and normalised codes.

A coded response must be a response of responses.csv (a mistyped id is matched to the one
meant, folding width, look-alike letters of other alphabets, invisible marks, case and
zero-padding), coded once, with codes of its question's codebook (single-label questions:
at most one). Codes are normalised to codebook order, ``;``-joined. Across files: two coder
files with the same bytes (a copied file, which would inflate agreement) and adjudication of
a response its coders agreed on (which would silently override them).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from alliance_pipeline.common.hints import did_you_mean
from alliance_pipeline.common.provenance import sha256_file  # the project's one file hasher
from alliance_pipeline.intake.checks.responses import (
    foreign_character,
    participant_key,
    strip_cells,
)
from alliance_pipeline.intake.problems import Problem


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(";") if c.strip()]


# Letters of other alphabets that look like Latin ones (Cyrillic, Greek).
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХУаеорсухіјѕΑΒΕΖΗΙΚΜΝΟΡΤΥΧοі",
                            "ABEKMHOPCTXYaeopcyxijsABEZHIKMNOPTYXoi")


def _id_key(value: str) -> str:
    """An id folded for "did you mean": width (NFKC), look-alike letters, invisible marks,
    case and leading zeros."""
    folded = unicodedata.normalize("NFKC", value).translate(_LOOKALIKES)
    folded = "".join(c for c in folded if unicodedata.category(c) not in ("Cf", "Cc", "Zs"))
    return participant_key(folded)


SEPARATOR_LOOKALIKES = (",", "\uff1b", "\u3001", "\uff0c", " ", "|", "/")  # , ； 、 ， space | /


def _code_problem(value: str, question: str, questions: dict) -> tuple[str | None, str | None]:
    """(the offending code or None for the whole cell, why) or (None, None) when valid."""
    codes = _split_codes(value)
    own = questions[question]["codes"]
    for code in codes:
        if code not in own:
            other = [q for q, spec in questions.items() if code in spec["codes"]]
            if other:
                return code, (f"belongs to question {other[0]}, not {question} "
                              f"(codes of {question}: {', '.join(own)})")
            if any(sep in code for sep in SEPARATOR_LOOKALIKES):
                return code, (f"is not a code of question {question} ({', '.join(own)}); "
                              "separate several codes with a semicolon, e.g. hooked;anxious")
            return code, (f"is not a code of question {question} ({', '.join(own)})"
                          f"{did_you_mean(code, own)}")
    if len(set(codes)) != len(codes):
        return None, "lists the same code twice; keep it once"
    if not questions[question]["multi_label"] and len(codes) > 1:
        return None, (f"question {question} is single-label: give at most one code "
                      "(settle on one in the consensus meeting)")
    return None, None


def normalise_codes(value: str, question: str, questions: dict) -> str:
    """Codes in codebook order, ``;``-joined."""
    codes = set(_split_codes(value))
    return ";".join(c for c in questions[question]["codes"] if c in codes)


def per_pair(values, question, function) -> tuple[np.ndarray, np.ndarray]:
    """``(pair, results)``: ``function(value, question)`` computed once per distinct pair of a
    row's value and question (a column of codes holds few distinct code lists per question),
    ``results[pair]`` being each row's. ``question``: each row's, or a Categorical of them."""
    value_at, value_of = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    if isinstance(question, pd.Categorical):
        question_of = np.array([*question.categories, None], dtype=object)
        question_at = np.where(question.codes < 0, len(question_of) - 1, question.codes)
    else:
        question_at, question_of = pd.factorize(np.asarray(question, dtype=object),
                                                use_na_sentinel=False)
    size = max(len(question_of), 1)
    pair, distinct = pd.factorize(value_at.astype(np.int64) * size + question_at)
    results = np.empty(len(distinct), dtype=object)
    for i, number in enumerate(distinct):  # one by one: a tuple is one result, not a row
        results[i] = function(value_of[number // size], question_of[number % size])
    return pair, results


class ResponseLookup(NamedTuple):
    """A cohort's responses ready for look-ups by response id (:func:`response_lookup`)."""

    keys: np.ndarray  # the response ids, in the order of responses.csv
    hashed: pd.Index  # the same, hashed
    questions: pd.Categorical  # each response's question, and a missing one last (for -1)


def response_lookup(response_question: dict[str, str] | ResponseLookup) -> ResponseLookup:
    """The responses of ``response_question`` (id -> question) ready for look-ups; a lookup
    is returned as it is (intake makes one for a cohort: :func:`lookup_of_responses`)."""
    if isinstance(response_question, ResponseLookup):
        return response_question
    return lookup_of_responses(list(response_question), list(response_question.values()))


def lookup_of_responses(ids, questions) -> ResponseLookup:
    """The lookup of responses with these (unique) ``ids`` and their ``questions``."""
    keys = np.array(ids, dtype=object)  # a copy: the caller's column may change later
    asked = np.empty(len(keys) + 1, dtype=object)  # each response's question, None last
    asked[:-1] = np.asarray(questions, dtype=object)
    numbers, names = pd.factorize(asked)
    return ResponseLookup(keys, pd.Index(keys),
                          pd.Categorical.from_codes(numbers, categories=pd.Index(names)))


def response_positions(ids, response_question: dict[str, str] | ResponseLookup) -> np.ndarray:
    """The position of each response id among the keys of ``response_question`` (-1 for an
    id not there): the positions in order when the ids are those keys in their order (a coder
    file made from responses.csv), else one hashed look-up of the whole column."""
    lookup = response_lookup(response_question)
    ids = np.asarray(ids, dtype=object)
    if len(ids) == len(lookup.keys) and bool((ids == lookup.keys).all()):
        return np.arange(len(ids))
    return lookup.hashed.get_indexer(ids)


def _unknown_id(value: str, near: dict[str, str], source: str = "responses.csv") -> str:
    """Why a coded response id is not one of ``source``'s, with the id probably meant."""
    hint = ""
    meant = near.get(_id_key(value))
    if meant:
        foreign = foreign_character(value)
        hint = (f" (it looks like {meant!r}" + (f" but contains {foreign}" if foreign else "")
                + f"; write it as {meant!r})")
    return f"is not a response_id of {source}{hint}; fix the id or remove the row"


class CheckedCoding(NamedTuple):
    """What :func:`check_coding` found in a coder file or adjudication.csv."""

    problems: list[Problem]
    positions: np.ndarray  # per row, its response's position in responses.csv (-1: unknown)
    codes: np.ndarray  # per row, its codes normalised (None for a row with a problem)


def validate_coding(frame: pd.DataFrame, path: str, *,
                    response_question: dict[str, str] | ResponseLookup,
                    questions: dict, source: str = "responses.csv") -> list[Problem]:
    """The problems of :func:`check_coding`."""
    return check_coding(frame, path, response_question=response_question, questions=questions,
                        source=source).problems


def check_coding(frame: pd.DataFrame, path: str, *,
                 response_question: dict[str, str] | ResponseLookup,
                 questions: dict, source: str = "responses.csv",
                 code_checks: dict | None = None) -> CheckedCoding:
    """Contract rules for one coder file or adjudication.csv, a column at a time; a row gets
    at most one problem, the first of: an unknown response id, a response coded again, its
    codes (:func:`_code_problem`). ``source``: where the responses come from, for the
    messages (responses.csv or a cohort's survey exports). The codes of the rows without a
    problem are normalised (:func:`normalise_codes`) in the same pass, each distinct cell of
    a question once; ``code_checks`` (``(cell, question) -> result``) keeps the results for
    the cohort's next file, whose coders wrote mostly the same code lists."""
    memo = {} if code_checks is None else code_checks
    frame["response_id"] = strip_cells(frame["response_id"])
    ids = frame["response_id"].to_numpy(dtype=object)
    rows = frame["spreadsheet_row"].to_numpy()
    found: list[tuple[int, Problem]] = []  # (position in the frame, problem)
    lookup = response_lookup(response_question)
    at_response = response_positions(ids, lookup)
    known = at_response >= 0
    unknown = np.flatnonzero(~known)
    if len(unknown):
        near: dict[str, str] = {}  # folded id -> id of responses.csv
        for id_ in lookup.keys:
            near.setdefault(_id_key(id_), id_)
        found += [(int(at), Problem(path, int(rows[at]), "response_id", ids[at],
                                    _unknown_id(ids[at], near, source))) for at in unknown]
    coded = np.flatnonzero(known)
    occurrence: np.ndarray = np.zeros(len(coded), dtype=np.int64)
    positions = at_response[coded]  # the same position: the same response id
    if not (np.diff(positions) > 0).all() and pd.Series(positions).duplicated().any():
        occurrence = pd.Series(positions).groupby(positions, sort=False).cumcount().to_numpy()
        first_row: dict[str, int] = {}
        for at, n in zip(coded, occurrence, strict=True):
            if n == 0:
                first_row[ids[at]] = int(rows[at])
                continue
            times = "twice" if n == 1 else f"{n + 1} times"
            found.append((int(at), Problem(path, int(rows[at]), "response_id", ids[at],
                                      f"is coded {times} (first in row {first_row[ids[at]]}); "
                                      "keep one row")))
    first = coded[occurrence == 0]
    codes = frame["codes"].to_numpy(dtype=object)[first]

    def checked(value: str, name: str) -> tuple[str | None, str] | str:
        """(the offending code, why), or the codes normalised when valid."""
        if (value, name) not in memo:
            code, why = _code_problem(value, name, questions)
            memo[value, name] = normalise_codes(value, name, questions) if why is None else (code, why)
        return memo[value, name]

    pair, results = per_pair(codes, lookup.questions[at_response[first]], checked)
    valid = np.array([isinstance(result, str) for result in results], dtype=bool)
    normalised = np.full(len(ids), None, dtype=object)
    normalised[first] = results[pair]
    failed = np.flatnonzero(~valid[pair])
    normalised[first[failed]] = None
    for at, value, (code, why) in zip(first[failed], codes[failed], results[pair[failed]],
                                      strict=True):
        if code is not None and code != value.strip():  # name the code within the cell
            why = f"code {code!r} {why}"
        found.append((int(at), Problem(path, int(rows[at]), "codes", value, why)))
    return CheckedCoding([problem for _, problem in sorted(found, key=lambda item: item[0])],
                         at_response, normalised)


def copied_coder_files(paths: list[Path]) -> list[Problem]:
    """Two coder files with the same bytes: probably one coder's file saved twice, which
    would show perfect agreement that never happened."""
    sizes = [path.stat().st_size for path in paths]
    first: dict[str, Path] = {}
    warnings = []
    for path, size in zip(paths, sizes, strict=True):
        if sizes.count(size) < 2:
            continue  # files of different sizes differ: only those of a shared size are hashed
        digest = sha256_file(path)
        if digest in first:
            warnings.append(Problem(str(path), None, None, None,
                                    f"is byte-for-byte the same file as {first[digest].name}; if "
                                    "one coder's file was copied in place of another's, agreement "
                                    "is inflated: put the right coder's file here"))
        else:
            first[digest] = path
    return warnings


def adjudication_of_agreed(adjudication: pd.DataFrame, codings: pd.DataFrame, path: str,
                           positions: tuple[np.ndarray, np.ndarray] | None = None) -> list[Problem]:
    """An adjudication row for a response all its coders coded alike would silently override them.

    ``positions``: (per codings row, per adjudication row) a number of the response, the same
    number for the same response id (intake passes their positions in responses.csv, which
    it has already looked up); without them the ids are numbered here."""
    if adjudication.empty:
        return []
    if positions is None:
        ids = np.concatenate([codings["response_id"].to_numpy(dtype=object),
                              adjudication["response_id"].to_numpy(dtype=object)])
        numbers, _ = pd.factorize(ids)
        positions = numbers[:len(codings)], numbers[len(codings):]
    coded_at, adjudicated_at = positions
    size = int(max(coded_at.max(initial=-1), adjudicated_at.max(initial=-1))) + 1
    is_adjudicated = np.zeros(size, dtype=bool)
    is_adjudicated[adjudicated_at] = True
    rows = np.flatnonzero(is_adjudicated[coded_at])
    response = coded_at[rows]
    code_set, _ = pd.factorize(codings["codes"].to_numpy(dtype=object)[rows])  # a number per set
    sizes = np.bincount(response, minlength=size)
    last = np.zeros(size, dtype=code_set.dtype)
    last[response] = code_set  # one of each response's code sets: all equal it when agreed
    differing = np.bincount(response, weights=code_set != last[response], minlength=size)
    agreed = (sizes >= 2) & (differing == 0)
    problems = []
    flagged = adjudication[agreed[adjudicated_at]]
    for rec in flagged.to_dict("records"):
        where = ({"sheet": rec["sheet"], "cell": rec["cell"]} if "sheet" in rec else {})
        problems.append(Problem(path, rec.get("spreadsheet_row"),
                                None if where else "response_id", rec["response_id"],
                                "is a response the coders agreed on; adjudication is only "
                                "for disagreements, so remove the row (or correct a coder "
                                "file)", **where))
    return problems
