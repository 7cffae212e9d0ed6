"""Comparing a report's numbers and config with a rerun's, without reading any file.

Numbers agree when equal (both missing, or both NaN, counts as equal), or within
:data:`REL_TOL` relative for floating point: ``|a - b| <= REL_TOL * max(|a|, |b|)``.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

REL_TOL = 1e-12


def _same(a, b, rel_tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if a == b:
        return True
    a, b = float(a), float(b)
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= rel_tol * max(abs(a), abs(b))


def compare_numbers(expected: Mapping, actual: Mapping, rel_tol: float = REL_TOL) -> list[str]:
    """Every number of ``expected`` (the report's) that ``actual`` (the rerun's) does not
    reproduce, as ``row column: report X, rerun Y``; rows only one side has are named too."""
    out = []
    for label, row in expected.items():
        if label not in actual:
            out.append(f"{label}: in the report, not in the rerun")
            continue
        other = actual[label]
        for column, value in row.items():
            if column not in other:
                out.append(f"{label} {column}: report {value!r}, not in the rerun")
            elif not _same(value, other[column], rel_tol):
                out.append(f"{label} {column}: report {value!r}, rerun {other[column]!r}")
        out.extend(f"{label} {column}: not in the report, rerun {other[column]!r}"
                   for column in other if column not in row)
    out.extend(f"{label}: not in the report, in the rerun" for label in actual if label not in expected)
    return out


def config_differences(report: object, here: object, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two configs, with both values."""
    if isinstance(report, Mapping) and isinstance(here, Mapping):
        out = []
        for key in list(report) + [k for k in here if k not in report]:
            name = f"{prefix}.{key}" if prefix else str(key)
            if key not in here:
                out.append(f"{name}: report {report[key]!r}, not set here")
            elif key not in report:
                out.append(f"{name}: not in the report's config, here {here[key]!r}")
            else:
                out.extend(config_differences(report[key], here[key], name))
        return out
    return [] if report == here else [f"{prefix}: report {report!r}, here {here!r}"]
