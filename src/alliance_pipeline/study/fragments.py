"""The cross-cohort (study) report's Markdown fragments: the study tables' presentation.

``reports/study.qmd`` holds presentation only; every number and sentence that depends on
data comes from the fragments built here from derived tables:

- the cohorts' own tables stacked (``proportions``, ``tests``, ``agreement``, ``flow``; each
  with its ``cohort`` column, the flow table given one by :func:`stack_tables`);
- the study tables of :mod:`alliance_pipeline.study.pooling`: ``pooled`` (``pooled.csv``) and
  ``cohort_rows`` (``cohorts.csv``); the difference of changes: ``models`` (the cohorts'
  ``models.csv`` stacked) and ``differences`` (``differences.csv``), presented by
  :mod:`alliance_pipeline.study.difference`.

Plain values: ``study`` (:func:`alliance_pipeline.config.settings.study_settings`), ``cohorts``
(``{name: cohort_settings(config, name)}`` in config order), ``analysis`` (the study's own
``analysis`` block: the pooling's settings) and ``provenance``
(:mod:`alliance_pipeline.common.provenance`). Builders are pure; :func:`write_fragments` writes files.
The cohorts' own tables side by side are presented by
:mod:`alliance_pipeline.study.cohort_sections`, the settings and rows they look up found by
:mod:`alliance_pipeline.study.lookup`. The forest figures are drawn by
:mod:`alliance_pipeline.study.figures`, the report rendered by :mod:`alliance_pipeline.study.report`. Formatting helpers are those of the
cohort report (:mod:`alliance_pipeline.report.format`), so both reports write numbers alike.
No response text ever reaches this report.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import yaml

from alliance_pipeline.common.outputs import repeated_questions
from alliance_pipeline.common.tables import atomic_write_text
from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_odds_ratio,
    fmt_p,
    fmt_pct,
    is_missing,
    md_figure,
    md_table,
    method_name,
    method_short,
    slug,
)
from alliance_pipeline.report.language import (
    _,
    format_list,
    localised,
    localised_questions,
    ngettext,
)
from alliance_pipeline.report.lookup import adjust_word
from alliance_pipeline.report.notes import note_text
from alliance_pipeline.report.sections.reproducibility import reproducibility_md
from alliance_pipeline.study.cohort_sections import agreement_md, cohorts_md
from alliance_pipeline.study.difference import differences_md
from alliance_pipeline.study.lookup import (
    analysis_overrides,
    cohort_label,
    forest_contrast,
    participants,
    study_code_label,
)

FRAGMENTS = ("banner", "overview", "pooled", "differences", "cohorts", "agreement",
             "limitations", "reproducibility")
COHORT_TABLES = ("proportions", "tests", "agreement", "flow")


# ---------------------------------------------------------------- the cohorts' tables stacked

def stack_tables(per_cohort: Mapping[str, Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """``{cohort: {table: frame}}`` -> ``{table: stacked frame}`` with a ``cohort`` column."""
    out = {}
    for name in COHORT_TABLES:
        frames = []
        for cohort, tables in per_cohort.items():
            if name in tables:
                frames.append(tables[name].assign(cohort=cohort))
        if frames:
            out[name] = pd.concat(frames, ignore_index=True)
    return out


# ---------------------------------------------------------------- fragments

def meta_yaml(*, study: Mapping, cohorts: Mapping) -> str:
    synthetic = [c for c, s in cohorts.items() if s.get("synthetic")]
    meta = {"title": _("{title}: all cohorts").format(title=localised(study, "title")),
            "subtitle": _("Cross-cohort report of {n} cohorts: {names}").format(
                n=len(cohorts), names=", ".join(cohorts)),
            "cohorts": list(cohorts), "n_cohorts": len(cohorts),
            "synthetic": bool(synthetic),
            "codebook_version": str(study.get("codebook_version", ""))}
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)


def banner_md(*, cohorts: Mapping) -> str:
    synthetic = [c for c, s in cohorts.items() if s.get("synthetic")]
    if not synthetic:
        return ""
    which = format_list([f"*{esc(cohort_label(cohorts, c))}* (`{c}`)" for c in synthetic])
    if len(synthetic) == len(cohorts):
        lead = _("Every cohort in this report is")
    else:
        lead = ngettext("{k} of the {n} cohorts is", "{k} of the {n} cohorts are", len(synthetic)).format(
            k=len(synthetic), n=len(cohorts))
    return _("{lead} **synthetic**: {which}. Synthetic cohorts are seeded reconstructions or "
             "generated data, so the pooled numbers below show how the analysis works and are no "
             "evidence about the training.").format(lead=lead, which=which) + "\n"


def overview_md(tables: Mapping, *, study: Mapping, cohorts: Mapping, analysis: Mapping,
                cohort_report_file: str = "report.html") -> str:
    timepoints = study["timepoints"]
    contrasts = study["contrasts"]
    flow = tables.get("flow")
    rows, overridden = [], []
    for name, settings in cohorts.items():
        n = participants(flow, name)
        changes = analysis_overrides(settings.get("analysis", {}), analysis)
        if changes:
            overridden.append(f"`{name}`: " + esc("; ".join(changes)))
        rows.append([f"`{name}`", esc(cohort_label(cohorts, name)), esc(settings.get("site") or DASH),
                     _("yes") if settings.get("synthetic") else _("no"), fmt_int(n),
                     _("[cohort report](../{name}/{file})").format(name=name, file=cohort_report_file)])
    version = study.get('codebook_version')
    out = [_("The study has **{n} cohorts**. All of them share the study's codebook (version "
             "{version}, the same questions and codes) and its time points ({timepoints}), so their "
             "shares and contrasts measure the same things and can be set side by side and "
             "pooled.").format(n=len(cohorts), version=esc(version) if version else _("unversioned"),
                               timepoints=", ".join(timepoints)) + "\n",
           md_table([_("Cohort"), _("Label"), _("Site"), _("Synthetic"), _("Participants"), _("Report")],
                    rows, align="lllcrl", caption=_("The cohorts of the study."), label="tbl-cohorts"),
           _("Contrasts (pairwise McNemar tests within each cohort, pooled below): {contrasts}.").format(
               contrasts=_("; ").join(f"{esc(name)} ({pair[0]} → {pair[1]})"
                                      for name, pair in contrasts.items())) + "\n"]
    if overridden:
        out.append(_("Cohorts with their own analysis settings (their cohort tables use them; the "
                     "pooling uses the study's settings): {cohorts}.").format(
            cohorts=_("; ").join(overridden)) + "\n")
    else:
        out.append(_("Every cohort uses the study's analysis settings.") + "\n")
    return "\n".join(out)


def _het_cell(stat, df, p, i2) -> str:
    if pd.isna(stat):
        return DASH
    return _("{statistic} ({df} df), p {p}, I² {i2}").format(statistic=fmt_num(stat), df=fmt_int(df),
                                                             p=fmt_p(p), i2=fmt_pct(i2, 0))


def _pooling_method_md(analysis: Mapping) -> list[str]:
    """The pooling's method in words: the Mantel–Haenszel test, estimates and heterogeneity."""
    mc = analysis["mcnemar"]
    how = (_("exact (binomial on the pooled discordant pairs) when Σ(b + c) < {n}, else "
             "asymptotic").format(n=mc['exact_below']) if mc["method"] == "auto"
           else esc(method_name(mc["method"])))
    return [
        _("Each contrast is pooled over the cohorts without ever pairing participants of different "
          "cohorts: the **Mantel–Haenszel test for matched pairs stratified by cohort** takes every "
          "participant's pair of answers as a stratum, which gives "
          "X²~MH~ = (Σ~k~(b~k~ − c~k~))² / Σ~k~(b~k~ + c~k~) with 1 df over cohorts k — McNemar's "
          "test when there is one cohort (Mantel & Haenszel 1959; Agresti 2013, *Categorical Data "
          "Analysis*, ch. 11). b~k~ and c~k~ are the participants of cohort k with the code at the "
          "earlier time point only and at the later one only. With `mcnemar.method: {method}` the "
          "p-value is {how}; p-values are {adjust}-adjusted across the contrasts of a code.").format(
            method=esc(mc['method']), how=how, adjust=esc(adjust_word(str(analysis['p_adjust'])))),
        "",
        _("The **pooled paired odds ratio** is the Mantel–Haenszel estimator Σc~k~ / Σb~k~ with the "
          "exact conditional interval; the **pooled risk difference** is Mantel–Haenszel weighted "
          "(weights n~k~, the cohort's pairs): Σ(c~k~ − b~k~) / Σn~k~, with a Wald interval from the "
          "cohort-stratified variance Σ[(b~k~ + c~k~) − (c~k~ − b~k~)²/n~k~] / (Σn~k~)². "
          "**Heterogeneity** between cohorts is checked on both scales: for the odds ratio by the "
          "χ² test of homogeneity of the discordant pairs' split c~k~ / (b~k~ + c~k~) (the "
          "matched-pairs counterpart of the Breslow–Day test), for the risk difference by "
          "Cochran's Q with inverse-variance weights; each with I² = max(0, (Q − df)/Q) "
          "(Higgins & Thompson 2002)."),
        ""]


def _pooled_rows(sub: pd.DataFrame, study: Mapping, q: str) -> tuple[list, list, dict]:
    """A question's pooled rows as cells: the contrasts' table, the heterogeneity table and
    each contrast's time points (``first → second``)."""
    rows: list[list[str]] = []
    het: list[list[str]] = []
    pairs: dict = {}
    for _i, r in sub.iterrows():
        label = esc(study_code_label(study, q, r["code"]))
        pairs.setdefault(str(r["contrast"]), esc(str(r["timepoints"])).replace("\\|", " → "))
        rows.append([label, esc(r["contrast"]), fmt_int(r["n"]), fmt_int(r["b"]),
                     fmt_int(r["c"]), fmt_num(r["statistic"]), (esc(method_short(str(r["method"]))) if not is_missing(r["method"]) else "") or DASH,
                     fmt_p(r["p_value"]), fmt_p(r["p_adjusted"]),
                     f"{fmt_num(r['risk_difference'])} {fmt_ci(r['rd_ci_low'], r['rd_ci_high'])}",
                     fmt_odds_ratio(r)])
        het.append([label, esc(r["contrast"]),
                    _het_cell(r["het_or_statistic"], r["het_or_df"], r["het_or_p"], r["het_or_i2"]),
                    _het_cell(r["het_rd_statistic"], r["het_rd_df"], r["het_rd_p"], r["het_rd_i2"])])
    return rows, het, pairs


def _pooled_notes(sub: pd.DataFrame) -> list[str]:
    """A question's pooled rows' notes, each once, without the routine ``auto: ...`` choice."""
    notes = sorted({str(n) for n in sub["note"] if isinstance(n, str) and n
                    and not n.startswith("auto:")})
    return [n for n in notes if n]


def _pooled_question_md(sub: pd.DataFrame, q: str, *, study: Mapping, cohorts: Mapping,
                        conf: str, contrast: str, figures: set[str] | None) -> list[str]:
    """One repeated question's pooled contrasts, forest figure, heterogeneity and notes."""
    spec = study["questions"][q]
    out = [f"## {esc(spec.get('prompt') or q)}\n"]
    rows, het, pairs = _pooled_rows(sub, study, q)
    prompt = esc(spec.get('prompt') or q)
    out.append(md_table(
        [_("Code"), _("Contrast"), _("Pairs"), "Σb", "Σc", "X²~MH~", _("Method"), "p", _("p adj."),
         _("RD~MH~ [{level} CI]").format(level=conf), _("OR~MH~ [{level} CI]").format(level=conf)],
        rows, align="llrrrrlrrrr",
        caption=_("Pooled contrasts over {n} cohorts: {prompt} ({pairs})").format(
            n=len(cohorts), prompt=prompt,
            pairs=_("; ").join(f"{esc(c)}: {pair}" for c, pair in pairs.items())),
        label=f"tbl-{slug('pooled', q)}"))
    stem = f"forest_{q}"
    if figures is None or stem in figures:
        out.append(md_figure(stem, _("Risk difference of the {contrast} contrast per cohort "
                                     "({level} CI) and pooled (Mantel–Haenszel, diamond): "
                                     "{prompt}").format(contrast=esc(contrast), level=conf, prompt=prompt),
                             f"fig-{slug('forest', q)}"))
    out.append(md_table([_("Code"), _("Contrast"), _("Odds ratio: discordant-pair χ²"),
                         _("Risk difference: Cochran's Q")], het, align="llll",
                        caption=_("Heterogeneity between cohorts: {prompt}").format(prompt=prompt),
                        label=f"tbl-{slug('heterogeneity', q)}"))
    notes = _pooled_notes(sub)
    if notes:
        out.append(_("Notes: {notes}.").format(notes=_("; ").join(esc(note_text(n)) for n in notes)) + "\n")
    return out


def pooled_md(tables: Mapping, *, study: Mapping, cohorts: Mapping, analysis: Mapping,
              figures: set[str] | None = None) -> str:
    """The pooled contrasts: the method, then per repeated question its tables and figure."""
    pooled = tables.get("pooled")
    conf = f"{analysis['confidence']:.0%}"
    contrast = forest_contrast(study)
    out = _pooling_method_md(analysis)
    if pooled is None or pooled.empty:
        out.append(_("No question is asked at two or more time points, so there is nothing to pool.") + "\n")
        return "\n".join(out)
    for q in repeated_questions(study["questions"]):
        sub = pooled[pooled["question"] == q]
        if not sub.empty:
            out += _pooled_question_md(sub, q, study=study, cohorts=cohorts, conf=conf,
                                       contrast=contrast, figures=figures)
    return "\n".join(out)


def limitations_md(tables: Mapping, *, study: Mapping, cohorts: Mapping) -> str:
    pooled = tables.get("pooled")
    items = [
        _("Cohorts are pooled as they are: none was randomised and none had a control group, so the "
          "pooled change across the training is a before–after change, and the baseline contrast "
          "is the only comparison without training."),
        _("The pooled odds ratio and its interval assume one common odds ratio; the pooled risk "
          "difference weighs cohorts by their pairs. Where the heterogeneity checks flag differences "
          "(large Q, I² well above 0), read the cohorts one by one rather than the pooled value."),
        _("Heterogeneity tests have little power with few cohorts; a small Q does not show the "
          "cohorts agree."),
        _("The Wald interval of the pooled risk difference can be too narrow when pairs are few."),
    ]
    if any(s.get("synthetic") for s in cohorts.values()):
        items.append(_("Synthetic cohorts carry no evidence about the training (see the banner)."))
    if pooled is not None and not pooled.empty and (pooled["method"].astype(str) == "exact").any():
        items.append(_("Where the pooled discordant pairs are few, the exact test is used; its "
                       "statistic column still shows X²~MH~ for comparison."))
    return "\n".join(f"- {item}" for item in items) + "\n"


def build_fragments(tables: Mapping[str, pd.DataFrame], *, study: Mapping, cohorts: Mapping,
                    analysis: Mapping, provenance: Mapping | None = None,
                    figures: set[str] | None = None,
                    cohort_report_file: str = "report.html") -> dict[str, str]:
    """All fragments as ``{file name: text}``: ``meta.yml`` and one ``<name>.md`` each, in the
    language in use (report/language); ``cohort_report_file``: the cohort reports linked."""
    study = {**study, "questions": localised_questions(study["questions"])}
    kw = {"study": study, "cohorts": cohorts}
    return {
        "meta.yml": meta_yaml(**kw),
        "banner.md": banner_md(cohorts=cohorts),
        "overview.md": overview_md(tables, **kw, analysis=analysis, cohort_report_file=cohort_report_file),
        "pooled.md": pooled_md(tables, **kw, analysis=analysis, figures=figures),
        "differences.md": differences_md(tables, **kw, analysis=analysis),
        "cohorts.md": cohorts_md(tables, **kw, analysis=analysis),
        "agreement.md": agreement_md(tables, **kw),
        "limitations.md": limitations_md(tables, **kw),
        "reproducibility.md": reproducibility_md(provenance),
    }


def write_fragments(tables: Mapping[str, pd.DataFrame], *, out_dir: str | Path,
                    figures_dir: str | Path | None = None, **kw) -> list[Path]:
    """Write every fragment to ``out_dir`` atomically; ``figures_dir``: figures present there."""
    figures = None if figures_dir is None else {p.stem for p in Path(figures_dir).glob("*.png")}
    written = []
    for name, text in build_fragments(tables, figures=figures, **kw).items():
        path = Path(out_dir) / name
        atomic_write_text(path, text)
        written.append(path)
    return written
