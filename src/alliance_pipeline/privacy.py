"""Pseudonymity checks: participant ids and free texts.

Participant ids must be pseudonyms: an id that looks like an e-mail address or a phone
number is refused with its own message, and every id must match the configured pattern
(default: a letter, then up to 31 letters, digits, ``_`` or ``-``, which also refuses bare
student numbers). Free texts are scanned for e-mail addresses and phone numbers; the
worksheet meant for sharing withholds such texts unless the config allows them.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

# The look-behind starts a match only at the start of a run of address characters, so a long
# run without "@" is scanned once, not once per character (quadratic: minutes for 200 KB).
EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or Japanese/US style numbers: 9+ digits in groups, optional +country code.
# The boundaries are ASCII so that a number directly before or after Japanese text
# (電話090-1234-5678まで) is found; a sentence's full stop may follow it, a decimal part may not.
# A bare run of digits counts only when it looks like a Japanese phone number (0 + 9-10
# digits), so that ordinary numbers (100000000) are not flagged.
# Text is folded before matching: NFKC turns full-width digits, letters, ＠ and brackets into
# ASCII; the dashes Japanese text uses between digit groups (ー, −, ‐, –, —) become ``-``.
PHONE = re.compile(r"(?<![0-9A-Za-z_])(?<![0-9]\.)(?:\+\d{1,3}[\s-]?)?(?:\(?\d{1,4}\)?[\s-]?){2,4}"
                   r"\d{3,4}(?![0-9A-Za-z_]|\.[0-9])", re.ASCII)
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\uff0d"})

WITHHELD = "[text withheld: contains {kinds}; set privacy.allow_identifying_text to show it]"


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_DASHES)


def identifying_kinds(text: str) -> list[str]:
    """Which identifying patterns ``text`` contains: ``email``, ``phone`` (possibly both)."""
    folded = _fold(text)
    kinds = []
    if EMAIL.search(folded):
        kinds.append("email")
    if any(_is_phone(m.group()) for m in PHONE.finditer(folded)):
        kinds.append("phone")
    return kinds


def participant_id_problem(value: str, pattern: str) -> str | None:
    """Why ``value`` is not an acceptable pseudonymous participant id, or None."""
    folded = _fold(value)
    kinds = identifying_kinds(value)
    if "email" in kinds or "@" in folded:
        return "looks like an e-mail address; replace it with a pseudonym such as P01"
    digits_only = re.fullmatch(r"[0-9]+", folded) is not None
    if "phone" in kinds and (not digits_only or _looks_like_phone_digits(folded)):
        return "looks like a phone number; replace it with a pseudonym such as P01"
    if not re.fullmatch(pattern, value):
        if digits_only:
            return (f"looks like a student or staff number (digits only) and does not match "
                    f"the pseudonym pattern {pattern}; replace it with a pseudonym such as P01")
        return (f"does not match the pseudonym pattern {pattern}; use a pseudonym such as P01, "
                "or change privacy.participant_id_pattern in config/config.yaml")
    return None


def _is_phone(match: str) -> bool:
    if _digits(match) < 9:
        return False
    return not match.isdigit() or _looks_like_phone_digits(match)


def _looks_like_phone_digits(digits: str) -> bool:
    """A bare digit string that is a Japanese phone number (0 + 9 or 10 digits)."""
    return digits.startswith("0") and len(digits) in (10, 11)


# At most 8 ASCII digits: no phone number (9 digits or more) can be found in such text.
_FEW_DIGITS = re.compile(r"[^0-9]*(?:[0-9][^0-9]*){0,8}")
# Every byte but the ASCII digits and the line feed: deleted, a line of digits is left per cell.
_NOT_DIGITS = bytes(b for b in range(256) if not (48 <= b <= 57 or b == 10))


def joined_cells(cells) -> str | None:
    """A column's cells as one text, one cell per line, so that one regular expression scans
    the whole column; None when a cell is not a string or holds a line break."""
    try:
        text = "\n".join(cells)
    except TypeError:
        return None
    return text if text.count("\n") == max(len(cells) - 1, 0) else None


def _cannot_identify(text: str) -> bool:
    """True when :func:`identifying_kinds` of ``text`` is surely empty: ASCII text (which NFKC
    and the dash folding leave as it is) without "@" (every e-mail has one) and with at most
    8 digits (every phone number has 9)."""
    return text.isascii() and "@" not in text and _FEW_DIGITS.fullmatch(text) is not None


def _none_can_identify(cells) -> bool:
    """:func:`_cannot_identify` of every cell, tested once over the joined column."""
    text = joined_cells(cells)
    if text is None or not text.isascii() or "@" in text:
        return False
    digits = text.encode("ascii").translate(None, _NOT_DIGITS)  # each cell's digits, a line each
    return max(map(len, digits.split(b"\n"))) <= 8


def participant_id_problems(ids: pd.Series, pattern: str) -> pd.Series:
    """:func:`participant_id_problem` of each id (None when acceptable), computed once per
    distinct id (:func:`distinct_id_problems`)."""
    codes, distinct = pd.factorize(ids.to_numpy(dtype=object))
    out = np.empty(len(distinct) + 1, dtype=object)  # the last slot for a missing id (code -1)
    out[:len(distinct)] = distinct_id_problems(distinct, pattern)
    return pd.Series(out[codes], index=ids.index, dtype=object)


def distinct_id_problems(distinct: np.ndarray, pattern: str) -> np.ndarray:
    """:func:`participant_id_problem` of each of the ``distinct`` ids; an id that cannot
    identify (:func:`_cannot_identify`) and matches ``pattern`` is accepted at once, as
    :func:`participant_id_problem` would."""
    matches = re.compile(pattern).fullmatch
    plain = _none_can_identify(distinct)
    why = np.empty(len(distinct), dtype=object)
    why[:] = [None if (plain or _cannot_identify(v)) and matches(v)
              else participant_id_problem(v, pattern) for v in distinct]
    return why


def scan_texts(responses: pd.DataFrame) -> pd.Series:
    """Per response, the ``;``-joined identifying kinds found in its text ('' if none);
    computed once per distinct text, and only for the texts that could hold one
    (:func:`_cannot_identify`)."""
    codes, distinct = pd.factorize(responses["text"].to_numpy(dtype=object))
    kinds = np.full(len(distinct) + 1, "", dtype=object)
    if not _none_can_identify(distinct):
        kinds[:len(distinct)] = ["" if _cannot_identify(t) else ";".join(identifying_kinds(t))
                                 for t in distinct]
    return pd.Series(kinds[codes], index=responses.index, dtype="str")


def withhold_identifying(frame: pd.DataFrame, allow: bool) -> pd.DataFrame:
    """Replace texts flagged in ``identifying`` by a notice unless ``allow`` (for shared sheets)."""
    if allow or "identifying" not in frame.columns:
        return frame
    out = frame.copy()
    flagged = out["identifying"] != ""
    out.loc[flagged, "text"] = out.loc[flagged, "identifying"].map(
        lambda kinds: WITHHELD.format(kinds=kinds.replace(";", " and ")))
    return out
