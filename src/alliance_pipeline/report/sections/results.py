"""The Results section: shares per time point, McNemar and Cochran's Q tables, in words."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.common.outputs import repeated_questions
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
    md_figure,
    md_table,
    method_short,
    row_value,
    slug,
)
from alliance_pipeline.report.language import _, format_list
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
    wilson_label,
)
from alliance_pipeline.report.notes import note_text
from alliance_pipeline.report.sections.summary import change_clause


def test_note(row) -> str:
    """A test row's note without the routine ``auto: ...`` method choice (shown as Method)."""
    note = row_value(row, "note")
    if is_missing(note):
        return ""
    parts = [p.strip() for p in str(note).split(";") if p.strip() and not p.strip().startswith("auto:")]
    return esc(note_text("; ".join(parts)))


def _ci_methods(rows: pd.DataFrame) -> str:
    names = []
    for column, what in (("rd_ci_method", _("RD interval")), ("or_ci_method", _("OR interval"))):
        if column in rows.columns:
            values = sorted({str(v) for v in rows[column].dropna() if str(v)})
            if values:
                names.append(f"{what}: {esc(', '.join(values))}")
    return (_(" {methods}.").format(methods=_("; ").join(names))) if names else ""


def _mcnemar_cells(r, questions: Mapping, q: str, code: str, name: str, pairs: str) -> list[str]:
    return [esc(code_label(questions, q, code)), esc(name),
            esc(row_value(r, "timepoints")).replace("\\|", " → "),
            pairs, fmt_int(row_value(r, "b")), fmt_int(row_value(r, "c")),
            esc(method_short(str(row_value(r, "method")))) if not is_missing(row_value(r, "method")) else DASH,
            fmt_p(row_value(r, "p_value")), fmt_p(row_value(r, "p_adjusted")),
            f"{fmt_num(row_value(r, 'risk_difference'))} "
            f"{fmt_ci(row_value(r, 'rd_ci_low'), row_value(r, 'rd_ci_high'))}",
            fmt_odds_ratio(r)]


def _shares_md(q: str, share_rows: list, *, cohort: Mapping, figures: set[str] | None) -> list[str]:
    """A question's shares: the sentence pointing to them, their table and their figure."""
    s = slug(q)
    conf = conf_label(cohort)
    refs = [f"@tbl-shares-{s}"]
    if figures is None or f"shares_{q}" in figures:
        refs.append(f"@fig-shares-{s}")
    out = [_("{refs} show the share of participants with each code at each time point, "
             "with {intervals}.").format(refs=format_list(refs), intervals=wilson_label(cohort)) + "\n"]
    out.append(md_table([_("Code"), _("Time point"), "k/n", _("Share"), f"{conf} (%)"], share_rows,
                        align="llrrr",
                        caption=_("Share of participants with each code ({question}); Wilson "
                                  "score intervals.").format(question=esc(q)),
                        label=f"tbl-shares-{s}"))
    if figures is None or f"shares_{q}" in figures:
        out.append(md_figure(f"shares_{q}", _("Share of participants with each code at each "
                                              "time point, with {conf} ({question}).").format(
            conf=conf, question=esc(q)), f"fig-shares-{s}"))
    return out


def _cochran_md(props, tests, questions: Mapping, q: str) -> list[str]:
    """A question's Cochran's Q table (nothing when no code was tested)."""
    q_rows, perm = [], permutation_caption(tests, q)
    for code in codes_in(props, questions, q):
        r = first_row(tests, question=q, code=code, test="cochran_q")
        if r is None:
            continue
        q_rows.append([esc(code_label(questions, q, code)), esc(row_value(r, "timepoints")).replace("\\|", ", "),
                       fmt_int(row_value(r, "n")), fmt_num(row_value(r, "statistic")), fmt_int(row_value(r, "df")),
                       fmt_p(row_value(r, "p_value"))]
                      + ([fmt_p(row_value(r, "p_permutation"))] if perm else [])
                      + [esc(note_text(row_value(r, "note"))) if not is_missing(row_value(r, "note")) else ""])
    if not q_rows:
        return []
    return [md_table([_("Code"), _("Time points"), _("Complete cases"), "Q", "df", "p"]
                     + ([_("p perm.")] if perm else []) + [_("Note")],
                     q_rows, align="llrrrr" + ("r" if perm else "") + "l",
                     caption=_("Cochran's Q: does the share differ across time points? "
                               "({question}){permutations}").format(question=esc(q),
                                                                    permutations=perm),
                     label=f"tbl-cochran-{slug(q)}")]


def _mcnemar_rows(props, tests, questions: Mapping, q: str, contrasts: Mapping) -> tuple[list, list]:
    """A question's McNemar rows as cells, and their notes (``*code, contrast*: note``)."""
    m_rows, m_notes = [], []
    for code in codes_in(props, questions, q):
        for name in contrasts:
            for _i, r in mcnemar_rows(tests, q, code, name).iterrows():
                clustered = str(row_value(r, "method")) == "clustered"
                pairs = fmt_int(row_value(r, "n"))
                if clustered and not is_missing(row_value(r, "n_clusters")):
                    pairs += _(" ({n} clusters)").format(n=fmt_int(row_value(r, 'n_clusters')))
                m_rows.append(_mcnemar_cells(r, questions, q, code, name, pairs))
                note = test_note(r)
                if note:
                    m_notes.append(f"*{esc(code_label(questions, q, code))}, {esc(name)}"
                                   f"{_(' (clustered)') if clustered else ''}*: {note}")
    return m_rows, m_notes


def _clustered_text(q_tests: pd.DataFrame) -> str:
    """The McNemar caption's sentence on clustered rows, when the question has any."""
    if "method" in q_tests.columns and (q_tests["method"].astype(str) == "clustered").any():
        return _(" Clustered rows test the item-level pairs (several responses "
                 "per participant), with participants as clusters; the row above "
                 "each is the participant-level test.")
    return ""


def _mcnemar_md(props, tests, questions: Mapping, q: str, *, contrasts: Mapping, cohort: Mapping,
                figures: set[str] | None) -> list[str]:
    """A question's McNemar tests: the sentence, their table, notes and the forest figure."""
    m_rows, m_notes = _mcnemar_rows(props, tests, questions, q, contrasts)
    if not m_rows:
        return []
    s, conf = slug(q), conf_label(cohort)
    forest = figures is None or f"forest_{q}" in figures
    q_tests = rows_where(tests, question=q, test="mcnemar")
    methods = _ci_methods(q_tests)
    clustered_text = _clustered_text(q_tests)
    out = [(_("@tbl-mcnemar-{s} tests each contrast with McNemar's test; @fig-forest-{s} "
              "shows the risk differences.") if forest else
            _("@tbl-mcnemar-{s} tests each contrast with McNemar's test.")).format(s=s) + "\n"]
    out.append(md_table([_("Code"), _("Contrast"), _("Time points"), _("Pairs"), "b", "c",
                         _("Method"), "p", _("Adj. p"), f"RD {conf}", f"OR {conf}"], m_rows,
                        align="lllrrrlrrrr",
                        caption=(_("McNemar tests per contrast ({question}). b: code present at the "
                                   "first time point only; c: at the second only. Adj. p: "
                                   "{adjust} across the contrasts of one code. RD: "
                                   "risk difference (second − first); OR: paired odds ratio "
                                   "c/b.").format(question=esc(q), adjust=adjust_name(cohort))
                                 + methods + clustered_text),
                        label=f"tbl-mcnemar-{s}"))
    if m_notes:
        out.append(_("Notes: {notes}.").format(notes=_("; ").join(m_notes)) + "\n")
    if forest:
        out.append(md_figure(f"forest_{q}", _("Risk differences with {conf} per code and "
                                              "contrast ({question}).").format(conf=conf, question=esc(q)),
                             f"fig-forest-{s}"))
    return out


def _cochran_clause(rq, alpha: float) -> str:
    """Cochran's Q of a code in words: whether the shares differ across all time points."""
    pq = row_value(rq, "p_value")
    if is_missing(pq):
        note = row_value(rq, "note")
        return (_("Cochran's Q could not be computed")
                + (f" ({esc(note_text(note))})" if not is_missing(note) and str(note) else ""))
    template = (_("across all time points the shares differ significantly (Cochran's Q = "
                  "{q}, df = {df}, n = {n}, p {p})") if pq < alpha else
                _("across all time points the shares differ not significantly (Cochran's "
                  "Q = {q}, df = {df}, n = {n}, p {p})"))
    return template.format(q=fmt_num(row_value(rq, 'statistic')), df=fmt_int(row_value(rq, 'df')),
                           n=fmt_int(row_value(rq, 'n')), p=fmt_p_eq(pq))


def _contrast_clause(r, *, pair: tuple, name: str, cohort: Mapping) -> str:
    """A contrast's McNemar test of a code in words, with its risk difference and odds ratio."""
    t1, t2 = pair
    conf = conf_label(cohort)
    clause = change_clause(r, first=t1, second=t2, contrast=name, cohort=cohort)
    effects = []
    if not is_missing(row_value(r, "risk_difference")):
        effects.append(f"RD = {fmt_num(row_value(r, 'risk_difference'))}, {conf} "
                       f"{fmt_ci(row_value(r, 'rd_ci_low'), row_value(r, 'rd_ci_high'))}")
    odds = fmt_odds_ratio(r)
    if odds != DASH:
        effects.append(_("paired OR = {odds}").format(odds=odds.replace(' [', f', {conf} [', 1)))
    if effects:
        clause += _("; ") + _("; ").join(effects)
    return clause


def _interpretation_md(props, tests, questions: Mapping, q: str, *, contrasts: Mapping,
                       cohort: Mapping) -> list[str]:
    """A question's results in words, one paragraph per code (nothing when none was tested)."""
    alpha = significance_level(cohort)
    paragraphs = []
    for code in codes_in(props, questions, q):
        label = esc(code_label(questions, q, code))
        parts = []
        rq = first_row(tests, question=q, code=code, test="cochran_q")
        if rq is not None:
            parts.append(_cochran_clause(rq, alpha))
        for name, (t1, t2) in contrasts.items():
            r = primary_mcnemar(tests, q, code, name)
            if r is not None:
                parts.append(_contrast_clause(r, pair=(t1, t2), name=name, cohort=cohort))
        if parts:
            paragraphs.append(f"*{label}*: " + _("; ").join(parts) + _("."))
    return ["\n\n".join(paragraphs) + "\n"] if paragraphs else []


def results_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
               figures: set[str] | None = None) -> str:
    """The Results section: per repeated question its shares, Cochran's Q and McNemar
    tables with their figures, and the results in words."""
    questions = questions_of(study)
    props = table_of(tables, "proportions")
    tests = table_of(tables, "tests")
    order = timepoint_order(study)
    contrasts = dict(study.get("contrasts") or {})
    out = []
    multi = repeated_questions(questions)
    if not multi:
        return _("No question was asked at two or more time points, so no change was tested.") + "\n"
    for q in multi:
        spec = questions[q]
        out.append(_("## {question}: “{prompt}”").format(question=esc(q), prompt=esc(spec["prompt"])) + "\n")
        share_rows = share_table_rows(props, questions, q, order)
        if not share_rows:
            out.append(_("No shares were available for this question.") + "\n")
            continue
        out += _shares_md(q, share_rows, cohort=cohort, figures=figures)
        out += _cochran_md(props, tests, questions, q)
        out += _mcnemar_md(props, tests, questions, q, contrasts=contrasts, cohort=cohort, figures=figures)
        out += _interpretation_md(props, tests, questions, q, contrasts=contrasts, cohort=cohort)
    return "\n".join(out)
