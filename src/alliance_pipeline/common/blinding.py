"""Opaque unit ids and the pseudo-random order of the blinded coding workbooks.

A response's **unit id** is ``U`` followed by the first 10 characters of the Crockford
base-32 encoding (alphabet :data:`ALPHABET`: digits and capital letters without I, L, O and
U, so ids read aloud or typed back are not confused) of

    HMAC-SHA256(key = the cohort's ``coding_key``, message = the response id)   (RFC 2104)

in UTF-8: 50 bits, so two of 10,000 responses share an id with probability about 4e-8 (a
collision is refused, never silently merged). The id depends on the response's own id only,
so it stays the same when other responses are added or removed; without the key it reveals
neither participant nor time point (response ids often spell both). The ``coding_key`` is
what keeps the blinding: whoever has it can recompute the ids of known response ids, so it
is kept by the team and never given to coders.

The rows of a coder's sheet are ordered by ``HMAC-SHA256(coding_key, coder + "\\x1f" +
response id)``: a different pseudo-random order per coder, the same on every rerun, and a
new response falls in at a place that does not move the others.

No file I/O here.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
UNIT_PREFIX = "U"
UNIT_LENGTH = 10  # base-32 characters after the prefix (50 bits)


def _digest(key: str, message: str) -> bytes:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()


def base32(data: bytes, length: int) -> str:
    """The first ``length`` Crockford base-32 characters of ``data`` (5 bits each, big-endian)."""
    number = int.from_bytes(data, "big")
    bits = len(data) * 8
    return "".join(ALPHABET[(number >> (bits - 5 * (i + 1))) & 31] for i in range(length))


def unit_id(response_id: str, key: str) -> str:
    """``U`` + 10 Crockford base-32 characters of HMAC-SHA256(key, response_id)."""
    if not key:
        raise ValueError("the cohort has no coding_key: set `coding_key:` for the cohort in "
                         "config/config.yaml (any text the team keeps; it keeps the unit ids opaque)")
    return UNIT_PREFIX + base32(_digest(key, response_id), UNIT_LENGTH)


def unit_ids(response_ids: Iterable[str], key: str) -> dict[str, str]:
    """response id -> unit id; two responses with the same unit id raise ValueError."""
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for rid in response_ids:
        uid = unit_id(rid, key)
        if uid in seen and seen[uid] != rid:
            raise ValueError(f"responses {seen[uid]!r} and {rid!r} get the same unit id {uid}; "
                             "change the cohort's coding_key (any other text) and make the "
                             "coding sheets again")
        seen[uid] = rid
        out[rid] = uid
    return out


def order_key(response_id: str, coder: str, key: str) -> str:
    """Sort key of a response in ``coder``'s sheet: hex HMAC-SHA256(key, coder + US + id)."""
    return _digest(key, f"{coder}\x1f{response_id}").hex()


def text_digest(text: str) -> str:
    """First 16 hex digits of SHA-256 of the text (UTF-8): detects a changed response."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprint(units: Iterable[tuple[str, str, str]]) -> str:
    """SHA-256 of the sorted ``unit id TAB question TAB text digest`` lines of a workbook."""
    lines = sorted("\t".join(unit) for unit in units)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
