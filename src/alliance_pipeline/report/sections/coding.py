"""The Reliability section: how responses were coded, and coder agreement per code."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_pct,
    is_missing,
    join_words,
    md_figure,
    md_table,
    row_value,
)
from alliance_pipeline.report.lookup import (
    analysis_settings,
    code_label,
    codes_in,
    conf_label,
    first_row,
    questions_of,
    table_of,
)


def response_sources(final_codes: pd.DataFrame | None) -> pd.DataFrame:
    """Per question: responses settled unanimously, by adjudication, by majority.

    A response counts under its least direct source (majority > adjudicated > unanimous),
    so one adjudicated code makes the whole response adjudicated.
    """
    columns = ["question", "unanimous", "adjudicated", "majority", "total"]
    if final_codes is None or final_codes.empty or "source" not in final_codes.columns:
        return pd.DataFrame(columns=columns)
    rank = {"unanimous": 0, "adjudicated": 1, "majority": 2}
    fc = final_codes[["response_id", "question", "source"]].copy()
    fc["rank"] = fc["source"].astype(str).map(rank).fillna(0)
    per_response = fc.groupby(["question", "response_id"], sort=False)["rank"].max().reset_index()
    names = {v: k for k, v in rank.items()}
    per_response["source"] = per_response["rank"].map(names)
    out = []
    for q, rows in per_response.groupby("question", sort=False):
        counts = rows["source"].value_counts()
        out.append({"question": q, "unanimous": int(counts.get("unanimous", 0)),
                    "adjudicated": int(counts.get("adjudicated", 0)),
                    "majority": int(counts.get("majority", 0)), "total": int(len(rows))})
    return pd.DataFrame(out, columns=columns)


def reliability_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
                   figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    agreement = table_of(tables, "agreement")
    analysis = analysis_settings(cohort)
    ag = analysis.get("agreement", {}) or {}
    conf = conf_label(cohort)
    out = []
    if agreement is None or agreement.empty:
        out.append("The agreement table was not available for this report.\n")
    else:
        rows = []
        notes = []
        for q in questions if questions else dict.fromkeys(agreement["question"].astype(str)):
            for code in codes_in(agreement, questions, q, include_star=True):
                r = first_row(agreement, question=q, code=code)
                n_coders = row_value(r, "n_coders")
                kappa = row_value(r, "cohen_kappa")
                if is_missing(kappa) or (not is_missing(n_coders) and int(n_coders) > 2):
                    kappa = row_value(r, "fleiss_kappa")
                note = row_value(r, "note")
                label = esc(code_label(questions, q, code))
                if not is_missing(note) and str(note).strip():
                    notes.append(f"*{esc(q)} / {label}*: {esc(note)}")
                rows.append([esc(q), label, fmt_int(row_value(r, "n_units")), fmt_int(n_coders),
                             fmt_pct(row_value(r, "percent_agreement")),
                             fmt_num(kappa),
                             fmt_num(row_value(r, "krippendorff_alpha")),
                             fmt_ci(row_value(r, "alpha_ci_low"), row_value(r, "alpha_ci_high")),
                             fmt_num(row_value(r, "gwet_ac1")),
                             esc(row_value(r, "verdict")) if not is_missing(row_value(r, "verdict")) and str(row_value(r, "verdict")) else DASH])
        out.append(md_table(
            ["Question", "Code", "Units", "Coders", "% agree", "κ", "α", f"α {conf}", "AC1", "Verdict"],
            rows, align="llrrrrrrrl",
            caption=(f"Inter-coder agreement on the independent codes, before consensus. κ: Cohen's "
                     f"kappa for two coders, Fleiss' kappa for more; α: Krippendorff's alpha; AC1: "
                     f"Gwet's AC1. Verdict: "
                     f"good at α ≥ {float(ag.get('good', 0.8)):.3f}, tentative at α ≥ "
                     f"{float(ag.get('acceptable', 0.667)):.3f}, insufficient below."),
            label="tbl-agreement"))
        if notes:
            out.append("Notes: " + "; ".join(notes) + ".\n")
        if figures is None or "agreement" in figures:
            out.append(md_figure("agreement", f"Krippendorff's α with {conf} per code; dashed "
                                 "lines mark the tentative and good thresholds.", "fig-agreement"))
        below = agreement[(agreement["code"].astype(str) != "*")
                          & agreement["verdict"].astype(str).isin(["tentative", "insufficient"])]
        text = "@tbl-agreement lists agreement per code"
        if figures is None or "agreement" in figures:
            text += " and @fig-agreement shows it"
        if below.empty:
            text += "; every code reached at least the good threshold."
        else:
            items = [f"*{esc(code_label(questions, r['question'], r['code']))}* ({r['verdict']}, "
                     f"α = {fmt_num(r.get('krippendorff_alpha'))})" for _i, r in below.iterrows()]
            text += f"; below the good threshold: {join_words(items)}."
        out.append(text + "\n")
    if cohort.get("coders_blind"):
        out.append("Coders coded blind to participant and time point, in a randomised order: "
                   "each coded a workbook the pipeline generated, in which a response is known "
                   "only by an opaque unit id.\n")
    unresolved = str((analysis.get("consensus", {}) or {}).get("unresolved", "fail"))
    settle = ("Responses on which the coders disagreed were listed in a worksheet "
              "(disagreements.csv) and settled at a consensus meeting; the agreed codes are "
              "recorded in adjudication.csv.")
    if unresolved == "majority":
        settle += (" Disagreements the meeting did not settle take the code most coders gave "
                   "(majority).")
    else:
        settle += " Every disagreement had to be settled; the pipeline stops on an unresolved one."
    out.append(settle + "\n")
    sources = response_sources(table_of(tables, "final_codes"))
    if not sources.empty:
        rows = [[esc(r["question"]), str(r["unanimous"]), str(r["adjudicated"]), str(r["majority"]),
                 str(r["total"])] for _i, r in sources.iterrows()]
        out.append(md_table(["Question", "Unanimous", "Adjudicated", "Majority", "Responses"], rows,
                            align="lrrrr",
                            caption="How the final codes of each response were reached.",
                            label="tbl-consensus"))
        totals = sources[["unanimous", "adjudicated", "majority", "total"]].sum()
        out.append(f"Over all questions, {int(totals['unanimous'])} of {int(totals['total'])} "
                   f"responses were coded unanimously, {int(totals['adjudicated'])} "
                   f"adjudicated and {int(totals['majority'])} settled by majority "
                   "(@tbl-consensus).\n")
    return "\n".join(out)
