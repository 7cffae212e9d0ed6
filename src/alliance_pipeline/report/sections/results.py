"""The Results section: shares per time point, McNemar and Cochran's Q tables, in words."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.outputs import repeated_questions
from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_odds_ratio,
    fmt_p,
    fmt_p_eq,
    is_missing,
    join_words,
    md_figure,
    md_table,
    row_value,
    slug,
)
from alliance_pipeline.report.lookup import (
    adjust_name,
    code_label,
    codes_in,
    conf_label,
    first_row,
    mcnemar_rows,
    permutation_caption,
    primary_mcnemar,
    questions_of,
    rows_where,
    share_table_rows,
    significance_level,
    table_of,
    timepoint_order,
)
from alliance_pipeline.report.sections.summary import change_clause


def test_note(row) -> str:
    """A test row's note without the routine ``auto: ...`` method choice (shown as Method)."""
    note = row_value(row, "note")
    if is_missing(note):
        return ""
    parts = [p.strip() for p in str(note).split(";") if p.strip() and not p.strip().startswith("auto:")]
    return esc("; ".join(parts))


def _ci_methods(rows: pd.DataFrame) -> str:
    names = []
    for column, what in (("rd_ci_method", "RD interval"), ("or_ci_method", "OR interval")):
        if column in rows.columns:
            values = sorted({str(v) for v in rows[column].dropna() if str(v)})
            if values:
                names.append(f"{what}: {esc(', '.join(values))}")
    return (" " + "; ".join(names) + ".") if names else ""


def _mcnemar_cells(r, questions: Mapping, q: str, code: str, name: str, pairs: str) -> list[str]:
    return [esc(code_label(questions, q, code)), esc(name),
            esc(row_value(r, "timepoints")).replace("\\|", " → "),
            pairs, fmt_int(row_value(r, "b")), fmt_int(row_value(r, "c")),
            esc(row_value(r, "method")) if not is_missing(row_value(r, "method")) else DASH,
            fmt_p(row_value(r, "p_value")), fmt_p(row_value(r, "p_adjusted")),
            f"{fmt_num(row_value(r, 'risk_difference'))} "
            f"{fmt_ci(row_value(r, 'rd_ci_low'), row_value(r, 'rd_ci_high'))}",
            fmt_odds_ratio(r)]


def results_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
               figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    props = table_of(tables, "proportions")
    tests = table_of(tables, "tests")
    order = timepoint_order(study)
    contrasts = dict(study.get("contrasts") or {})
    conf = conf_label(cohort)
    alpha = significance_level(cohort)
    adjust = adjust_name(cohort)
    out = []
    multi = repeated_questions(questions)
    if not multi:
        return "No question was asked at two or more time points, so no change was tested.\n"
    for q in multi:
        spec = questions[q]
        s = slug(q)
        out.append(f"## {esc(q)}: “{esc(spec['prompt'])}”\n")
        share_rows = share_table_rows(props, questions, q, order)
        if not share_rows:
            out.append("No shares were available for this question.\n")
            continue
        refs = [f"@tbl-shares-{s}"]
        if figures is None or f"shares_{q}" in figures:
            refs.append(f"@fig-shares-{s}")
        out.append(f"{join_words(refs)} show the share of participants with each code at each "
                   f"time point, with {conf.replace('CI', 'Wilson intervals')}.\n")
        out.append(md_table(["Code", "Time point", "k/n", "Share", f"{conf} (%)"], share_rows,
                            align="llrrr",
                            caption=f"Share of participants with each code ({esc(q)}); Wilson "
                                    f"score intervals.",
                            label=f"tbl-shares-{s}"))
        if figures is None or f"shares_{q}" in figures:
            out.append(md_figure(f"shares_{q}", f"Share of participants with each code at each "
                                 f"time point, with {conf} ({esc(q)}).", f"fig-shares-{s}"))
        # Cochran's Q
        q_rows, perm = [], permutation_caption(tests, q)
        for code in codes_in(props, questions, q):
            r = first_row(tests, question=q, code=code, test="cochran_q")
            if r is None:
                continue
            q_rows.append([esc(code_label(questions, q, code)), esc(row_value(r, "timepoints")).replace("\\|", ", "),
                           fmt_int(row_value(r, "n")), fmt_num(row_value(r, "statistic")), fmt_int(row_value(r, "df")),
                           fmt_p(row_value(r, "p_value"))]
                          + ([fmt_p(row_value(r, "p_permutation"))] if perm else [])
                          + [esc(row_value(r, "note")) if not is_missing(row_value(r, "note")) else ""])
        if q_rows:
            out.append(md_table(["Code", "Time points", "Complete cases", "Q", "df", "p"]
                                + (["p perm."] if perm else []) + ["Note"],
                                q_rows, align="llrrrr" + ("r" if perm else "") + "l",
                                caption=f"Cochran's Q: does the share differ across time points? "
                                        f"({esc(q)}){perm}",
                                label=f"tbl-cochran-{s}"))
        # McNemar
        m_rows = []
        m_notes = []
        for code in codes_in(props, questions, q):
            for name in contrasts:
                for _i, r in mcnemar_rows(tests, q, code, name).iterrows():
                    clustered = str(row_value(r, "method")) == "clustered"
                    pairs = fmt_int(row_value(r, "n"))
                    if clustered and not is_missing(row_value(r, "n_clusters")):
                        pairs += f" ({fmt_int(row_value(r, 'n_clusters'))} clusters)"
                    m_rows.append(_mcnemar_cells(r, questions, q, code, name, pairs))
                    note = test_note(r)
                    if note:
                        m_notes.append(f"*{esc(code_label(questions, q, code))}, {esc(name)}"
                                       f"{' (clustered)' if clustered else ''}*: {note}")
        if m_rows:
            forest = figures is None or f"forest_{q}" in figures
            q_tests = rows_where(tests, question=q, test="mcnemar")
            methods = _ci_methods(q_tests)
            clustered_text = ""
            if "method" in q_tests.columns and (q_tests["method"].astype(str) == "clustered").any():
                clustered_text = (" Clustered rows test the item-level pairs (several responses "
                                  "per participant), with participants as clusters; the row above "
                                  "each is the participant-level test.")
            out.append(f"@tbl-mcnemar-{s} tests each contrast with McNemar's test"
                       + (f"; @fig-forest-{s} shows the risk differences." if forest else ".") + "\n")
            out.append(md_table(["Code", "Contrast", "Time points", "Pairs", "b", "c", "Method", "p",
                                 "Adj. p", f"RD {conf}", f"OR {conf}"], m_rows,
                                align="lllrrrlrrrr",
                                caption=(f"McNemar tests per contrast ({esc(q)}). b: code present at the "
                                         f"first time point only; c: at the second only. Adj. p: "
                                         f"{adjust} across the contrasts of one code. RD: "
                                         f"risk difference (second − first); OR: paired odds ratio c/b."
                                         + methods + clustered_text),
                                label=f"tbl-mcnemar-{s}"))
            if m_notes:
                out.append("Notes: " + "; ".join(m_notes) + ".\n")
            if forest:
                out.append(md_figure(f"forest_{q}", f"Risk differences with {conf} per code and "
                                     f"contrast ({esc(q)}).", f"fig-forest-{s}"))
        # interpretation
        paragraphs = []
        for code in codes_in(props, questions, q):
            label = esc(code_label(questions, q, code))
            parts = []
            rq = first_row(tests, question=q, code=code, test="cochran_q")
            if rq is not None:
                pq = row_value(rq, "p_value")
                if is_missing(pq):
                    note = row_value(rq, "note")
                    parts.append("Cochran's Q could not be computed"
                                 + (f" ({esc(note)})" if not is_missing(note) and str(note) else ""))
                else:
                    parts.append(f"across all time points the shares differ "
                                 f"{'significantly' if pq < alpha else 'not significantly'} "
                                 f"(Cochran's Q = {fmt_num(row_value(rq, 'statistic'))}, df = "
                                 f"{fmt_int(row_value(rq, 'df'))}, n = {fmt_int(row_value(rq, 'n'))}, p {fmt_p_eq(pq)})")
            for name, (t1, t2) in contrasts.items():
                r = primary_mcnemar(tests, q, code, name)
                if r is None:
                    continue
                clause = change_clause(r, first=t1, second=t2, contrast=name, cohort=cohort)
                effects = []
                if not is_missing(row_value(r, "risk_difference")):
                    effects.append(f"RD = {fmt_num(row_value(r, 'risk_difference'))}, {conf} "
                                   f"{fmt_ci(row_value(r, 'rd_ci_low'), row_value(r, 'rd_ci_high'))}")
                odds = fmt_odds_ratio(r)
                if odds != DASH:
                    effects.append(f"paired OR = {odds.replace(' [', f', {conf} [', 1)}")
                if effects:
                    clause += f"; {'; '.join(effects)}"
                parts.append(clause)
            if parts:
                paragraphs.append(f"*{label}*: " + "; ".join(parts) + ".")
        if paragraphs:
            out.append("\n\n".join(paragraphs) + "\n")
    return "\n".join(out)
