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

import pandas as pd

from alliance_pipeline.config import did_you_mean
from alliance_pipeline.intake.problems import Problem
from alliance_pipeline.intake.responses import foreign_character, participant_key


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


def validate_coding(frame: pd.DataFrame, path: str, *, response_question: dict[str, str],
                    questions: dict, source: str = "responses.csv") -> list[Problem]:
    """Contract rules for one coder file or adjudication.csv (``source``: where the responses
    come from, for the messages: responses.csv or a cohort's survey exports)."""
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
                                    f"is not a response_id of {source}{hint}; fix the id or "
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


def copied_coder_files(paths: list[Path]) -> list[Problem]:
    """Two coder files with the same bytes: probably one coder's file saved twice, which
    would show perfect agreement that never happened."""
    from alliance_pipeline.provenance import sha256_file  # the project's one file hasher

    first: dict[str, Path] = {}
    warnings = []
    for path in paths:
        digest = sha256_file(path)
        if digest in first:
            warnings.append(Problem(str(path), None, None, None,
                                    f"is byte-for-byte the same file as {first[digest].name}; if "
                                    "one coder's file was copied in place of another's, agreement "
                                    "is inflated: put the right coder's file here"))
        else:
            first[digest] = path
    return warnings


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
