"""The reproducibility appendix (provenance: inputs' hashes, config, commit, command).

Used by the cohort report and the study report alike.
"""
from __future__ import annotations

from collections.abc import Mapping

from alliance_pipeline.report.format import esc, md_code, md_table


def reproducibility_md(provenance: Mapping | None) -> str:
    if not provenance:
        return "No provenance was recorded.\n"
    p = dict(provenance)
    out = []
    command = p.get("command")
    if command:
        out.append("Regenerate this report with:\n")
        out.append(md_code(str(command), "sh"))
        out.append("The report carries a manifest (the hashes below and every number of its tables); "
                   "`alliance verify <this file>` checks it against a rerun "
                   "(docs/reviewers.md).\n")
    commit = p.get("git_commit") or "unknown"
    dirty = p.get("git_dirty")
    state = " (the working tree had uncommitted changes)" if dirty else (" (clean working tree)" if commit != "unknown" else "")
    version = p.get("pipeline_version")
    version_text = f"Pipeline version: {esc(version)}. " if version else ""
    out.append(f"{version_text}Pipeline commit: `{commit}`{state}. Codebook version: "
               f"{esc(p.get('codebook_version') or 'unknown')}.\n")
    raw = list(p.get("raw_files") or [])
    if raw:
        out.append(md_table(["Raw file", "SHA-256"], [[f"`{path}`", f"`{sha}`"] for path, sha in raw],
                            caption="Raw input files and their SHA-256 checksums.", label="tbl-raw-files"))
    packages = list(p.get("packages") or [])
    if packages:
        out.append(f"Package versions (requirements.lock, {len(packages)} packages): "
                   + ", ".join(f"{esc(n)} {esc(v)}" for n, v in packages) + ".\n")
    config = p.get("config_yaml")
    if config:
        out.append("Effective configuration (after validation and defaults):\n")
        out.append(md_code(str(config), "yaml"))
    if not out:
        return "No provenance was recorded.\n"
    return "\n".join(out)
