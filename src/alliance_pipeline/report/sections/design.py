"""The Design section (time points, contrasts, methods) and the participant flow."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.report.format import (
    DASH,
    METHOD_NAMES,
    esc,
    fmt_int,
    is_missing,
    join_words,
    md_figure,
    md_table,
)
from alliance_pipeline.report.lookup import (
    CONTRAST_READING,
    adjust_name,
    analysis_settings,
    cochran_how,
    confidence_level,
    questions_of,
    table_of,
)


def design_md(*, study: Mapping, cohort: Mapping) -> str:
    questions = questions_of(study)
    analysis = analysis_settings(cohort)
    tps = list(study.get("timepoints", []))
    contrasts = dict(study.get("contrasts") or {})
    out = [f"Participants were measured at {len(tps)} time points, in order: "
           f"{join_words([f'*{esc(t)}*' for t in tps])}. Free-text responses were coded "
           "independently by two or more coders against the codebook below.\n"]
    if contrasts:
        rows = [[esc(name), esc(t1), esc(t2), CONTRAST_READING.get(name, "")]
                for name, (t1, t2) in contrasts.items()]
        out.append(md_table(["Contrast", "From", "To", "Reading"], rows,
                            caption="Paired contrasts tested for every code of a question asked "
                                    "at two or more time points, in report order.",
                            label="tbl-contrasts"))
    mc = analysis.get("mcnemar", {}) or {}
    method = str(mc.get("method", "auto"))
    if method == "auto":
        how = (f"exact when the discordant pairs b + c are fewer than "
               f"{mc.get('exact_below', 25)}, asymptotic otherwise")
    else:
        how = METHOD_NAMES.get(method, method)
    ag = analysis.get("agreement", {}) or {}
    out.append(
        f"Shares are k of n participants with a code at a time point, with "
        f"{confidence_level(cohort) * 100:g}% Wilson score intervals. Change across all time points "
        f"is tested with Cochran's Q on complete cases{cochran_how(analysis)}; each contrast "
        f"with McNemar's test "
        f"({how}), p-values {adjust_name(cohort)} across the contrasts of one code. "
        f"Effect sizes are the risk difference (share at the second time point minus the "
        f"first) and the paired odds ratio c / b. Agreement is judged good at Krippendorff's "
        f"α ≥ {float(ag.get('good', 0.8)):.3f} and tentative at α ≥ "
        f"{float(ag.get('acceptable', 0.667)):.3f}.\n")
    version = study.get("codebook_version")
    out.append(f"## Codebook{f' (version {esc(version)})' if version else ''}\n")
    for q, spec in questions.items():
        tp_text = join_words([esc(t) for t in spec["timepoints"]])
        out.append(f"**{esc(q)}**: “{esc(spec['prompt'])}” Asked at {tp_text}; "
                   f"{'several codes per response allowed' if spec['multi_label'] else 'one code per response'}.\n")
        for code in spec["codes"]:
            definition = esc(spec["definitions"].get(code, "")) or "(no definition given)"
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
        return f"answered at {esc(name)}"
    if step == "complete":
        return "complete cases (Cochran's Q)"
    if step == "contrast":
        return f"pairs for the {esc(name)} contrast (McNemar)"
    return esc(name)


def _ids(text: str) -> str:
    return ", ".join(esc(i) for i in str(text).split(";") if i.strip())


def flow_md(tables: Mapping, *, study: Mapping, figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    flow = normalise_flow(table_of(tables, "flow"), study)
    out = []
    if figures is None or "flow" in figures:
        out.append("@fig-flow shows how many participants answered at each time point and how "
                   "many each analysis includes.\n")
        out.append(md_figure("flow", "Participants at each time point, complete cases and "
                             "pairs per contrast, per question.", "fig-flow"))
    if flow.empty:
        out.append("The participant-flow table was not available for this report.\n")
        return "\n".join(out)
    q_order = {q: i for i, q in enumerate(questions)}
    n_tp = flow[flow["step"] == "timepoint"].groupby("question")["name"].nunique()
    single = {q for q, k in n_tp.items() if k < 2}
    flow = flow[~((flow["step"] == "complete") & flow["question"].isin(single))]
    flow = flow.assign(_q=flow["question"].astype(str).map(q_order).fillna(len(q_order)))
    flow = flow.sort_values("_q", kind="stable")
    rows = [[esc(r["question"]), _flow_row_label(r), esc(str(r["timepoints"]).replace("|", ", ")),
             fmt_int(r["n"]), fmt_int(r["n_excluded"]), _ids(r["missing"]) or DASH]
            for _, r in flow.iterrows()]
    out.append(md_table(["Question", "Participants", "Time points", "n", "Left out", "Who is left out"],
                        rows, align="lllrrl",
                        caption="Participant flow: who answered each question when, and whom each "
                                "analysis leaves out.",
                        label="tbl-flow"))
    sentences = []
    n_cohort = pd.to_numeric(flow["n_cohort"], errors="coerce").max()
    if not is_missing(n_cohort):
        sentences.append(f"The cohort has {fmt_int(n_cohort)} participants.")
    for q in dict.fromkeys(flow["question"].astype(str)):
        rows_q = flow[flow["question"].astype(str) == q]
        tp_rows = rows_q[rows_q["step"] == "timepoint"]
        if tp_rows.empty:
            continue
        parts = []
        for _, r in tp_rows.iterrows():
            text = f"{fmt_int(r['n'])} at {esc(r['name'])}"
            if r["missing"].strip():
                text += f" (not: {_ids(r['missing'])})"
            parts.append(text)
        text = f"*{esc(q)}* was answered by {join_words(parts)}"
        complete = rows_q[rows_q["step"] == "complete"]
        if len(tp_rows) >= 2 and not complete.empty:
            c = complete.iloc[0]
            text += f"; {fmt_int(c['n'])} answered at every time point (complete cases)"
            if not is_missing(c["n_excluded"]) and c["n_excluded"] > 0:
                text += (f" and {fmt_int(c['n_excluded'])} who answered only some of them "
                         f"({_ids(c['missing'])}) are left out of Cochran's Q")
        sentences.append(text + ".")
    if sentences:
        out.append(" ".join(sentences) + "\n")
    return "\n".join(out)

