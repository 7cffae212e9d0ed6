"""Reading the manifest a report carries: out of report.html, report.pdf or a manifest.json
(see :mod:`alliance_pipeline.report.manifest`), checked against schemas/manifest.schema.yaml."""
from __future__ import annotations

import json
import os
from pathlib import Path

from alliance_pipeline.report import manifest as manifests


class VerifyError(Exception):
    """A report that cannot be verified at all (no manifest, unreadable file)."""


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a report (.html, .pdf) or a manifest.json."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise VerifyError(f"{path}: cannot read the report ({err.strerror})") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            found = json.loads(data.decode("utf-8"))
        elif suffix == ".pdf":
            found = manifests.read_pdf(data)
        else:
            found = manifests.read_html(data)
    except (ValueError, UnicodeDecodeError) as err:
        raise VerifyError(f"{path}: its manifest is not readable JSON ({err})") from None
    except Exception as err:  # pypdf's errors for a damaged PDF
        raise VerifyError(f"{path}: cannot read it as a PDF ({err})") from None
    if found is None:
        raise VerifyError(f"{path}: no manifest inside; reports rendered before manifests were "
                          "added carry none: ask the authors for a report from a current run")
    problems = manifests.problems(found)
    if problems:
        raise VerifyError(f"{path}: its manifest does not match schemas/manifest.schema.yaml: "
                          + "; ".join(problems[:5]))
    return found
