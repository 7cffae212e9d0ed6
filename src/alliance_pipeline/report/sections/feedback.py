"""The training-feedback section (single-time-point questions) and the allowed quotes.

:func:`select_quotes` takes only the responses the config allows (``report.quotes``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_int,
    md_figure,
    md_table,
    slug,
)
from alliance_pipeline.report.language import _, format_list
from alliance_pipeline.report.lookup import (
    conf_label,
    questions_of,
    rows_where,
    share_table_rows,
    single_questions,
    table_of,
    timepoint_order,
)


def feedback_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
                figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    props = table_of(tables, "proportions")
    order = timepoint_order(study)
    conf = conf_label(cohort)
    single = single_questions(questions)
    if not single:
        return _("No question was asked at a single time point.") + "\n"
    out = []
    for q in single:
        spec = questions[q]
        s = slug(q)
        tp = spec["timepoints"][0]
        out.append(_("## {question}: “{prompt}”").format(question=esc(q), prompt=esc(spec["prompt"])) + "\n")
        rows = share_table_rows(props, questions, q, order, sort_by_share=True, of_codes=True)
        if not rows:
            out.append(_("No shares were available for this question.") + "\n")
            continue
        refs = [f"@tbl-frequencies-{s}"]
        fig = figures is None or f"frequencies_{q}" in figures
        if fig:
            refs.append(f"@fig-frequencies-{s}")
        given = rows_where(props, question=q, timepoint=tp)
        total = int(pd.to_numeric(given["k"], errors="coerce").fillna(0).sum()) if len(given) else 0
        out.append(_("Asked only at *{timepoint}*; {refs} show how often each code was given, most "
                     "frequent first.").format(timepoint=esc(tp), refs=format_list(refs)) + "\n")
        answered = fmt_int(given["n"].iloc[0]) if len(given) else DASH
        out.append(_("Each code is shown on two bases: *Share* is the share of the {answered} "
                     "participants who answered that gave the code (one may give several, so "
                     "these add up to more than 100%), while *Of codes* is the code's share of "
                     "all {total} codes given (these add up to 100%), the basis on which "
                     "feedback figures are often published.").format(answered=answered,
                                                                      total=fmt_int(total)) + "\n")
        out.append(md_table([_("Code"), _("Time point"), "k/n", _("Share"), f"{conf} (%)", _("Of codes")],
                            rows, align="llrrrr",
                            caption=_("Frequencies of the codes of {question}, most frequent first. "
                                      "Share: of participants (k/n); of codes: k of the {total} "
                                      "codes given.").format(question=esc(q), total=fmt_int(total)),
                            label=f"tbl-frequencies-{s}"))
        if fig:
            out.append(md_figure(f"frequencies_{q}", _("Share of participants giving each code "
                                                       "({question}, {timepoint}), with {conf}.").format(
                question=esc(q), timepoint=esc(tp), conf=conf), f"fig-frequencies-{s}"))
    return "\n".join(out)


def select_quotes(responses: pd.DataFrame, allowed_ids: Sequence[str]) -> list[dict]:
    """The responses whose ids the config allows (``report.quotes``), in the config's order."""
    if not allowed_ids or responses is None or responses.empty:
        return []
    by_id = {str(r["response_id"]): r for _i, r in responses.iterrows()}
    out = []
    for rid in allowed_ids:
        r = by_id.get(str(rid))
        if r is None:
            continue
        out.append({"response_id": str(rid), "question": str(r.get("question", "")),
                    "timepoint": str(r.get("timepoint", "")), "text": str(r.get("text", ""))})
    return out


def quotes_md(quotes: Sequence | None) -> str:
    """Allowed quotes only (none by default); plain strings or dicts with ``text``."""
    if not quotes:
        return ""
    out = [_("The configuration allows these responses to be quoted (report.quotes); no other "
             "response text appears in this report.") + "\n"]
    for item in quotes:
        if isinstance(item, Mapping):
            text, where = str(item.get("text", "")), []
            for key in ("response_id", "question", "timepoint"):
                if item.get(key):
                    where.append(esc(item[key]))
            source = f" — {', '.join(where)}" if where else ""
        else:
            text, source = str(item), ""
        out.append(f"> {esc(text)}{source}\n")
    return "\n".join(out)
