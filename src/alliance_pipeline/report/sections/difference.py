"""The section "Did the training change more than time alone?" (issue #22).

Per ``study.compare`` pair [A, B] and repeated question asked at A's and B's time points: per
code, the change across A, the change across B and their difference A − B in the complete
cases (the sign-flip rows of ``models.csv``), beside the all-available-data model's contrasts
(its ``gee_bias_reduced`` rows, each with its ``gee_bias_reduced_t`` row: t reference, K − p
df), and one sentence saying whether the two agree (on the normal-reference rows). *Agree* is
defined here, and said so in the report: the two estimates of the difference have the same
sign and their p-values lie on the same side of α.

The changes across A and B in the complete cases are descriptive (the mean of the code's
change over the participants who answered at every time point of A and B, from
``final_codes.csv`` combined per participant as the change step combines it); their
difference is the sign-flip row's estimate. :func:`summary_sentences` gives the summary's
sentence on the difference of changes.

Every sentence is one whole format string with named placeholders (the constants below, marked
with ``N_`` and translated with ``_`` where they are used), so that the message catalogue
translates it as a unit (docs/languages.md).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from alliance_pipeline.change.participant_level import participant_codes
from alliance_pipeline.common.outputs import repeated_questions
from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_p_eq,
    is_missing,
    md_table,
    row_value,
    slug,
)
from alliance_pipeline.report.language import N_, _, format_list, join_sentences, localise_number
from alliance_pipeline.report.lookup import (
    code_label,
    codes_in,
    conf_label,
    confidence_level,
    first_row,
    questions_of,
    rows_where,
    significance_level,
    table_of,
)
from alliance_pipeline.report.notes import note_text

SIGNFLIP, GEE, GEE_T = "signflip", "gee_bias_reduced", "gee_bias_reduced_t"

NO_COMPARE = N_("No difference of changes is configured (`study.compare` is empty), so this "
                "report does not test whether one change exceeded another.\n")
NO_MODELS = N_("The table of the difference-of-changes tests (`models.csv`) was not available to "
               "this report, so the difference of changes is not shown.\n")
NO_QUESTION = N_("No question was asked at all the time points of {contrast_a} and {contrast_b}, "
                 "so their changes could not be compared.\n")
WHY = N_("A significant change across {contrast_a} next to a non-significant one over "
         "{contrast_b} would not by itself show that the two changes differ (Gelman & Stern "
         "2006), so this section tests the difference of the two changes itself, in the same "
         "participants.")
COMPLETE_METHOD = N_("The complete-case test takes the participants who answered at {timepoints}: "
                     "for each, d is the change in the code's presence across {contrast_a} "
                     "({a_first} → {a_second}) minus the change across {contrast_b} ({b_first} → "
                     "{b_second}); the estimate is the mean of d (risk-difference scale), p the "
                     "exact two-sided sign-flip test of d ≠ 0, with its {conf}.")
MODEL_METHOD = N_("The all-available-data model uses every answer, also of participants who "
                  "missed a time point: a marginal model of the code's presence on time point "
                  "(GEE, binomial family, identity link, exchangeable working correlation, "
                  "participants as clusters) with the Mancl–DeRouen bias-reduced sandwich "
                  "covariance; each contrast and difference is a Wald estimate with its {conf} "
                  "and p on the normal reference.")
T_REFERENCE = N_("Each is shown again on a t reference with K − p degrees of freedom (K "
                 "participants, p time points), because with so few participants as clusters "
                 "the normal reference is too liberal (Li & Redden 2015).")
MULTIPLICITY = N_("The p-values of this section are not adjusted for multiplicity: each code's "
                  "difference of changes is the design's one pre-specified question for that "
                  "code, and the model repeats that question on all available data as a "
                  "sensitivity analysis rather than adding tests.")
CODE_RESULT = N_("*{code}*: in the {n} complete cases the share changed by {change_a} across "
                 "{contrast_a} and by {change_b} over {contrast_b}; the difference was {estimate} "
                 "({conf} {low} to {high}; p {p}).")
CODE_UNTESTED = N_("*{code}*: the difference of changes could not be tested ({note}).")
AGREE = {  # by which codes agree: every one / some (others not comparable) / some not / none
    "all": N_("Complete cases and all available data agree on every code, agreement meaning "
              "estimates of the difference with the same sign and p-values on the same side of "
              "α = {alpha}."),
    "only": N_("Complete cases and all available data agree on {agreeing}, agreement meaning "
               "estimates of the difference with the same sign and p-values on the same side of "
               "α = {alpha}."),
    "some": N_("Complete cases and all available data agree on {agreeing} but not on "
               "{disagreeing}, agreement meaning estimates of the difference with the same sign "
               "and p-values on the same side of α = {alpha}."),
    "not": N_("Complete cases and all available data do not agree on {disagreeing}, agreement "
              "meaning estimates of the difference with the same sign and p-values on the same "
              "side of α = {alpha}."),
    "none": N_("Complete cases and all available data disagree on every code, agreement meaning "
               "estimates of the difference with the same sign and p-values on the same side of "
               "α = {alpha}."),
}
NOT_COMPARABLE = N_("For {codes} the complete cases and all available data cannot be compared, "
                    "because an estimate or p-value of the difference is undefined.")
SUMMARY_DIFFERENCES = N_("The change across {contrast_a} minus the change over {contrast_b} "
                         "({n} complete cases, sign-flip test) was {items}: {verdict}.")
SUMMARY_ITEM = N_("{estimate} for {code} (p {p})")  # one entry of {items}
SUMMARY_UNTESTED = N_("not testable for {code}")     # one entry of {items}
SUMMARY_VERDICT = {
    "none": N_("no difference is significant at α = {alpha}"),
    "some": N_("significant at α = {alpha} for {codes} only"),
    "all": N_("every difference is significant at α = {alpha}"),
    "untested": N_("no difference could be tested"),
}


def term_name(pair) -> str:
    """A compare pair's term as models.csv writes it: ``A - B``."""
    return f"{pair[0]} - {pair[1]}"


def term_label(term: str) -> str:
    """A term for the reader: ``training − baseline`` (a minus sign)."""
    return esc(str(term).replace(" - ", " − "))


def compare_pairs(study: Mapping) -> list[tuple[str, str]]:
    """The configured compare pairs whose contrasts both exist, in config order."""
    contrasts = study.get("contrasts") or {}
    return [(str(a), str(b)) for a, b in (study.get("compare") or [])
            if a in contrasts and b in contrasts]


def pair_questions(study: Mapping, pair) -> list[str]:
    """Repeated questions asked at every time point of both contrasts of ``pair``."""
    questions = questions_of(study)
    contrasts = study.get("contrasts") or {}
    needed = set(contrasts[pair[0]]) | set(contrasts[pair[1]])
    return [q for q in repeated_questions(questions) if needed <= set(questions[q]["timepoints"])]


def complete_case_changes(final_codes: pd.DataFrame | None, *, question: str, pair_a, pair_b,
                          aggregate: str = "any") -> pd.DataFrame:
    """Per code: ``n`` complete cases (answered at every time point of both pairs) and the mean
    change of the code's presence across each pair, ``change_a`` and ``change_b``
    (y_second − y_first averaged over the complete cases; NaN without complete cases)."""
    columns = ["code", "n", "change_a", "change_b"]
    if final_codes is None or final_codes.empty:
        return pd.DataFrame(columns=columns)
    pc = participant_codes(final_codes, aggregate)
    pc = pc[pc["question"].astype(str) == question]
    needed = set(pair_a) | set(pair_b)
    answered = pc.groupby("participant_id")["timepoint"].agg(lambda t: needed <= set(t)).astype(bool)
    complete = answered[answered].index
    wide = (pc[pc["participant_id"].isin(complete)]
            .pivot_table(index="participant_id", columns=["code", "timepoint"], values="present",
                         aggfunc="max", fill_value=0))
    rows = []
    for code in dict.fromkeys(pc["code"].astype(str)):
        def change(pair, code=code):
            if len(complete) == 0:
                return float("nan")
            first = wide.get((code, pair[0]), pd.Series(0, index=wide.index))
            second = wide.get((code, pair[1]), pd.Series(0, index=wide.index))
            return float(np.mean(second.to_numpy(float) - first.to_numpy(float)))
        rows.append({"code": code, "n": len(complete), "change_a": change(pair_a),
                     "change_b": change(pair_b)})
    return pd.DataFrame(rows, columns=columns)


def agreement_of(complete_row, model_row, alpha: float) -> str:
    """``agree``, ``disagree`` or ``undefined``: same sign of the two estimates (0 is its own
    sign) and p-values on the same side of ``alpha``."""
    values = [row_value(r, c) for r in (complete_row, model_row) for c in ("estimate", "p_value")]
    if any(is_missing(v) for v in values):
        return "undefined"
    est_cc, p_cc, est_gee, p_gee = (float(v) for v in values)
    same_sign = np.sign(est_cc) == np.sign(est_gee)
    same_side = (p_cc < alpha) == (p_gee < alpha)
    return "agree" if same_sign and same_side else "disagree"


def _note(row) -> str:
    note = row_value(row, "note")
    return "" if is_missing(note) else esc(note_text(note))


def interval_label(cohort: Mapping, *, wald: bool = False) -> str:
    """``95% interval`` (the sign-flip row's t interval) or ``95% Wald interval`` (the GEE's)."""
    level = localise_number(f"{confidence_level(cohort) * 100:g}")
    return (_("{level}% Wald interval") if wald else _("{level}% interval")).format(level=level)


def reference_label(row, n_timepoints: int) -> str:
    """``z`` on a normal-reference row, ``t(df)`` on a t row (df = participants − time points)."""
    k = row_value(row, "n_participants")
    if row_value(row, "method") != GEE_T or is_missing(k):
        return "z" if row_value(row, "method") != GEE_T else "t"
    return _("t ({df} df)").format(df=fmt_int(int(k) - n_timepoints))


def _alpha(alpha: float) -> str:
    return localise_number(f"{alpha:g}")


def _estimate_cell(row) -> str:
    estimate = fmt_num(row_value(row, "estimate"))
    interval = fmt_ci(row_value(row, "ci_low"), row_value(row, "ci_high"))
    return estimate if interval == DASH else f"{estimate} {interval}"


def agreement_sentence(labels: Mapping[str, str], verdicts: Mapping[str, str], alpha: float) -> str:
    """The sentence (or two) saying whether complete cases and all available data agree."""
    agreeing = [labels[c] for c, v in verdicts.items() if v == "agree"]
    disagreeing = [labels[c] for c, v in verdicts.items() if v == "disagree"]
    undefined = [labels[c] for c, v in verdicts.items() if v == "undefined"]
    out = []
    if agreeing or disagreeing:
        if not disagreeing:
            case = "only" if undefined else "all"
        elif not agreeing:
            case = "not" if undefined else "none"
        else:
            case = "some"
        out.append(_(AGREE[case]).format(agreeing=format_list(agreeing),
                                         disagreeing=format_list(disagreeing), alpha=_alpha(alpha)))
    if undefined:
        out.append(_(NOT_COMPARABLE).format(codes=format_list(undefined)))
    return join_sentences(out)


def _model_rows(models, q: str, code: str, label: str, terms, n_timepoints: int,
                notes: dict[tuple[str, str], list[str]]) -> list[list[str]]:
    """The GEE table's rows of one code: per term its normal-reference and t-reference rows
    (the notes collected in ``notes``)."""
    rows = []
    for name in terms:
        for method in (GEE, GEE_T):
            r = first_row(models, question=q, code=code, term=name, method=method)
            if r is None:
                continue
            rows.append([label, term_label(name), reference_label(r, n_timepoints),
                         _estimate_cell(r), fmt_p(row_value(r, "p_value")),
                         fmt_int(row_value(r, "n_participants")),
                         fmt_int(row_value(r, "n_observations"))])
            where = notes.setdefault((label, _note(r)), []) if _note(r) else []
            if _note(r) and term_label(name) not in where:
                where.append(term_label(name))
    return rows


def _question_md(tables: Mapping, *, study: Mapping, cohort: Mapping, pair, q: str) -> list[str]:
    questions = questions_of(study)
    contrasts = study["contrasts"]
    models = table_of(tables, "models")
    conf, alpha = conf_label(cohort), significance_level(cohort)
    a, b = pair
    term = term_name(pair)
    aggregate = str((cohort.get("analysis") or {}).get("aggregate", "any"))
    changes = complete_case_changes(table_of(tables, "final_codes"), question=q,
                                    pair_a=contrasts[a], pair_b=contrasts[b], aggregate=aggregate)
    s = slug(q, a, b)
    codes = codes_in(table_of(tables, "proportions"), questions, q) or list(questions[q]["codes"])
    cc_rows, gee_rows, sentences, verdicts, labels = [], [], [], {}, {}
    tps = list(dict.fromkeys([*contrasts[b], *contrasts[a]]))
    n_timepoints = len(questions[q]["timepoints"])
    notes: dict[tuple[str, str], list[str]] = {}  # (code, note) -> where it applies
    for code in codes:
        label = esc(code_label(questions, q, code))
        labels[code] = f"*{label}*"
        cc = first_row(models, question=q, code=code, term=term, method=SIGNFLIP)
        own = first_row(changes, code=code)
        n = row_value(cc, "n_participants")
        n = row_value(own, "n") if is_missing(n) else n
        change_a, change_b = row_value(own, "change_a"), row_value(own, "change_b")
        cc_rows.append([label, fmt_int(n), fmt_num(change_b), fmt_num(change_a), _estimate_cell(cc),
                        fmt_p(row_value(cc, "p_value"))])
        if cc is None or is_missing(row_value(cc, "estimate")) or is_missing(row_value(cc, "p_value")):
            sentences.append(_(CODE_UNTESTED).format(code=label, note=_note(cc) or _("no result")))
        else:
            sentences.append(_(CODE_RESULT).format(
                code=label, n=fmt_int(n), change_a=fmt_num(change_a), change_b=fmt_num(change_b),
                contrast_a=esc(a), contrast_b=esc(b), estimate=fmt_num(row_value(cc, "estimate")),
                conf=conf, low=fmt_num(row_value(cc, "ci_low")), high=fmt_num(row_value(cc, "ci_high")),
                p=fmt_p_eq(row_value(cc, "p_value"))))
        if _note(cc):
            notes.setdefault((label, _note(cc)), []).append(_("complete cases"))
        gee_rows += _model_rows(models, q, code, label, [*contrasts, term], n_timepoints, notes)
        verdicts[code] = agreement_of(cc, first_row(models, question=q, code=code, term=term,
                                                    method=GEE), alpha)
    out = [f"## {esc(q)}: {term_label(term)}\n",
           md_table([_("Code"), _("Complete cases"), esc(b), esc(a),
                     _("{term} {conf}").format(term=term_label(term), conf=conf), "p"],
                    cc_rows, align="lrrrrr",
                    caption=_("Difference of changes in the complete cases ({question}): mean "
                              "change of the code's presence over {contrast_b} ({b_path}) and "
                              "across {contrast_a} ({a_path}), and their difference with the "
                              "exact sign-flip test; participants who answered at "
                              "{timepoints}.").format(
                        question=esc(q), contrast_b=esc(b), b_path=" → ".join(contrasts[b]),
                        contrast_a=esc(a), a_path=" → ".join(contrasts[a]),
                        timepoints=_(", ").join(tps)),
                    label=f"tbl-difference-{s}")]
    if gee_rows:
        out.append(md_table([_("Code"), _("Term"), _("Reference"),
                             _("Estimate {conf}").format(conf=conf), "p",
                             _("Participants"), _("Answers")],
                            gee_rows, align="lllrrrr",
                            caption=_("All available data ({question}): each contrast and the "
                                      "difference of changes from the GEE (identity link, "
                                      "exchangeable, bias-reduced covariance), its interval and "
                                      "p on the normal reference (z) and on the t reference "
                                      "with K − p degrees of freedom (t); Answers: observations "
                                      "used.").format(question=esc(q)),
                            label=f"tbl-model-{s}"))
    out.append(join_sentences(sentences) + "\n")
    agreement = agreement_sentence(labels, verdicts, alpha)
    if agreement:
        out.append(agreement + "\n")
    if notes:
        out.append(_("Notes: {notes}.").format(notes=_("; ").join(
            _("*{code}, {where}*: {note}").format(code=label, where=format_list(where), note=note)
            for (label, note), where in notes.items())) + "\n")
    return out


def difference_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    """The section's Markdown (without its heading, which the template gives)."""
    pairs = compare_pairs(study)
    if not pairs:
        return _(NO_COMPARE)
    models = table_of(tables, "models")
    if models is None:
        return _(NO_MODELS)
    contrasts = study["contrasts"]
    out = []
    for a, b in pairs:
        questions = pair_questions(study, (a, b))
        if not questions:
            out.append(_(NO_QUESTION).format(contrast_a=esc(a), contrast_b=esc(b)))
            continue
        tps = list(dict.fromkeys([*contrasts[b], *contrasts[a]]))
        out.append(join_sentences([
            _(WHY).format(contrast_a=esc(a), contrast_b=esc(b)),
            _(COMPLETE_METHOD).format(timepoints=format_list(tps), contrast_a=esc(a),
                                      contrast_b=esc(b), a_first=contrasts[a][0],
                                      a_second=contrasts[a][1], b_first=contrasts[b][0],
                                      b_second=contrasts[b][1], conf=interval_label(cohort)),
            _(MODEL_METHOD).format(conf=interval_label(cohort, wald=True)),
            _(T_REFERENCE),
            _(MULTIPLICITY)]) + "\n")
        for q in questions:
            out += _question_md(tables, study=study, cohort=cohort, pair=(a, b), q=q)
    return "\n".join(out)


def summary_sentences(tables: Mapping, *, study: Mapping, cohort: Mapping,
                      code_name) -> list[str]:
    """The summary's sentence on the difference of changes, one per compare pair and question:
    each code's complete-case estimate and sign-flip p, and which are significant.
    ``code_name(question, code)`` writes a code's name."""
    models = table_of(tables, "models")
    if models is None:
        return []
    alpha = significance_level(cohort)
    out = []
    for a, b in compare_pairs(study):
        term = term_name((a, b))
        for q in pair_questions(study, (a, b)):
            rows = rows_where(models, question=q, term=term, method=SIGNFLIP)
            if rows.empty:
                continue
            items, significant, tested, counts = [], [], 0, set()
            for code in dict.fromkeys(rows["code"].astype(str)):
                r = first_row(rows, code=code)
                p, estimate = row_value(r, "p_value"), row_value(r, "estimate")
                counts.add(fmt_int(row_value(r, "n_participants")))
                if is_missing(p) or is_missing(estimate):
                    items.append(_(SUMMARY_UNTESTED).format(code=code_name(q, code)))
                    continue
                tested += 1
                items.append(_(SUMMARY_ITEM).format(estimate=fmt_num(estimate),
                                                    code=code_name(q, code), p=fmt_p_eq(p)))
                if float(p) < alpha:
                    significant.append(code_name(q, code))
            case = ("untested" if not tested else "none" if not significant
                    else "all" if len(significant) == tested else "some")
            out.append(_(SUMMARY_DIFFERENCES).format(
                contrast_a=esc(a), contrast_b=esc(b), n=_(" or ").join(sorted(counts)),
                items=format_list(items),
                verdict=_(SUMMARY_VERDICT[case]).format(alpha=_alpha(alpha),
                                                        codes=format_list(significant))))
    return out
