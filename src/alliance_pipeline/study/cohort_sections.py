"""The study report's per-cohort fragments: each cohort's own tables side by side.

``cohorts.md`` (:func:`cohorts_md`): per cohort, its shares at every time point and its
contrasts' risk differences (the cohorts' ``proportions`` and ``tests`` stacked);
``agreement.md`` (:func:`agreement_md`): Krippendorff's alpha per question and code, the
cohorts side by side (the cohorts' ``agreement`` stacked). Built by
:func:`alliance_pipeline.study.fragments.build_fragments`; pure, no file I/O.
"""
from __future__ import annotations

from collections.abc import Mapping

from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    md_table,
    slug,
)
from alliance_pipeline.report.language import _
from alliance_pipeline.report.lookup import adjust_word, verdict_word
from alliance_pipeline.study.lookup import cohort_label, select_row, study_code_label


def _pct_cell(row) -> str:
    if row is None:
        return DASH
    return f"{fmt_int(row['k'])}/{fmt_int(row['n'])} ({fmt_pct(row['proportion'])})"


def _contrast_cell(row) -> str:
    if row is None:
        return DASH
    return (f"{fmt_num(row['risk_difference'])} {fmt_ci(row['rd_ci_low'], row['rd_ci_high'])}"
            + _(", ") + f"p {fmt_p(row['p_adjusted'])}")


def cohorts_md(tables: Mapping, *, study: Mapping, cohorts: Mapping, analysis: Mapping) -> str:
    """Per cohort: shares at every time point and the contrasts' risk differences."""
    props, tests = tables.get("proportions"), tables.get("tests")
    conf = f"{analysis['confidence']:.0%}"
    out = [_("Shares are k of n participants with the code. Contrasts give the risk difference "
             "(later − earlier share, {conf} CI, Newcombe's hybrid score interval) and the "
             "{adjust}-adjusted McNemar p of the cohort's own tests.").format(
        conf=conf, adjust=esc(adjust_word(str(analysis['p_adjust'])))) + "\n"]
    for name in cohorts:
        out.append(f"## {esc(cohort_label(cohorts, name))} (`{name}`)\n")
        for q, spec in study["questions"].items():
            tps = spec["timepoints"]
            applicable = [c for c, pair in study["contrasts"].items() if set(pair) <= set(tps)]
            caption = f"{esc(cohort_label(cohorts, name))}: {esc(spec.get('prompt') or q)}"
            shares, changes = [], []
            for code in spec["codes"]:
                label = esc(study_code_label(study, q, code))
                shares.append([label] + [_pct_cell(select_row(props, cohort=name, question=q,
                                                            code=code, timepoint=tp)) for tp in tps])
                changes.append([label] + [_contrast_cell(select_row(
                    tests, cohort=name, question=q, code=code, test="mcnemar", contrast=contrast,
                    exclude_method="clustered")) for contrast in applicable])
            # shares and contrasts in two tables: side by side they are wider than the page
            out.append(md_table([_("Code")] + list(tps), shares, align="l" + "r" * len(tps),
                                caption=caption + (_(" (shares)") if applicable else ""),
                                label=f"tbl-{slug('cohort', name, q)}"))
            if applicable:
                out.append(md_table([_("Code")] + applicable, changes, align="l" + "r" * len(applicable),
                                    caption=caption + _(" (contrasts: RD [CI], adjusted p)"),
                                    label=f"tbl-{slug('cohort', name, q, 'contrasts')}"))
    return "\n".join(out)


WIDE_COHORTS = 6  # up to this many cohorts are columns of the agreement table; more are rows


def _alpha_cell(hit, with_ci: bool) -> str:
    if hit is None:
        return DASH
    verdict = esc(verdict_word(hit["verdict"])) if isinstance(hit["verdict"], str) else ""
    ci = f" {fmt_ci(hit['alpha_ci_low'], hit['alpha_ci_high'])}" if with_ci else ""
    return f"{fmt_num(hit['krippendorff_alpha'])}{ci} {verdict}".strip()


def agreement_md(tables: Mapping, *, study: Mapping, cohorts: Mapping) -> str:
    """Krippendorff's alpha per question and code, cohorts side by side (as rows when many)."""
    agreement = tables.get("agreement")
    if agreement is None or agreement.empty:
        return _("No agreement tables were found.") + "\n"
    names = list(cohorts)
    wide = len(names) <= WIDE_COHORTS
    out = [(_("Inter-coder agreement on the independent codes, before consensus, per cohort: "
              "Krippendorff's alpha with its bootstrap interval and the verdict by the cohort's "
              "thresholds (`*`: the question as a whole).") if wide else
            _("Inter-coder agreement on the independent codes, before consensus, per cohort: "
              "Krippendorff's alpha and the verdict by the cohort's thresholds (`*`: the question "
              "as a whole).")) + "\n"]
    for q, spec in study["questions"].items():
        codes = [*spec["codes"], "*"]
        labels = [esc(_("whole question") if c == "*" else study_code_label(study, q, c)) for c in codes]
        caption = _("Krippendorff's alpha by cohort: {prompt}").format(prompt=esc(spec.get('prompt') or q))
        label = f"tbl-{slug('agreement', q)}"
        if wide:
            rows = [[lab] + [_alpha_cell(select_row(agreement, cohort=n, question=q, code=c), True)
                             for n in names] for c, lab in zip(codes, labels, strict=True)]
            out.append(md_table([_("Code")] + [f"`{n}`" for n in names], rows,
                                align="l" + "r" * len(names), caption=caption, label=label))
        else:
            rows = [[f"`{n}`"] + [_alpha_cell(select_row(agreement, cohort=n, question=q, code=c), False)
                                  for c in codes] for n in names]
            out.append(md_table([_("Cohort")] + labels, rows, align="l" + "r" * len(codes),
                                caption=caption, label=label))
    return "\n".join(out)
