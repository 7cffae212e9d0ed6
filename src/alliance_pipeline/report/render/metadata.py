"""What the report renderers share: :class:`RenderError`, the fonts folder, and a Quarto
source's YAML front matter and merged metadata (project ``_quarto.yml`` < ``metadata-files`` <
front matter < extra) with lookups of its keys."""
from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from alliance_pipeline.config.settings import deep_merge

FONT_DIR_ENV = "ALLIANCE_REPORT_FONT_DIR"


class RenderError(RuntimeError):
    """The report source uses something the renderer cannot do, or a renderer failed."""


# ---------------------------------------------------------------- fonts and versions

def font_dir() -> Path:
    """The folder holding IPAexGothic (matplotlib-fontja), or ``$ALLIANCE_REPORT_FONT_DIR``."""
    env = os.environ.get(FONT_DIR_ENV)
    if env:
        return Path(env)
    import matplotlib_fontja

    return Path(matplotlib_fontja.__file__).resolve().parent / "fonts"


# ---------------------------------------------------------------- front matter and metadata

_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)


def split_front_matter(text: str) -> tuple[dict, str]:
    """``(metadata, body)`` of a markdown document with optional YAML front matter."""
    text = text.lstrip("\ufeff")
    match = _FRONT.match(text)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    if not isinstance(meta, dict):
        raise RenderError("the front matter is not a YAML mapping")
    return meta, text[match.end():]


def load_metadata(qmd: Path, *, extra: Mapping | None = None) -> tuple[dict, str]:
    """Merged metadata and body: project ``_quarto.yml`` < ``metadata-files`` < front matter < extra."""
    meta, body = split_front_matter(qmd.read_text(encoding="utf-8"))
    merged: dict = {}
    project = qmd.parent / "_quarto.yml"
    if project.exists():
        proj = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
        merged = deep_merge(merged, {k: v for k, v in proj.items() if k != "project"})
    files = meta.get("metadata-files") or []
    if isinstance(files, str):
        files = [files]
    for name in files:
        path = qmd.parent / name
        if not path.exists():
            raise RenderError(f"metadata file {name} (metadata-files) not found next to {qmd.name}")
        merged = deep_merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    merged = deep_merge(merged, meta)
    merged = deep_merge(merged, dict(extra or {}))
    return merged, body


def meta_lookup(meta: Mapping, key: str):
    node: Any = meta
    for part in key.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            raise KeyError(key)
    return node


def meta_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(meta_text(v) for v in value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    return str(value)


def truthy(meta: Mapping, key: str) -> bool:
    try:
        value = meta_lookup(meta, key)
    except KeyError:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "no", "0")
    return bool(value)


def format_options(meta: Mapping, fmt: str) -> dict:
    formats = meta.get("format") or {}
    if isinstance(formats, str):
        return {}
    opts = formats.get(fmt) or {}
    return dict(opts) if isinstance(opts, Mapping) else {}
