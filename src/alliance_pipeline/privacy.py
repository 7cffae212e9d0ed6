"""Pseudonymity checks: participant ids and free texts.

Participant ids must be pseudonyms: an id that looks like an e-mail address or a phone
number is refused with its own message, and every id must match the configured pattern
(default: a letter, then up to 31 letters, digits, ``_`` or ``-``, which also refuses bare
student numbers). Free texts are scanned for e-mail addresses and phone numbers; the
worksheet meant for sharing withholds such texts unless the config allows them.
"""
from __future__ import annotations

import re

import pandas as pd

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# International or Japanese/US style numbers: 9+ digits in groups, optional +country code.
# Full-width digits are folded to ASCII before matching (NFKC would also do it).
PHONE = re.compile(r"(?<![\w.])(?:\+\d{1,3}[\s-]?)?(?:\(?\d{1,4}\)?[\s-]?){2,4}\d{3,4}(?![\w.])")
_FULLWIDTH = str.maketrans("０１２３４５６７８９＋－（）", "0123456789+-()")

WITHHELD = "[text withheld: contains {kinds}; set privacy.allow_identifying_text to show it]"


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def identifying_kinds(text: str) -> list[str]:
    """Which identifying patterns ``text`` contains: ``email``, ``phone`` (possibly both)."""
    folded = text.translate(_FULLWIDTH)
    kinds = []
    if EMAIL.search(folded):
        kinds.append("email")
    if any(_digits(m.group()) >= 9 for m in PHONE.finditer(folded)):
        kinds.append("phone")
    return kinds


def participant_id_problem(value: str, pattern: str) -> str | None:
    """Why ``value`` is not an acceptable pseudonymous participant id, or None."""
    if identifying_kinds(value) == ["email"] or EMAIL.fullmatch(value.translate(_FULLWIDTH)):
        return "looks like an e-mail address; replace it with a pseudonym such as P01"
    if "phone" in identifying_kinds(value):
        return "looks like a phone number; replace it with a pseudonym such as P01"
    if not re.fullmatch(pattern, value):
        if value.isdigit():
            return (f"looks like a student or staff number and does not match the pseudonym "
                    f"pattern {pattern}; replace it with a pseudonym such as P01")
        return f"does not match the pseudonym pattern {pattern} (privacy.participant_id_pattern)"
    return None


def scan_texts(responses: pd.DataFrame) -> pd.Series:
    """Per response, the ``;``-joined identifying kinds found in its text ('' if none)."""
    return responses["text"].map(lambda t: ";".join(identifying_kinds(t)))


def withhold_identifying(frame: pd.DataFrame, allow: bool) -> pd.DataFrame:
    """Replace texts flagged in ``identifying`` by a notice unless ``allow`` (for shared sheets)."""
    if allow or "identifying" not in frame.columns:
        return frame
    out = frame.copy()
    flagged = out["identifying"] != ""
    out.loc[flagged, "text"] = out.loc[flagged, "identifying"].map(
        lambda kinds: WITHHELD.format(kinds=kinds.replace(";", " and ")))
    return out
