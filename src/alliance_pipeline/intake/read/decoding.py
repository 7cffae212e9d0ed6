"""Decoding a raw file's bytes into text, with located problems.

The configured encoding (the cohort's ``encoding:`` in config/config.yaml, or an export's own
under ``survey.files``) is used; utf-8 is read as utf-8-sig so Excel's byte-order mark is
tolerated. As Japanese Windows writes them: any spelling of Shift_JIS (``shift_jis``,
``sjis``, ``ms932``) is read as cp932, Windows' Shift_JIS (～ U+FF5E, － U+FF0D, ①, 髙),
with a warning per file (:func:`windows_codec`); a file that begins with a UTF-8 byte-order
mark is read as UTF-8 whatever the encoding configured, with a warning. Refused with the fix
named: an undecodable byte (its row and column, its byte offset, which of utf-8, cp932 and
utf-16 decode the file whole), UTF-16 text (Excel's 'Unicode Text'), UTF-8 read with another
configured encoding (e.g. cp932) and bytes that decode as mojibake; for those
:func:`fitting_encoding` tries utf-8, utf-16 and cp932 and names the encoding that fits.
"""
from __future__ import annotations

import codecs
import csv
import io
import sys

from alliance_pipeline.intake.problems import Problem

# The csv module refuses cells over 131,072 characters with a bare "field larger than field
# limit" error; a quote left open in a large file makes such a cell. The whole file is in
# memory already, so the limit protects nothing: lift it, and the unclosed quote is reported
# as in a small file.
# Set here, where every reader of the intake step begins (csv_parser imports this module).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _codec_name(encoding: str) -> str:
    """utf-8 is read as utf-8-sig so a byte-order mark (Excel's UTF-8 CSV) is tolerated."""
    name = codecs.lookup(encoding).name
    return "utf-8-sig" if name == "utf-8" else encoding


def windows_codec(encoding: str) -> str:
    """``cp932`` for any spelling Python accepts of Shift_JIS or cp932 (``shift_jis``,
    ``sjis``, ``ms932``): Excel on Japanese Windows writes cp932, which shift_jis decodes
    differently (～ －) or refuses (① 髙); any other encoding as given."""
    return "cp932" if codecs.lookup(encoding).name in ("shift_jis", "cp932") else encoding


def _warn(warnings: list[Problem] | None, warning: Problem) -> None:
    """Add ``warning`` once (a file may be decoded twice: a coder file is first checked for
    a coding sheet saved as CSV)."""
    if warnings is not None and warning not in warnings:
        warnings.append(warning)


def where_in_text(prefix: str) -> tuple[int, int]:
    """Spreadsheet row (header = 1) and 0-based cell index of the position just after ``prefix``."""
    rows = list(csv.reader(io.StringIO(prefix + "\x01", newline="")))
    return len(rows), len(rows[-1]) - 1


# Blocks of characters real texts are made of (Latin, Greek, Cyrillic, punctuation and
# symbols, CJK punctuation, kana, kanji, full- and half-width forms).
_TEXT_BLOCKS = ((0x00A0, 0x052F), (0x2000, 0x27BF), (0x3000, 0x30FF), (0x3400, 0x4DBF),
                (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def _plausible_share(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that belong to :data:`_TEXT_BLOCKS`."""
    others = [ord(c) for c in text if ord(c) > 0x7F]
    if not others:
        return 1.0
    return sum(any(lo <= c <= hi for lo, hi in _TEXT_BLOCKS) for c in others) / len(others)


def _probably_utf8(data: bytes, codec: str) -> bool:
    """Whether bytes that are to be read as ``codec`` are really UTF-8.

    True when they are valid UTF-8 and either cannot be read as ``codec`` or read as
    ``codec`` give characters that real texts rarely contain. Valid UTF-8 occurs by chance
    in short cp932 texts (cp932 "﨑①" reads as UTF-8 Hangul), so a tie keeps the
    configured encoding: a real cp932 file is never refused.
    """
    try:
        as_utf8 = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    try:
        configured = _plausible_share(data.decode(codec))
    except UnicodeDecodeError:
        return True
    return _plausible_share(as_utf8) > configured


def _reads_as_csv(text: str, plausible: bool = True) -> bool:
    """Whether decoded text looks like a comma-separated file (not mojibake): a comma in the
    first line, no NUL characters and (``plausible``) non-ASCII characters from real scripts.

    UTF-8 bytes read as UTF-16 never give a comma (each character takes two bytes of text),
    so for a configured UTF-16/32 the first two tests suffice and emoji-rich texts pass.
    """
    head = text[:4000]
    first_line = head.split("\n", 1)[0]
    return ("," in first_line and "\x00" not in head
            and (not plausible or _plausible_share(head) >= 0.9))


def _tab_separated(text: str) -> bool:
    """Whether decoded text is a tab-separated table (Excel's 'Unicode Text', a UTF-16 file):
    tabs and no comma in the first line, no NUL characters, characters from real scripts."""
    first_line = text[:4000].split("\n", 1)[0]
    return ("\t" in first_line and "," not in first_line and "\x00" not in text[:4000]
            and _plausible_share(text[:4000]) >= 0.9)


def fitting_encoding(data: bytes) -> str | None:
    """The encoding (utf-8, utf-16, utf-16-le, utf-16-be or cp932, tried in that order) in
    which ``data`` reads as comma-separated text, or None."""
    for encoding in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "cp932"):
        if encoding == "utf-16" and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            continue
        try:
            text = data.decode(_codec_name(encoding))
        except UnicodeDecodeError:
            continue
        if _reads_as_csv(text):
            return encoding
    return None


def _misfit_encoding(data: bytes, path: str, encoding: str, codec: str) -> Problem | None:
    """Bytes that decode without error as the configured UTF-16/32 (or as UTF-8 while every
    other byte is 0) but read as mojibake: a short excerpt and the encoding that fits."""
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            text = data[:200].decode(codec, errors="replace")
        if _reads_as_csv(text, plausible=False) or _tab_separated(text):
            return None  # a tab-separated file reads fine: the CSV parser says it is tab-separated
    elif b"\x00" not in data[:4000] or data.count(0) * 4 < len(data[:4000]):
        return None  # a stray NUL is reported where it is (row and column)
    else:
        text = data[:200].decode(codec, errors="replace")
    fit = fitting_encoding(data)
    excerpt = text[:40]
    how = (f"they read as {fit}: set `encoding: {fit}` for this cohort in config/config.yaml "
           "(all files of a cohort share one encoding), or save the file as 'CSV UTF-8 "
           "(Comma delimited)'" if fit else
           "save the file as 'CSV UTF-8 (Comma delimited)' and set `encoding: utf-8`")
    return Problem(path, None, None, None,
                   f"does not read as {encoding} text (read so, it begins {excerpt!r}); {how}")


def decode(data: bytes, path: str, encoding: str, warnings: list[Problem] | None = None
           ) -> tuple[str | None, list[Problem]]:
    """Decode a raw file; an undecodable byte is a problem naming its row, column, byte
    offset, the encodings that decode the whole file and the fix.

    Also refused, because they would otherwise be read as garbled text without any error:
    UTF-16 files (Excel's "Unicode Text") and UTF-8 files read with another configured
    encoding (e.g. ``cp932``). A Shift_JIS spelling read as cp932 and a UTF-8 byte-order mark
    read as UTF-8 against the configured encoding go to ``warnings``, once per file.
    """
    fix_encoding = "the cohort's `encoding:` in config/config.yaml"
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None, [Problem(path, None, None, encoding,
                              f"is not an encoding Python knows; set {fix_encoding} to e.g. "
                              "utf-8 or cp932")]
    if data.startswith(codecs.BOM_UTF8) and name != "utf-8":
        _warn(warnings, Problem(path, None, None, None,
                                "begins with a UTF-8 byte-order mark (Excel's 'CSV UTF-8'), so it "
                                f"is read as UTF-8, not as {encoding}"))
        encoding, name = "utf-8", "utf-8"
    elif windows_codec(encoding) == "cp932" and encoding.strip().lower() != "cp932":
        _warn(warnings, Problem(path, None, None, None,
                                f"is read as cp932 (Windows' Shift_JIS, as Excel on Japanese "
                                f"Windows saves it) for `encoding: {encoding}`: cp932 reads ～, "
                                "－, ① and 髙 as Windows wrote them; write `encoding: cp932` to "
                                "say so"))
        encoding, name = "cp932", "cp932"
    codec = _codec_name(encoding)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not name.startswith("utf-16"):
        return None, [Problem(path, None, None, None,
                              "is UTF-16 text (Excel's 'Unicode Text'); save it as "
                              "'CSV UTF-8 (Comma delimited)'")]
    if not name.startswith("utf") and not data.isascii() and _probably_utf8(data, codec):
            return None, [Problem(path, None, None, None,
                                  f"is UTF-8 text but the cohort's encoding is {encoding}; set "
                                  f"`encoding: utf-8` for this cohort in config/config.yaml "
                                  "(all files of a cohort share one encoding)")]
    misfit = _misfit_encoding(data, path, encoding, codec)
    if misfit:
        return None, [misfit]
    try:
        return data.decode(codec), []
    except UnicodeDecodeError as err:
        return None, [_undecodable(data, path, encoding, codec, err)]


def whole_file_encodings(data: bytes, but: str = "") -> list[str]:
    """Which of utf-8, cp932 and utf-16 (``but`` the one tried) decode ``data`` whole:
    utf-8 and cp932 without an error, utf-16 without an error and as readable text."""
    fits = []
    for encoding in ("utf-8", "cp932", "utf-16"):
        if codecs.lookup(encoding).name == codecs.lookup(but or "ascii").name:
            continue
        try:
            text = data.decode(_codec_name(encoding))
        except UnicodeDecodeError:
            continue
        if encoding != "utf-16" or _reads_as_csv(text) or _tab_separated(text):
            fits.append(encoding)
    return fits


def _undecodable(data: bytes, path: str, encoding: str, codec: str,
                 err: UnicodeDecodeError) -> Problem:
    """The problem of a byte ``encoding`` cannot decode: row and column where it is, its
    byte offset, the encodings that decode the whole file, the fix."""
    prefix = data[: err.start].decode(codec, errors="replace")
    at_row, cell = where_in_text(prefix)
    header = next(csv.reader(io.StringIO(prefix, newline="")), []) if at_row > 1 else []
    column = header[cell].strip() if cell < len(header) else None
    row: int | None = at_row
    if column is not None and len(column) > 40:  # not a header: garbled text
        row, column = None, None
    bad = " ".join(f"0x{b:02x}" for b in data[err.start: err.start + 3])
    fits = whole_file_encodings(data, but=encoding)
    if "cp932" in fits:
        hint = ("if the file was saved by Excel on Japanese Windows, set `encoding: cp932` "
                "for this cohort in config/config.yaml")
    elif fits:
        hint = f"set `encoding: {fits[0]}` for this cohort in config/config.yaml"
    else:
        hint = "save it again as 'CSV UTF-8 (Comma delimited)'" + (
            "" if codecs.lookup(encoding).name == "utf-8" else
            " and set `encoding: utf-8` for this cohort in config/config.yaml")
    whole = (f"the whole file decodes as {' and as '.join(fits)}" if fits else
             "none of utf-8, cp932 and utf-16 decodes the whole file")
    return Problem(path, row, column, None,
                   f"contains bytes that are not valid {encoding} text ({bad} at byte "
                   f"{err.start}); {whole}: {hint}")
