"""The manifest every report carries: what it was made from, and its key numbers.

A manifest is one JSON object (schema: ``schemas/manifest.schema.yaml``)::

    {"manifest_version": 1, "report": "cohort" | "study", "cohorts": [...],
     "date": "YYYY-MM-DD", "renderer": "...",
     "code": {"version", "commit", "dirty", "lock": {"file", "sha256"}, "packages": {name: version}},
     "inputs": {"raw": [{"file", "sha256"}], "config": {"sha256", "effective"},
                "codebook": {"file", "sha256", "version"}},
     "tables": [{"table", "file", "sha256", "key": [...], "numbers": {row: {column: value}}}]}

``numbers`` holds every numeric cell of the derived tables the report was written from
(shares, intervals, Cochran's Q, McNemar p and adjusted p, risk differences, agreement
coefficients, sample sizes, the participant flow), by a row label built from the table's
key columns (e.g. ``pilot/session_experience/hooked/mcnemar/training``). Undefined values
(NaN) are ``null``. The only date is the fixed render date, so two clean runs write the same
bytes. The report embeds it (HTML: ``<script type="application/json" id="manifest">``; PDF:
the attached file ``manifest.json``) and ``reports/<cohort>/manifest.json`` holds a copy.

Pure functions over data frames, dicts and bytes; hashing files is
:mod:`alliance_pipeline.common.provenance`'s, reading and writing the scripts'.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from alliance_pipeline.common.provenance import shareable_config
from alliance_pipeline.config.load import load_schema, schema_problems

MANIFEST_VERSION = 1
ATTACHMENT = "manifest.json"  # the PDF's attached file
# Columns that name a row of each derived table (the rest of its numeric columns are numbers).
TABLE_KEYS = {
    "agreement": ["cohort", "question", "code"],
    "proportions": ["cohort", "question", "code", "timepoint"],
    "tests": ["cohort", "question", "code", "test", "contrast"],
    "power": ["cohort", "question", "code", "contrast", "power", "effect_scale"],
    "flow": ["question", "step", "name"],
    "models": ["cohort", "question", "code", "term", "method"],
    "pooled": ["question", "code", "contrast"],
    "cohorts": ["cohort", "question", "code", "contrast"],
    "differences": ["question", "code", "term"],
}
# Tables recorded by their SHA-256 only (one row per response: large, and their content is
# summarised by the tables above).
HASH_ONLY = {"final_codes", "responses"}


def canonical_json(value: Any) -> str:
    """Key-sorted compact JSON: the form hashed for the effective config."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def plain(value: Any) -> Any:
    """A JSON round trip of ``value`` (keys keep their order: contrasts are in report order)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def effective_config(config: Mapping) -> dict:
    """The effective config as the manifest holds it: plain JSON values, a cohort's
    ``coding_key`` withheld (:func:`alliance_pipeline.common.provenance.shareable_config`)."""
    return plain(shareable_config(dict(config)))


def config_sha256(config: Mapping) -> str:
    """SHA-256 of :func:`effective_config` as :func:`canonical_json` (independent of key order)."""
    return hashlib.sha256(canonical_json(effective_config(config)).encode("utf-8")).hexdigest()


def _number(value) -> int | float | None:
    """A plain JSON number; NaN (undefined) becomes None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _key_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if hasattr(value, "item"):
        value = value.item()
    return repr(value) if isinstance(value, float) else str(value)


def key_columns(name: str, frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that name a row (:data:`TABLE_KEYS`, else its text columns)."""
    if name in TABLE_KEYS:
        return [c for c in TABLE_KEYS[name] if c in frame.columns]
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
            and c not in ("note", "verdict", "method", "missing", "text", "rationale")]


def table_numbers(name: str, frame: pd.DataFrame) -> dict[str, dict[str, int | float | None]]:
    """``{row label: {column: number}}`` for every numeric, non-key cell of ``frame``.

    The row label joins the key columns' values with ``/``; a label met twice gets ``#2``, ...
    """
    keys = key_columns(name, frame)
    numeric = [c for c in frame.columns if c not in keys and pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    out: dict[str, dict] = {}
    for values in frame.to_dict("records"):
        label = "/".join(_key_text(values[k]) for k in keys) or "row"
        base, n = label, 1
        while label in out:
            n += 1
            label = f"{base}#{n}"
        out[label] = {c: _number(values[c]) for c in numeric}
    return out


def table_entry(name: str, file: str | os.PathLike[str], sha256: str,
                frame: pd.DataFrame | None) -> dict:
    """One derived table of the manifest: its file, hash and (unless hash-only) numbers."""
    entry: dict[str, object] = {"table": name, "file": os.fspath(file), "sha256": sha256}
    if frame is not None and name not in HASH_ONLY:
        entry["key"] = key_columns(name, frame)
        entry["numbers"] = table_numbers(name, frame)
    return entry


def build_manifest(*, report: str, cohorts: Iterable[str], provenance: Mapping, config: Mapping,
                   codebook: tuple[str | os.PathLike[str], str], lock: tuple[str, str],
                   tables: Iterable[Mapping]) -> dict:
    """The manifest of one report, before rendering (see :func:`complete`).

    ``provenance``: :func:`alliance_pipeline.common.provenance.collect_provenance` (raw files and
    their hashes, codebook version, packages, commit, dirty flag); ``config``: the effective
    config the report's jobs ran with; ``codebook``, ``lock``: ``(file, sha256)``;
    ``tables``: :func:`table_entry` dicts.
    """
    return {
        "manifest_version": MANIFEST_VERSION,
        "report": report,
        "cohorts": list(cohorts),
        "code": {
            "version": str(provenance.get("pipeline_version") or "unknown"),
            "commit": str(provenance.get("git_commit") or "unknown"),
            "dirty": bool(provenance.get("git_dirty")),
            "lock": {"file": lock[0], "sha256": lock[1]},
            "packages": {name: version for name, version in provenance.get("packages") or []},
        },
        "inputs": {
            "raw": [{"file": path, "sha256": sha} for path, sha in provenance.get("raw_files") or []],
            "config": {"sha256": config_sha256(config), "effective": effective_config(config)},
            "codebook": {"file": os.fspath(codebook[0]), "sha256": codebook[1],
                         "version": str(provenance.get("codebook_version") or "unknown")},
        },
        "tables": [dict(t) for t in tables],
    }


def complete(manifest: Mapping, *, renderer: str, date: str) -> dict:
    """The manifest with the renderer and the (fixed) render date, keys in schema order."""
    head = {k: manifest[k] for k in ("manifest_version", "report", "cohorts")}
    return {**head, "date": date, "renderer": renderer,
            **{k: v for k, v in manifest.items() if k not in head}}


def to_json(manifest: Mapping) -> str:
    """The manifest as written to manifest.json (and embedded): indented, NaN refused."""
    return json.dumps(manifest, ensure_ascii=False, indent=1, allow_nan=False) + "\n"


def problems(manifest: Any) -> list[str]:
    """Every violation of ``schemas/manifest.schema.yaml``, each naming its key."""
    return schema_problems(manifest, load_schema("manifest"))


# ---------------------------------------------------------------- embedding and reading

_SCRIPT = re.compile(rb'<script type="application/json" id="manifest">\s*(.*?)\s*</script>', re.S)


def embed_html(html: bytes, manifest_json: str) -> bytes:
    """``html`` with ``<script type="application/json" id="manifest">`` before ``</body>``.

    ``<`` inside the JSON is written ``\\u003c``, so no text in it can close the script.
    """
    safe = manifest_json.strip().replace("<", "\\u003c")
    block = f'<script type="application/json" id="manifest">\n{safe}\n</script>\n'.encode()
    at = html.rfind(b"</body>")
    if at < 0:
        return html + block
    return html[:at] + block + html[at:]


def read_html(html: bytes) -> dict | None:
    """The manifest embedded in a report's HTML, or None."""
    match = _SCRIPT.search(html)
    return json.loads(match.group(1).decode("utf-8")) if match else None


def embed_pdf(pdf: bytes, manifest_json: str) -> bytes:
    """``pdf`` with ``manifest.json`` attached (pypdf; keeps the document's ID and dates,
    so the same input gives the same bytes)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(ATTACHMENT, manifest_json.encode("utf-8"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read_pdf(pdf: bytes) -> dict | None:
    """The manifest attached to a report's PDF, or None."""
    from pypdf import PdfReader

    attachments = PdfReader(io.BytesIO(pdf)).attachments
    if ATTACHMENT not in attachments:
        return None
    return json.loads(attachments[ATTACHMENT][0].decode("utf-8"))
