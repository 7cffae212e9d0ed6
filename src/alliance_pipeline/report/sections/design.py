"""The Design section (time points, contrasts, methods) and the participant flow."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_int,
    is_missing,
    md_figure,
    md_table,
    method_name,
)
from alliance_pipeline.report.language import (
    _,
    format_list,
    join_sentences,
    localise_number,
    ngettext,
)
from alliance_pipeline.report.lookup import (
    adjust_name,
    analysis_settings,
    cochran_how,
    confidence_level,
    contrast_reading,
    questions_of,
    table_of,
)


def design_md(*, study: Mapping, cohort: Mapping) -> str:
    questions = questions_of(study)
    analysis = analysis_settings(cohort)
    tps = list(study.get("timepoints", []))
    contrasts = dict(study.get("contrasts") or {})
    out = [_("Participants were measured at {n} time points, in order: {timepoints}. Free-text "
             "responses were coded independently by two or more coders against the codebook "
             "below.").format(n=len(tps), timepoints=format_list([f'*{esc(t)}*' for t in tps])) + "\n"]
    if contrasts:
        rows = [[esc(name), esc(t1), esc(t2), contrast_reading(name)]
                for name, (t1, t2) in contrasts.items()]
        out.append(md_table([_("Contrast"), _("From"), _("To"), _("Reading")], rows,
                            caption=_("Paired contrasts tested for every code of a question asked "
                                      "at two or more time points, in report order."),
                            label="tbl-contrasts"))
    mc = analysis.get("mcnemar", {}) or {}
    method = str(mc.get("method", "auto"))
    if method == "auto":
        how = _("exact when the discordant pairs b + c are fewer than {n}, asymptotic "
                "otherwise").format(n=mc.get('exact_below', 25))
    else:
        how = method_name(method)
    ag = analysis.get("agreement", {}) or {}
    out.append(_(
        "Shares are k of n participants with a code at a time point, with "
        "{level}% Wilson score intervals. Change across all time points "
        "is tested with Cochran's Q on complete cases{cochran}; each contrast "
        "with McNemar's test ({how}), p-values {adjust} across the contrasts of one code. "
        "Effect sizes are the risk difference (share at the second time point minus the "
        "first) and the paired odds ratio c / b. Agreement is judged good at Krippendorff's "
        "α ≥ {good} and tentative at α ≥ {acceptable}.").format(
        level=localise_number(f"{confidence_level(cohort) * 100:g}"), cochran=cochran_how(analysis),
        how=how, adjust=adjust_name(cohort), good=localise_number(f"{float(ag.get('good', 0.8)):.3f}"),
        acceptable=localise_number(f"{float(ag.get('acceptable', 0.667)):.3f}")) + "\n")
    version = study.get("codebook_version")
    out.append((_("## Codebook (version {version})").format(version=esc(version)) if version
                else _("## Codebook")) + "\n")
    for q, spec in questions.items():
        tp_text = format_list([esc(t) for t in spec["timepoints"]])
        template = (_("**{question}**: “{prompt}” Asked at {timepoints}; several codes per response allowed.")
                    if spec['multi_label'] else
                    _("**{question}**: “{prompt}” Asked at {timepoints}; one code per response."))
        out.append(template.format(question=esc(q), prompt=esc(spec['prompt']), timepoints=tp_text) + "\n")
        for code in spec["codes"]:
            definition = esc(spec["definitions"].get(code, "")) or _("(no definition given)")
            out.append(f"{esc(spec['labels'].get(code, code))} (`{code}`)\n:   {definition}\n")
    return "\n".join(out)


FLOW_COLUMNS = ["question", "step", "name", "timepoints", "n_cohort", "n", "n_excluded", "missing"]


def normalise_flow(flow: pd.DataFrame | None, study: Mapping) -> pd.DataFrame:
    """The flow table in the shape :func:`alliance_pipeline.change.proportions.participant_flow` writes.

    ``question, step (timepoint | complete | contrast), name, timepoints, n_cohort, n,
    n_excluded, missing``. A minimal table (question, timepoint, n_participants) is turned
    into ``timepoint`` rows, with the largest count standing in for the cohort size.
    """
    if flow is None or flow.empty:
        return pd.DataFrame(columns=FLOW_COLUMNS)
    frame = flow.copy()
    if "step" not in frame.columns:
        if not {"question", "timepoint", "n_participants"} <= set(frame.columns):
            return pd.DataFrame(columns=FLOW_COLUMNS)
        n = pd.to_numeric(frame["n_participants"], errors="coerce")
        top = n.groupby(frame["question"]).transform("max")
        frame = pd.DataFrame({"question": frame["question"].astype(str), "step": "timepoint",
                              "name": frame["timepoint"].astype(str),
                              "timepoints": frame["timepoint"].astype(str),
                              "n_cohort": top, "n": n, "n_excluded": top - n,
                              "missing": frame.get("missing", pd.Series("", index=frame.index))})
    for column in FLOW_COLUMNS:
        if column not in frame.columns:
            frame[column] = "" if column in ("missing", "timepoints", "name") else float("nan")
    frame["missing"] = frame["missing"].fillna("").astype(str)
    for column in ("n_cohort", "n", "n_excluded"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame[FLOW_COLUMNS]


def _flow_row_label(row) -> str:
    step, name = str(row["step"]), str(row["name"])
    if step == "timepoint":
        return _("answered at {timepoint}").format(timepoint=esc(name))
    if step == "complete":
        return _("complete cases (Cochran's Q)")
    if step == "contrast":
        return _("pairs for the {contrast} contrast (McNemar)").format(contrast=esc(name))
    return esc(name)


def _ids(text: str) -> str:
    return ", ".join(esc(i) for i in str(text).split(";") if i.strip())


def flow_md(tables: Mapping, *, study: Mapping, figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    flow = normalise_flow(table_of(tables, "flow"), study)
    out = []
    if figures is None or "flow" in figures:
        out.append(_("@fig-flow shows how many participants answered at each time point and how "
                     "many each analysis includes.") + "\n")
        out.append(md_figure("flow", _("Participants at each time point, complete cases and "
                                       "pairs per contrast, per question."), "fig-flow"))
    if flow.empty:
        out.append(_("The participant-flow table was not available for this report.") + "\n")
        return "\n".join(out)
    q_order = {q: i for i, q in enumerate(questions)}
    n_tp = flow[flow["step"] == "timepoint"].groupby("question")["name"].nunique()
    single = {q for q, k in n_tp.items() if k < 2}
    flow = flow[~((flow["step"] == "complete") & flow["question"].isin(single))]
    flow = flow.assign(_q=flow["question"].astype(str).map(q_order).fillna(len(q_order)))
    flow = flow.sort_values("_q", kind="stable")
    rows = [[esc(r["question"]), _flow_row_label(r), esc(str(r["timepoints"]).replace("|", ", ")),
             fmt_int(r["n"]), fmt_int(r["n_excluded"]), _ids(r["missing"]) or DASH]
            for _i, r in flow.iterrows()]
    out.append(md_table([_("Question"), _("Participants"), _("Time points"), "n", _("Left out"),
                         _("Who is left out")],
                        rows, align="lllrrl",
                        caption=_("Participant flow: who answered each question when, and whom each "
                                  "analysis leaves out."),
                        label="tbl-flow"))
    sentences = []
    n_cohort = pd.to_numeric(flow["n_cohort"], errors="coerce").max()
    if not is_missing(n_cohort):
        sentences.append(ngettext("The cohort has {n} participant.", "The cohort has {n} participants.",
                                  int(n_cohort)).format(n=fmt_int(n_cohort)))
    for q in dict.fromkeys(flow["question"].astype(str)):
        rows_q = flow[flow["question"].astype(str) == q]
        tp_rows = rows_q[rows_q["step"] == "timepoint"]
        if tp_rows.empty:
            continue
        parts = []
        for _i, r in tp_rows.iterrows():
            text = _("{n} at {timepoint}").format(n=fmt_int(r['n']), timepoint=esc(r['name']))
            if r["missing"].strip():
                text += _(" (not: {ids})").format(ids=_ids(r['missing']))
            parts.append(text)
        text = _("*{question}* was answered by {counts}").format(question=esc(q), counts=format_list(parts))
        complete = rows_q[rows_q["step"] == "complete"]
        if len(tp_rows) >= 2 and not complete.empty:
            c = complete.iloc[0]
            text += _("; {n} answered at every time point (complete cases)").format(n=fmt_int(c['n']))
            if not is_missing(c["n_excluded"]) and c["n_excluded"] > 0:
                text += _(" and {n} who answered only some of them ({ids}) are left out of "
                          "Cochran's Q").format(n=fmt_int(c['n_excluded']), ids=_ids(c['missing']))
        sentences.append(text + _("."))
    if sentences:
        out.append(join_sentences(sentences) + "\n")
    return "\n".join(out)

