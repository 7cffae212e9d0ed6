"""Full-width and look-alike characters in participant ids, ticks and codes.

Japanese input writes letters and digits in full width (``Ｐ０５``, ``１``, ``ｘ``); to the
person reading they look exactly right. Participant ids (responses.csv, the survey exports),
the codes of the coders' CSV files and the tick and code cells of filled workbooks are read
after Unicode NFKC normalisation (UAX #15: compatibility characters to their ordinary form,
so full-width ``Ｐ０５`` is ``P05``, ``１`` is ``1``, ``ｘ`` is ``x``, the ideographic space
a space) and every value that changed is listed as a warning (:class:`WidthFolding`). Response
texts are never normalised. A value still refused is shown as it was typed, and its
characters outside ASCII are named (:func:`character_note`, e.g. "full-width digit ONE,
U+FF11"), since on screen a look-alike letter of another alphabet cannot be told apart.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

import pandas as pd

from alliance_pipeline.common.privacy import joined_cells
from alliance_pipeline.intake.problems import Problem

_WORDS = {"FULLWIDTH": "full-width", "HALFWIDTH": "half-width", "LATIN": "Latin",
          "CYRILLIC": "Cyrillic", "GREEK": "Greek", "HIRAGANA": "hiragana",
          "KATAKANA": "katakana", "CJK": "CJK"}


def fold(value: str) -> str:
    """``value`` in NFKC form (full-width letters and digits as ASCII)."""
    return unicodedata.normalize("NFKC", value)


def describe(char: str) -> str:
    """A character's Unicode name, readable, and its code point: ``１`` ->
    ``full-width digit ONE, U+FF11``; ``Р`` -> ``Cyrillic capital letter ER, U+0420``."""
    name = unicodedata.name(char, "")
    if not name:
        return f"a control character, U+{ord(char):04X}"
    words = name.split()
    # the kind of character in lower case, the character itself as Unicode names it
    cut = next((i + 1 for i, w in enumerate(words) if w in ("LETTER", "DIGIT", "LIGATURE")),
               len(words))
    readable = [_WORDS.get(w, w.lower()) for w in words[:cut]] + words[cut:]
    return " ".join(readable) + f", U+{ord(char):04X}"


def character_note(typed: str, read: str | None = None) -> str:
    """Why a refused value that looks right may be wrong: its characters outside ASCII named.

    ``typed`` is the value as written, ``read`` its NFKC form (computed when not given).
    Characters still outside ASCII after normalisation are named first (look-alike letters
    of other alphabets, invisible marks); otherwise the full-width characters normalisation
    turned into ASCII, with what they were read as. "" when ``typed`` is ASCII.
    """
    read = fold(typed) if read is None else read
    left = list(dict.fromkeys(c for c in read if not c.isascii()))
    if left:
        named = "; ".join(describe(c) for c in left[:3])
        guess = ("a look-alike letter of another alphabet? " if any(
                     unicodedata.name(c, "").startswith(("CYRILLIC", "GREEK")) for c in left) else
                 "an invisible mark? " if any(unicodedata.category(c)[0] in "CZ" for c in left)
                 else "")
        return f" (it contains {named}, not an ASCII character: {guess}retype it in half-width ASCII)"
    wide = list(dict.fromkeys(c for c in typed if not c.isascii()))
    wide.sort(key=lambda c: fold(c).isalnum())  # a full-width sign is the likelier culprit
    if not wide:
        return ""
    named = "; ".join(f"{describe(c)}, read as {fold(c)!r}" for c in wide[:3])
    return f" (typed in full width: {named})"


class WidthFolding:
    """NFKC normalisation of the values of one or more files, remembering what changed:
    one warning per distinct value of a file and column (its first place and how often)."""

    def __init__(self) -> None:
        self._changed: dict[tuple, list] = {}

    def value(self, typed: str, *, file: str, column: str | None, row: int | None = None,
              sheet: str | None = None, cell: str | None = None) -> str:
        """``typed`` normalised; a change is remembered with the place given."""
        read = fold(typed)
        if read != typed:
            key = (file, sheet, column, typed)
            if key in self._changed:
                self._changed[key][2] += 1
            else:
                self._changed[key] = [dict(file=file, row=row, column=column, sheet=sheet,
                                           cell=cell), read, 1]
        return read

    def column(self, frame: pd.DataFrame, column: str, file: str) -> None:
        """Normalise ``frame[column]`` in place (rows located by ``spreadsheet_row``)."""
        if column not in frame.columns:
            return
        typed = frame[column]
        text = joined_cells(typed.to_numpy(dtype=object))
        if text is not None and text.isascii():
            return  # NFKC leaves ASCII as it is
        read = typed.str.normalize("NFKC")
        changed = read != typed
        for value, row in zip(typed[changed], frame.loc[changed, "spreadsheet_row"], strict=True):
            self.value(value, file=file, column=column, row=int(row))
        frame[column] = read

    def warnings(self) -> list[Problem]:
        """One warning per changed value: what it was read as, and how many cells held it."""
        out = []
        for (_, _, _, typed), (where, read, count) in self._changed.items():
            also = f"; {count} cells hold it" if count > 1 else ""
            out.append(Problem(**where, value=typed,
                               message=f"is read as {read!r}: full-width or compatibility "
                                       f"characters normalised (Unicode NFKC){also}; type it "
                                       "in half-width (ASCII) to silence this warning"))
        return out


class _TypedValues(Mapping):
    """Spreadsheet row -> the value as typed (stripped), looked up only when asked (intake
    asks for the rows of its problems, mostly none)."""

    def __init__(self, values: pd.Series, rows: pd.Series) -> None:
        self._values, self._rows = values.to_numpy(dtype=object).copy(), rows.to_numpy()
        self._at: dict[int, int] | None = None

    def _positions(self) -> dict[int, int]:
        if self._at is None:
            self._at = {int(r): i for i, r in enumerate(self._rows)}
        return self._at

    def __getitem__(self, row: int) -> str:
        return self._values[self._positions()[row]].strip()

    def __iter__(self) -> Iterator[int]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())


def typed_values(frame: pd.DataFrame, column: str) -> Mapping[int, str]:
    """Spreadsheet row -> the value of ``column`` as typed (stripped), before :meth:`WidthFolding.column`."""
    if column not in frame.columns:
        return {}
    return _TypedValues(frame[column], frame["spreadsheet_row"])


def restore_typed(problems: list[Problem], column: str, typed: Mapping[int, str],
                  refused: Callable[[str], bool]) -> list[Problem]:
    """Problems about the normalised values of ``column`` shown with the value as typed
    (``typed``: :func:`typed_values`); where ``refused(value)`` (the value itself is refused,
    not, say, repeated) its characters outside ASCII are named (:func:`character_note`)."""
    out = []
    for p in problems:
        original = typed.get(p.row) if p.column == column and p.row is not None else None
        if original is not None and p.value is not None and p.value.strip() == fold(original).strip():
            note = character_note(original) if refused(p.value) else ""
            p = replace(p, value=original, message=p.message + note)
        out.append(p)
    return out
