"""Personal data kept out of intake's messages and logs.

A message shows the value it is about (:class:`alliance_pipeline.intake.problems.Problem`);
a value from a column whose name says it holds e-mail addresses, phone numbers or names is
masked whole (``taro@example.org`` -> ``t***@e***.org``, ``Taro Yamada`` -> ``T*** Y***``),
and in any other value and in the message itself the e-mail addresses and phone numbers
:mod:`alliance_pipeline.privacy` finds are masked. A participant column whose values are
e-mail addresses (the e-mail column chosen by mistake) is refused as a whole, naming no
address (:func:`email_column_problem`).
"""
from __future__ import annotations

import re
from collections.abc import Collection

# privacy's folding (NFKC, Japanese dashes as "-") is the one identifying_kinds matches on;
# used here so that what it finds can be masked (a public name for it belongs in privacy)
from alliance_pipeline.privacy import EMAIL, PHONE, _fold, identifying_kinds, joined_cells

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
    :func:`alliance_pipeline.privacy.identifying_kinds` reads them)."""
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


def email_column_problem(values: Collection[str], *, file: str, column: str, fix: str):
    """A participant column most of whose values are e-mail addresses, refused as a whole
    (``None`` otherwise): no address is shown. ``fix`` says what to do."""
    from alliance_pipeline.intake.problems import Problem

    text = joined_cells(values)
    if text is not None and text.isascii() and "@" not in text:
        return None  # no value can hold an e-mail address
    given = [v for v in values if v.strip()]
    # only a value with "@" or a character NFKC may turn into one can hold an e-mail address
    emails = sum("email" in identifying_kinds(v) for v in given
                 if "@" in v or not v.isascii())
    if not given or emails * 2 <= len(given):  # most of them
        return None
    return Problem(file, None, column, None,
                   f"holds e-mail addresses ({emails} of {len(given)} values), not pseudonyms; "
                   f"{fix} (the addresses are not shown here or in the log)")
