"""The Power section and the Limitations the data themselves show (small n, wide CIs...)."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_int,
    fmt_num,
    is_missing,
    md_table,
    method_name,
)
from alliance_pipeline.report.language import N_, _, format_list, join_sentences, localise_number
from alliance_pipeline.report.lookup import (
    adjust_name,
    analysis_settings,
    code_label,
    codes_in,
    conf_label,
    questions_of,
    rows_where,
    table_of,
    verdict_word,
)
from alliance_pipeline.report.notes import note_text
from alliance_pipeline.report.sections.design import normalise_flow
from alliance_pipeline.report.sections.difference import GEE, compare_pairs, term_label

MODEL_ASSUMPTIONS = N_("The all-available-data model (GEE) of the difference of changes is "
                       "unweighted, so it assumes that answers are missing completely at random, "
                       "the chance of missing allowed to depend on the time point only: whether "
                       "a participant missed a time point may not depend on the codes they gave "
                       "or would have given. With few clusters (at most {clusters} participants) "
                       "the usual sandwich covariance underestimates the variance, so the model "
                       "uses the Mancl–DeRouen bias-reduced covariance and is also shown on a t "
                       "reference; its intervals and p-values are still approximate with so few "
                       "participants.")
MULTIPLICITY = N_("Multiplicity: the McNemar p-values are {adjust} across the contrasts of one "
                  "code; the differences of changes are not adjusted, because each is the "
                  "design's one pre-specified question for its code ({terms}) and the "
                  "all-available-data model repeats it as a sensitivity analysis.")
# only with two or more codes (so always plural)
MULTIPLICITY_CODES = N_("Across the {codes} codes tested, a reader who wants the family-wise error "
                        "controlled should hold the smallest of their p-values to α/{codes} "
                        "(Bonferroni, the first step of Holm).")

SMALL_N = 30

WIDE_CI = 0.30

POWER_METHODS = {  # power.csv's method -> how its n_required was computed (docs/statistics.md)
    "connor1987": N_("Connor (1987), Biometrics 43:207-211, for McNemar's test; "
                     "effect halved at a fixed discordant share"),
    "one_sample_t_d": N_("a one-sample t test of mean d = 0, the observed standard deviation of d "
                         "standing for the trial's (statsmodels' TTestPower, noncentral t); "
                         "effect halved at a fixed standard deviation"),
}
DIFFERENCE_POWER = "one_sample_t_d"  # the rows of the compare pairs (contrast "A - B")


def _pct(x: float) -> str:
    return localise_number(f"{x * 100:g}") + "%"


def _power_table(power: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[float, float]]]:
    """The power table with its numbers as numbers, and its ``(power, effect scale)``
    combinations: the observed effect first, each by power."""
    power = power.copy()
    for c in ("power", "effect_scale", "n_required", "p10", "p01", "alpha"):
        if c in power.columns:
            power[c] = pd.to_numeric(power[c], errors="coerce")
    targets = (power[["power", "effect_scale"]].drop_duplicates()
               .sort_values(["effect_scale", "power"], ascending=[False, True]))
    combos: list[tuple[float, float]] = [(float(a), float(b))
                                         for a, b in targets.itertuples(index=False)]
    return power, combos


def _power_keys(power: pd.DataFrame, questions: Mapping, contrasts: list) -> pd.DataFrame:
    """The table's question, code and contrast, in the order of the codebook and config."""
    c_order = {c: i for i, c in enumerate(contrasts)}
    keys = power[["question", "code", "contrast"]].drop_duplicates().copy()
    q_order = {q: i for i, q in enumerate(questions)}
    keys["_q"] = keys["question"].astype(str).map(q_order).fillna(len(q_order))
    keys["_c"] = keys["contrast"].astype(str).map(c_order).fillna(len(c_order))
    keys["_code"] = [(codes_in(power, questions, q) + [c]).index(c) for q, c in
                     zip(keys["question"].astype(str), keys["code"].astype(str), strict=True)]
    return keys.sort_values(["_q", "_code", "_c"])


def _power_row(k, sub: pd.DataFrame, combos: list, questions: Mapping,
               notes: list[str]) -> tuple[list[str], dict]:
    """One key's cells and its n required per combination; its notes go into ``notes``."""
    first = sub.iloc[0]
    cells = [esc(k["question"]), esc(code_label(questions, k["question"], k["code"])),
             term_label(k["contrast"]), fmt_num(first.get("p10"), 3), fmt_num(first.get("p01"), 3)]
    ns = {}
    for pw, es in combos:
        hit = sub[(sub["power"].round(6) == round(pw, 6)) & (sub["effect_scale"].round(6) == round(es, 6))]
        n = hit["n_required"].iloc[0] if len(hit) else float("nan")
        ns[(pw, es)] = n
        cells.append(fmt_int(n))
        if len(hit) and "note" in hit.columns and not is_missing(hit["note"].iloc[0]) and str(hit["note"].iloc[0]).strip():
            notes.append(f"*{esc(code_label(questions, k['question'], k['code']))}, "
                         f"{esc(k['contrast'])}*: {esc(note_text(hit['note'].iloc[0]))}")
    return cells, ns


def _power_text(power: pd.DataFrame, combos: list, alpha, highlight: str) -> tuple[str, str]:
    """The table's lead paragraph and caption: McNemar's test only, or with the differences
    of changes of ``study.compare``."""
    methods = (list(dict.fromkeys(sorted(set(power["method"].dropna().astype(str)))))
               if "method" in power.columns else [])
    powers = format_list([_pct(pw) for pw in dict.fromkeys(pw for pw, _i in combos)])
    scales = [_("×{scale}: at {scale} times that effect").format(scale=localise_number(f"{es:g}"))
              for es in dict.fromkeys(es for _i, es in combos) if es != 1]
    alpha_text = (_("α = {alpha} (two-sided)").format(alpha=localise_number(f"{float(alpha):g}"))
                  if alpha is not None and not is_missing(alpha) else _("the configured α"))
    if DIFFERENCE_POWER not in methods:  # McNemar's test only
        method = _(", ").join(_(POWER_METHODS[m]) if m in POWER_METHODS else m for m in methods)
        caption = (_("Participants (pairs) required per code and contrast. ")
                   + _("; ").join([_("{powers}: pairs for that power at the effect observed "
                                     "here").format(powers=powers)] + scales)
                   + _("."))
        lead = _("Pairs a follow-up trial would need to detect each change with McNemar's test at "
                 "{alpha}, for the effect observed here and for half of it (formula: "
                 "{method}). p10 and p01 are the shares of pairs with the code "
                 "at the first time point only and at the second only. The {contrast} contrast, "
                 "the one a follow-up trial of the programme would test, is in bold.").format(
            alpha=alpha_text, method=esc(method) or _("see power.csv"), contrast=esc(highlight))
        return lead, caption
    # with the differences of changes of study.compare
    others = [m for m in methods if m != DIFFERENCE_POWER]
    mcnemar = _(", ").join(_(POWER_METHODS[m]) if m in POWER_METHODS else m for m in others)
    terms = format_list([term_label(t) for t in dict.fromkeys(
        power.loc[power["method"].astype(str) == DIFFERENCE_POWER, "contrast"].astype(str))])
    caption = (_("Participants required per code, contrast and difference of changes. ")
               + _("; ").join([_("{powers}: participants for that power at the effect "
                                 "observed here").format(powers=powers)] + scales)
               + _("."))
    lead = _("Participants a follow-up trial would need at {alpha}, for the effect observed "
             "here and for half of it. For the change of a contrast (pairs of answers): "
             "{mcnemar}. For a difference of changes ({terms}; d is each participant's "
             "change across the first contrast minus the change across the second): "
             "{t_test}. p10 and p01 are the shares of pairs with the code at the first time "
             "point only and at the second only; a difference of changes has none. The "
             "{contrast} contrast, the one a follow-up trial of the programme would test, is "
             "in bold.").format(
        alpha=alpha_text, mcnemar=esc(mcnemar) or _("see power.csv"), terms=terms,
        t_test=esc(_(POWER_METHODS[DIFFERENCE_POWER])), contrast=esc(highlight))
    return lead, caption


def _highlight_sentences(highlights: list, questions: Mapping, highlight: str) -> list[str]:
    """Per highlighted code, the pairs a follow-up needs at the observed effect (and half)."""
    sentences = []
    for k, ns in highlights:
        obs = [(pw, n) for (pw, es), n in ns.items() if es == 1 and not is_missing(n)]
        half = [(pw, n) for (pw, es), n in ns.items() if es != 1 and not is_missing(n)]
        if not obs:
            continue
        pw, n = min(obs)
        text = _("To detect the {contrast} change in *{code}* as observed with {power} power, a "
                 "follow-up needs {n} pairs").format(
            contrast=esc(highlight), code=esc(code_label(questions, k['question'], k['code'])),
            power=_pct(pw), n=fmt_int(n))
        if half:
            pw2, n2 = min(half)
            text += _(" ({n} if the effect is half as large)").format(n=fmt_int(n2))
        sentences.append(text + _("."))
    return sentences


def power_md(tables: Mapping, *, study: Mapping, cohort: Mapping, highlight: str = "training") -> str:
    """The sample sizes a follow-up trial would need: lead, table, sentences and notes."""
    questions = questions_of(study)
    power = table_of(tables, "power")
    if power is None or power.empty:
        return _("The sample-size table was not available for this report.") + "\n"
    power, combos = _power_table(power)
    contrasts = list(study.get("contrasts") or {})
    # short headers (one line in the PDF and the browser); the caption gives the key
    headers = [_("Question"), _("Code"), _("Contrast"), "p10", "p01"] + [
        _pct(pw) + ("" if es == 1 else f" ×{localise_number(f'{es:g}')}") for pw, es in combos]
    rows: list[list[str]] = []
    notes: list[str] = []
    highlights = []
    alpha = None
    for _i, k in _power_keys(power, questions, contrasts).iterrows():
        sub = power[(power["question"] == k["question"]) & (power["code"] == k["code"])
                    & (power["contrast"] == k["contrast"])]
        if alpha is None and "alpha" in sub.columns:
            alpha = sub.iloc[0]["alpha"]
        cells, ns = _power_row(k, sub, combos, questions, notes)
        if str(k["contrast"]) == highlight:
            cells = [f"**{c}**" if c and c != DASH else c for c in cells]
            highlights.append((k, ns))
        rows.append(cells)
    lead, caption = _power_text(power, combos, alpha, highlight)
    out = [lead + "\n",
           md_table(headers, rows, align="lll" + "r" * (len(headers) - 3),
                    caption=caption, label="tbl-power")]
    sentences = _highlight_sentences(highlights, questions, highlight)
    if sentences:
        out.append(join_sentences(sentences) + "\n")
    if notes:
        out.append(_("Notes: {notes}.").format(notes=_("; ").join(dict.fromkeys(notes))) + "\n")
    return "\n".join(out)


def limitations(tables: Mapping, *, study: Mapping, cohort: Mapping) -> list[tuple[str, str]]:
    """``[(key, markdown)]``: the authors' own limitations, then those the data raise."""
    questions = questions_of(study)
    analysis = analysis_settings(cohort)
    conf = conf_label(cohort)
    items = [
        ("awareness_not_objective", _("Awareness frequency was not measured objectively "
                                      "(a limitation the study's authors name).")),
        ("social_desirability", _("Social desirability bias may have shaped the self-reported "
                                  "feedback (named by the authors).")),
        ("self_report", _("All outcomes are coded from the trainees' own free-text descriptions "
                          "(self-report).")),
    ]
    props = table_of(tables, "proportions")
    if props is not None and not props.empty:
        n_max = pd.to_numeric(props["n"], errors="coerce").max()
        widths = pd.to_numeric(props["ci_high"], errors="coerce") - pd.to_numeric(props["ci_low"], errors="coerce")
        w_max = widths.max()
        if (not is_missing(n_max) and n_max < SMALL_N) or (not is_missing(w_max) and w_max > WIDE_CI):
            at = props.loc[widths.idxmax()] if not is_missing(w_max) else None  # type: ignore[call-overload]  # idxmax gives an index label; pandas-stubs type it Hashable
            text = _("The sample is small (at most {n} participants at a time point)").format(n=fmt_int(n_max))
            if at is not None:
                text += _(" and the intervals are wide: the widest {conf} spans {points} percentage points "
                          "(*{code}* at {timepoint})").format(
                    conf=conf, points=localise_number(f"{w_max * 100:.1f}"),
                    code=esc(code_label(questions, at['question'], at['code'])), timepoint=esc(at['timepoint']))
            items.append(("small_sample", text + _("; estimates are imprecise and only large "
                                                   "changes can be detected.")))
    tests = table_of(tables, "tests")
    mc = rows_where(tests, test="mcnemar")
    if not mc.empty and "method" in mc.columns:
        mc = mc[mc["method"].astype(str) != "clustered"]
    if not mc.empty and "method" in mc.columns:
        exact = mc["method"].astype(str).isin(["exact", "midp"])
        if exact.any():
            below = (analysis.get("mcnemar", {}) or {}).get("exact_below", 25)
            methods = format_list(sorted({method_name(m) for m in mc.loc[exact, "method"].astype(str)}))
            items.append(("exact_tests", _("Discordant pairs were few, so {k} of {n} McNemar tests used "
                                           "{methods} tests (b + c < {below}); these are conservative "
                                           "and have little power.").format(
                k=int(exact.sum()), n=len(mc), methods=methods, below=below)))
    agreement = table_of(tables, "agreement")
    if agreement is not None and not agreement.empty and "verdict" in agreement.columns:
        below = agreement[agreement["verdict"].astype(str).isin(["tentative", "insufficient"])]
        if not below.empty:
            listed = [f"*{esc(code_label(questions, r['question'], r['code']))}* ({esc(r['question'])}: "
                      f"{esc(verdict_word(r['verdict']))}, α = {fmt_num(r.get('krippendorff_alpha'))})"
                      for _i, r in below.iterrows()]
            items.append(("agreement_below_good", _("Inter-coder agreement was below good for "
                                                    "{codes}; findings about these codes rest on less "
                                                    "reliable coding.").format(codes=format_list(listed))))
    missing = _missing_summary(tables, study)
    if missing:
        items.append(("missing_timepoints", missing))
    items += _model_items(tables, study=study, cohort=cohort)
    contrasts = dict(study.get("contrasts") or {})
    if "baseline" in contrasts:
        t1, t2 = contrasts["baseline"]
        items.append(("no_control_group", _("There is no control group: the only comparison "
                                            "without training is the {first}→{second} baseline, so "
                                            "changes across the training may also reflect repeated "
                                            "measurement, maturation or expectation.").format(
            first=esc(t1), second=esc(t2))))
    else:
        items.append(("no_control_group", _("There is no control group and no measured period "
                                            "without training.")))
    site = cohort.get("site")
    items.append(("convenience_sample", _("Participants are a single-site convenience sample{site} of "
                                          "clinical-psychology graduate students; results may not "
                                          "generalise.").format(site=f" ({esc(site)})" if site else "")))
    if not cohort.get("coders_blind", False):
        items.append(("coders_not_blind", _("Coders were not documented as blind to the time point "
                                            "of a response.")))
    if cohort.get("synthetic"):
        items.append(("synthetic", _("The data are synthetic (a reconstruction of published "
                                     "shares), so no conclusion about the training can be drawn "
                                     "from them.")))
    return items


def _model_items(tables: Mapping, *, study: Mapping, cohort: Mapping) -> list[tuple[str, str]]:
    """What the all-available-data model assumes, and which family is adjusted for multiplicity
    (only when ``study.compare`` is configured and ``models.csv`` was read)."""
    models = table_of(tables, "models")
    pairs = compare_pairs(study)
    if not pairs or models is None or models.empty:
        return []
    items = []
    gee = rows_where(models, method=GEE)
    clusters = pd.to_numeric(gee.get("n_participants", pd.Series(dtype=float)), errors="coerce").max()
    if not gee.empty and not is_missing(clusters):
        items.append(("model_assumptions", _(MODEL_ASSUMPTIONS).format(clusters=fmt_int(clusters))))
    terms = [f"{a} − {b}" for a, b in pairs]
    tested = models[models["term"].astype(str).isin([f"{a} - {b}" for a, b in pairs])]
    codes = len(tested[["question", "code"]].drop_duplicates()) if not tested.empty else 0
    if codes:
        text = _(MULTIPLICITY).format(adjust=adjust_name(cohort), terms=esc(format_list(terms)))
        if codes > 1:
            text = join_sentences([text, _(MULTIPLICITY_CODES).format(codes=fmt_int(codes))])
        items.append(("multiplicity", text))
    return items


def _complete_cases(flow: pd.DataFrame, tests: pd.DataFrame | None, question: str) -> int | None:
    rows = flow[(flow["question"].astype(str) == question) & (flow["step"] == "complete")]
    if not rows.empty and not is_missing(rows["n"].iloc[0]):
        return int(rows["n"].iloc[0])
    rows = rows_where(tests, question=question, test="cochran_q")
    if not rows.empty:
        values = pd.to_numeric(rows["n"], errors="coerce").dropna()
        if len(values):
            return int(values.max())
    return None


def _missing_summary(tables: Mapping, study: Mapping) -> str | None:
    flow = normalise_flow(table_of(tables, "flow"), study)
    tests = table_of(tables, "tests")
    parts = []
    for q in dict.fromkeys(flow["question"].astype(str)):
        rows = flow[(flow["question"].astype(str) == q) & (flow["step"] == "timepoint")]
        if len(rows) < 2:
            continue
        complete = _complete_cases(flow, tests, q)
        gaps = rows[rows["n_excluded"].fillna(0) > 0]
        if gaps.empty and (complete is None or complete >= rows["n"].max()):
            continue
        per_tp = format_list([_("{n} at {timepoint}").format(n=fmt_int(r['n']), timepoint=esc(r['name']))
                             for _i, r in rows.iterrows()])
        text = _("*{question}* was answered by {counts}").format(question=esc(q), counts=per_tp)
        if complete is not None:
            text += _(", by {n} at every time point").format(n=fmt_int(complete))
        parts.append(text)
    if not parts:
        return None
    return _("Not every participant answered at every time point: {answers}. Cochran's Q uses "
             "complete cases and each McNemar test the pairs of its contrast (complete-case "
             "analysis), which assumes that missing answers are unrelated to the "
             "outcome.").format(answers=_("; ").join(parts))


def limitations_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    return "\n".join(f"- {text}" for _i, text in limitations(tables, study=study, cohort=cohort)) + "\n"
