"""Seeded random generators for the statistics that draw (no I/O).

One generator per table row, from the configured seed and the row's question and code, so a
row's draws do not depend on which other rows the table has: the agreement bootstrap
(``agreement.csv``) and Cochran's Q permutations (``tests.csv``).
"""
from __future__ import annotations

import zlib

import numpy as np


def row_rng(seed: int, question: str, code: str) -> np.random.Generator:
    """``numpy.random.default_rng([seed, crc32(question), crc32(code)])`` (UTF-8 bytes)."""
    return np.random.default_rng([int(seed), zlib.crc32(question.encode("utf-8")),
                                  zlib.crc32(code.encode("utf-8"))])
