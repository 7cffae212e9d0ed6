"""The reproducibility appendix (provenance: inputs' hashes, config, commit, command).

Used by the cohort report and the study report alike.
"""
from __future__ import annotations

from collections.abc import Mapping

from alliance_pipeline.report.format import esc, fmt_int, md_code, md_table
from alliance_pipeline.report.language import SOURCE_LANGUAGE, _, untranslated


def untranslated_md(study: Mapping, language: str) -> str:
    """The codebook texts a report in ``language`` shows in English, for want of a translation
    (``label_<lang>``, ``definition_<lang>``, ``prompt_<lang>`` in the codebook); empty in English
    or when nothing is missing."""
    if language == SOURCE_LANGUAGE:
        return ""
    missing = untranslated(study.get("questions") or {}, language)
    if not missing:
        return ""
    return ("\n" + _("The codebook gives no translation of these texts, shown in English "
                     "({n}; add the key with the suffix _{language} to the codebook):").format(
        n=len(missing), language=language) + "\n\n" + "\n".join(f"- `{key}`" for key in missing) + "\n")


def reproducibility_md(provenance: Mapping | None) -> str:
    if not provenance:
        return _("No provenance was recorded.") + "\n"
    p = dict(provenance)
    out = []
    command = p.get("command")
    if command:
        out.append(_("Regenerate this report with:") + "\n")
        out.append(md_code(str(command), "sh"))
        out.append(_("The report carries a manifest (the hashes below and every number of its tables); "
                     "`alliance verify <this file>` checks it against a rerun "
                     "(docs/reviewers.md).") + "\n")
    commit = p.get("git_commit") or "unknown"
    dirty = p.get("git_dirty")
    state = (_(" (the working tree had uncommitted changes)") if dirty else
             (_(" (clean working tree)") if commit != "unknown" else ""))
    pipeline_version = p.get("pipeline_version")
    version_text = (_("Pipeline version: {version}. ").format(version=esc(pipeline_version))
                    if pipeline_version else "")
    version = p.get('codebook_version')
    out.append(version_text + _("Pipeline commit: `{commit}`{state}. Codebook version: {version}.").format(
        commit=commit, state=state, version=esc(version) if version else _("unknown")) + "\n")
    raw = list(p.get("raw_files") or [])
    if raw:
        out.append(md_table([_("Raw file"), "SHA-256"], [[f"`{path}`", f"`{sha}`"] for path, sha in raw],
                            caption=_("Raw input files and their SHA-256 checksums."), label="tbl-raw-files"))
    packages = list(p.get("packages") or [])
    if packages:
        out.append(_("Package versions (requirements.lock, {n} packages): ").format(n=fmt_int(len(packages)))
                   + ", ".join(f"{esc(n)} {esc(v)}" for n, v in packages) + _(".") + "\n")
    config = p.get("config_yaml")
    if config:
        out.append(_("Effective configuration (after validation and defaults):") + "\n")
        out.append(md_code(str(config), "yaml"))
    if not out:
        return _("No provenance was recorded.") + "\n"
    return "\n".join(out)
