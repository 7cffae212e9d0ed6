"""A participant column of e-mail addresses, refused whole.

A participant column whose values are e-mail addresses (the e-mail column chosen by
mistake) is refused as a whole, naming no address (:func:`email_column_problem`). The
masking of personal data in every message and log is
:mod:`alliance_pipeline.common.privacy`'s (``mask_text``, ``mask_value``).
"""
from __future__ import annotations

from collections.abc import Collection

from alliance_pipeline.common.privacy import identifying_kinds, joined_cells
from alliance_pipeline.intake.problems import Problem


def email_column_problem(values: Collection[str], *, file: str, column: str, fix: str):
    """A participant column most of whose values are e-mail addresses, refused as a whole
    (``None`` otherwise): no address is shown. ``fix`` says what to do."""
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
