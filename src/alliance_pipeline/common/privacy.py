"""Pseudonymity checks: participant ids and free texts.

Participant ids must be pseudonyms: an id that looks like an e-mail address or a phone
number is refused with its own message, and every id must match the configured pattern
(default: a letter, then up to 31 letters, digits, ``_`` or ``-``, which also refuses bare
student numbers). Free texts are scanned for e-mail addresses and phone numbers; the
worksheet meant for sharing withholds such texts unless the config allows them.

Masking (the end of this module): what a message or log may show of a value. A value from a
column whose name says it holds e-mail addresses, phone numbers or names is masked whole
(``taro@example.org`` -> ``t***@e***.org``, ``Taro Yamada`` -> ``T*** Y***``); in any other
value and in a message itself the e-mail addresses and phone numbers found here are masked
(:func:`mask_value`, :func:`mask_text`).
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


# ---- masking: what a message may show of a value (intake's problems, logs) ----

# Header names of columns holding personal data (English and Japanese form tools, Qualtrics'
# RecipientEmail / RecipientFirstName / RecipientLastName).
PERSONAL_COLUMN = re.compile(r"e-?mail|mail|phone|mobile|\btel\b|name|氏名|名前|メール|電話|携帯",
                             re.IGNORECASE)


# "name" columns that name a thing, not a person (REDCap's redcap_event_name, a file's or a
# sheet's name): their values are shown as they are
NOT_PERSONAL = re.compile(r"(event|arm|instrument|field|file|sheet|form|survey|group|code)[ _-]?name",
                          re.IGNORECASE)


def personal_column(column: str | None) -> bool:
    """Whether a column's header says it holds e-mail addresses, phone numbers or names."""
    if column is None or PERSONAL_COLUMN.search(column) is None:
        return False
    return not (NOT_PERSONAL.search(column) and not re.search(r"mail|phone|mobile|\btel\b", column, re.I))


def _mask_email(address: str) -> str:
    """``taro.yamada@uni.example.jp`` -> ``t***@u***.jp``: first letters and the top-level domain."""
    local, _, domain = address.partition("@")
    top = domain.rsplit(".", 1)[-1] if "." in domain else ""
    return f"{local[:1]}***@{domain[:1]}***" + (f".{top}" if top else "")


def _mask_digits(number: str) -> str:
    """Every digit but the last two as ``*``: ``090-1234-5678`` -> ``***-****-**78``."""
    total = sum(c.isdigit() for c in number)
    seen, out = 0, []
    for c in number:
        if c.isdigit():
            seen += 1
            out.append(c if seen > total - 2 else "*")
        else:
            out.append(c)
    return "".join(out)


def mask_text(text: str) -> str:
    """``text`` with its e-mail addresses and phone numbers masked (width-folded first, as
    :func:`identifying_kinds` reads them)."""
    if not identifying_kinds(text):
        return text
    masked = _mask_matches(text)
    if identifying_kinds(masked):  # full width or Japanese dashes: only the folded form matches
        masked = _mask_matches(_fold(masked))
    return masked


def _mask_matches(text: str) -> str:
    text = EMAIL.sub(lambda m: _mask_email(m.group()), text)
    return PHONE.sub(lambda m: _mask_digits(m.group()) if "phone" in identifying_kinds(m.group())
                     else m.group(), text)


def mask_value(value: str, column: str | None) -> str:
    """A value as a message may show it: whole-masked from a personal column, else
    :func:`mask_text`."""
    if not personal_column(column) or not value.strip():
        return mask_text(value)
    if "@" in value or "＠" in value:
        return mask_text(value) if identifying_kinds(value) else value[:1] + "***"
    if sum(c.isdigit() for c in value) >= 6:
        return _mask_digits(value)
    return " ".join(word[:1] + "***" for word in value.split())
