"""The reports' languages: one gettext message catalogue, the language in use, locale formats.

Every sentence, caption, header and figure label the reports generate is an English message
wrapped in :func:`_` (or :func:`ngettext` where a count decides the wording), with named
``{placeholders}`` filled by ``str.format`` *after* translation, so a translation may put
them in any order. The English text is the message id: the English report is the messages
themselves, untranslated (``gettext.NullTranslations``).

The catalogue is ``report/locale/<lang>/LC_MESSAGES/alliance_pipeline.po`` (Babel's
``pybabel extract / update``; see docs/languages.md). It is compiled in memory when a
report is built (Babel's ``read_po`` and ``write_mo``), so no ``.mo`` file is committed
and none can be stale; fuzzy entries are left out, as ``msgfmt`` does.

The language in use is a context (:func:`use_language`), not a parameter of every
section builder: a builder is still data in, Markdown out, and reads its words through
:func:`_`. Numbers keep the digits the English report prints (same rounding); only the
symbols of the locale are applied (:func:`localise_number`); dates are the locale's long
form (:func:`format_day`).
"""
from __future__ import annotations

import datetime as _dt
import gettext
import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DOMAIN = "alliance_pipeline"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE = "en"


@dataclass(frozen=True)
class Language:
    """A report language: its code and compiled catalogue."""

    code: str
    translations: gettext.NullTranslations

    @property
    def is_source(self) -> bool:
        return self.code == SOURCE_LANGUAGE


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_languages() -> list[str]:
    """English and every language with a catalogue under ``report/locale/``."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [SOURCE_LANGUAGE, *[c for c in found if c != SOURCE_LANGUAGE]]


def compile_catalogue(po: Path) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file, fuzzy entries left out (Babel)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as handle:
        catalog = read_po(handle)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@cache
def load_language(code: str) -> Language:
    """The language ``code`` with its catalogue compiled; English needs none."""
    if code == SOURCE_LANGUAGE:
        return Language(code, gettext.NullTranslations())
    po = po_path(code)
    if not po.exists():
        raise ValueError(f"report language {code!r} has no message catalogue ({po}); "
                         f"available: {', '.join(available_languages())}")
    return Language(code, gettext.GNUTranslations(io.BytesIO(compile_catalogue(po))))


_CURRENT: ContextVar[str] = ContextVar("report_language", default=SOURCE_LANGUAGE)


def current() -> Language:
    return load_language(_CURRENT.get())


@contextmanager
def use_language(code: str) -> Iterator[Language]:
    """Build text in language ``code`` inside the ``with`` block."""
    language = load_language(code)
    token = _CURRENT.set(code)
    try:
        yield language
    finally:
        _CURRENT.reset(token)


def _(message: str) -> str:
    """``message`` (English) in the language in use."""
    return current().translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that a count ``n`` calls for, in the language in use."""
    return current().translations.ngettext(singular, plural, int(n))


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a table of words); translate it
    with :func:`_` where it is used."""
    return message


def is_source() -> bool:
    """True when the report is being written in English (the messages themselves)."""
    return current().is_source


# ---------------------------------------------------------------- locale formats

def localise_number(text: str) -> str:
    """A number written the English way (``1,234.5``, ``-0.32``) with the locale's decimal,
    group and minus symbols; the digits (and so the rounding) are never changed."""
    code = _CURRENT.get()
    if code == SOURCE_LANGUAGE:
        return text
    from babel import numbers

    table = {".": numbers.get_decimal_symbol(code), ",": numbers.get_group_symbol(code),
             "-": numbers.get_minus_sign_symbol(code)}
    return "".join(table.get(ch, ch) for ch in text)


def format_count(n: int) -> str:
    """A whole number with the locale's grouping (``10,000``)."""
    code = _CURRENT.get()
    if code == SOURCE_LANGUAGE:
        return f"{int(n):,}"
    from babel.numbers import format_decimal

    return format_decimal(int(n), locale=code)


def format_day(day: _dt.date) -> str:
    """A date as the report shows it: ISO in English, the locale's long form otherwise
    (``2026年12月5日``)."""
    code = _CURRENT.get()
    if code == SOURCE_LANGUAGE:
        return day.isoformat()
    from babel.dates import format_date

    return format_date(day, format="long", locale=code)


def format_list(items: Sequence[str], conj: str = "and") -> str:
    """``a, b and c`` (English as the report always wrote it); the locale's list pattern
    otherwise (``a、b、c``); ``conj="or"`` for a disjunction."""
    items = list(items)
    if not items:
        return ""
    code = _CURRENT.get()
    if code == SOURCE_LANGUAGE:
        if len(items) == 1:
            return items[0]
        return ", ".join(items[:-1]) + f" {conj} " + items[-1]
    from babel.lists import format_list as babel_list

    return babel_list(items, style="or" if conj == "or" else "standard", locale=code)


_UNSPACED = {"ja", "zh", "ko"}  # scripts written without a space between sentences


def join_sentences(sentences: Sequence[str]) -> str:
    """Sentences of one paragraph: a space between them in English, none in Japanese."""
    return ("" if _CURRENT.get() in _UNSPACED else " ").join(sentences)


# ---------------------------------------------------------------- the codebook's own words

TRANSLATED_FIELDS = ("prompt", "label", "definition")  # codebook keys with <key>_<lang> beside them


def localised_questions(questions: Mapping) -> dict:
    """The study's questions (:func:`alliance_pipeline.config.settings.questions_settings`) with
    prompt, code labels and definitions in the language in use where the codebook gives
    them (``prompt_ja``, ``label_ja``, ``definition_ja``); the English text where not."""
    code = _CURRENT.get()
    if code == SOURCE_LANGUAGE:
        return dict(questions)
    out = {}
    for qid, q in questions.items():
        words = (q.get("translations") or {}).get(code) or {}
        q = dict(q)
        if words.get("prompt"):
            q["prompt"] = words["prompt"]
        if isinstance(q.get("labels"), Mapping):
            q["labels"] = {c: (words.get("labels") or {}).get(c) or text for c, text in q["labels"].items()}
        if isinstance(q.get("definitions"), Mapping):
            q["definitions"] = {c: (words.get("definitions") or {}).get(c) or text
                                for c, text in q["definitions"].items()}
        out[qid] = q
    return out


def localised(values: Mapping, key: str) -> str:
    """``values[key]`` in the language in use: ``values[f"{key}_{lang}"]`` when the config
    gives it (a study's ``title_ja``, a cohort's ``label_ja``), else ``values[key]``."""
    return str(values.get(f"{key}_{_CURRENT.get()}") or values.get(key) or "")


def untranslated(questions: Mapping, code: str) -> list[str]:
    """Codebook texts with no ``<key>_<code>`` beside them, as ``question.code.key`` (the
    report in ``code`` shows the English text for these and lists them in its appendix)."""
    out = []
    for qid, q in questions.items():
        words = (q.get("translations") or {}).get(code) or {}
        if q.get("prompt") and not words.get("prompt"):
            out.append(f"{qid}.prompt")
        for c in q.get("codes", []):
            if not (words.get("labels") or {}).get(c):
                out.append(f"{qid}.{c}.label")
            if (q.get("definitions") or {}).get(c) and not (words.get("definitions") or {}).get(c):
                out.append(f"{qid}.{c}.definition")
    return out
