"""The Reliability section: how responses were coded, and coder agreement per code.

:func:`lower_bound_sentence` judges reliability as Krippendorff (2004) asks, by the lower
bound of α's interval (≥ good, 0.800: reliable; ≥ acceptable, 0.667: tentative conclusions
only), naming the codes below good and the lowest bound; the summary uses it too.
"""
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
    md_figure,
    md_table,
    row_value,
)
from alliance_pipeline.report.language import N_, _, format_list
from alliance_pipeline.report.lookup import (
    analysis_settings,
    code_label,
    codes_in,
    conf_label,
    first_row,
    questions_of,
    table_of,
    verdict_word,
)
from alliance_pipeline.report.notes import note_text

LOWER_BOUND = {  # Krippendorff (2004) on the lower bound of α's interval
    "reliable": N_("The lower bound of α's {conf} reached {good} for every code (lowest {bound}, "
                   "{code}): reliable (Krippendorff 2004)."),
    "tentative": N_("The lower bound of α's {conf} fell below {good} for {codes} (lowest {bound}, "
                    "{code}): tentative conclusions only (Krippendorff 2004)."),
    "insufficient": N_("The lower bound of α's {conf} fell below {good} for {codes} (lowest "
                       "{bound}, {code}, below {acceptable}): not enough even for tentative "
                       "conclusions (Krippendorff 2004)."),
    "no_interval": N_("α has no interval here (no bootstrap), so reliability cannot be judged by "
                      "its lower bound as Krippendorff (2004) asks; by the point estimate, {codes} "
                      "fell below {good}."),
    "no_interval_all": N_("α has no interval here (no bootstrap), so reliability cannot be judged "
                          "by its lower bound as Krippendorff (2004) asks; every point estimate "
                          "reached {good}."),
}


def lower_bound_sentence(agreement: pd.DataFrame | None, questions: Mapping, cohort: Mapping,
                         code_name=None) -> str | None:
    """The reliability verdict on the lower bound of α's interval (see the module docstring),
    or None without per-code α. ``code_name(question, code)`` writes a code's name."""
    if agreement is None or agreement.empty or "krippendorff_alpha" not in agreement.columns:
        return None
    ag = analysis_settings(cohort).get("agreement", {}) or {}
    good, acceptable = float(ag.get("good", 0.8)), float(ag.get("acceptable", 0.667))
    name = code_name or (lambda q, c: f"*{esc(code_label(questions, q, c))}*")
    rows = agreement[agreement["code"].astype(str) != "*"].copy()
    rows["alpha"] = pd.to_numeric(rows["krippendorff_alpha"], errors="coerce")
    rows["low"] = pd.to_numeric(rows.get("alpha_ci_low", pd.Series(dtype=float)), errors="coerce")
    rows = rows[rows["alpha"].notna()]
    if rows.empty:
        return None
    numbers = {"conf": conf_label(cohort), "good": fmt_num(good, 3),
               "acceptable": fmt_num(acceptable, 3)}
    if rows["low"].isna().all():
        below = rows[rows["alpha"] < good]
        case = "no_interval" if len(below) else "no_interval_all"
        return _(LOWER_BOUND[case]).format(
            codes=format_list([name(r["question"], r["code"]) for _i, r in below.iterrows()]),
            **numbers)
    rows = rows[rows["low"].notna()]
    lowest = rows.sort_values("low", kind="stable").iloc[0]
    below = rows[rows["low"] < good]
    case = ("reliable" if below.empty else "tentative" if lowest["low"] >= acceptable
            else "insufficient")
    return _(LOWER_BOUND[case]).format(
        codes=format_list([name(r["question"], r["code"]) for _i, r in below.iterrows()]),
        bound=fmt_num(lowest["low"], 3), code=name(lowest["question"], lowest["code"]), **numbers)


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


def _agreement_rows(agreement: pd.DataFrame, questions: Mapping) -> tuple[list, list[str]]:
    """Per question and code (``*`` too) the agreement statistics as cells, and the notes."""
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
                notes.append(f"*{esc(q)} / {label}*: {esc(note_text(note))}")
            rows.append([esc(q), label, fmt_int(row_value(r, "n_units")), fmt_int(n_coders),
                         fmt_pct(row_value(r, "percent_agreement")),
                         fmt_num(kappa),
                         fmt_num(row_value(r, "krippendorff_alpha")),
                         fmt_ci(row_value(r, "alpha_ci_low"), row_value(r, "alpha_ci_high")),
                         fmt_num(row_value(r, "gwet_ac1")),
                         esc(verdict_word(row_value(r, "verdict"))) if not is_missing(row_value(r, "verdict")) and str(row_value(r, "verdict")) else DASH])
    return rows, notes


def _below_good_text(agreement: pd.DataFrame, questions: Mapping, shown: bool) -> str:
    """The sentence pointing to the table (and figure, when ``shown``) and the codes below
    the good threshold."""
    below = agreement[(agreement["code"].astype(str) != "*")
                      & agreement["verdict"].astype(str).isin(["tentative", "insufficient"])]
    if below.empty:
        return (_("@tbl-agreement lists agreement per code and @fig-agreement shows it; every "
                  "code's point estimate reached at least the good threshold.") if shown else
                _("@tbl-agreement lists agreement per code; every code's point estimate reached "
                  "at least the good threshold."))
    items = [f"*{esc(code_label(questions, r['question'], r['code']))}* ({verdict_word(r['verdict'])}, "
             f"α = {fmt_num(r.get('krippendorff_alpha'))})" for _i, r in below.iterrows()]
    return (_("@tbl-agreement lists agreement per code and @fig-agreement shows it; below "
              "the good threshold: {items}.") if shown else
            _("@tbl-agreement lists agreement per code; below the good threshold: "
              "{items}.")).format(items=format_list(items))


def _agreement_md(agreement: pd.DataFrame, questions: Mapping, *, cohort: Mapping,
                  figures: set[str] | None) -> list[str]:
    """The agreement table with its notes, the figure and the codes below good."""
    ag = analysis_settings(cohort).get("agreement", {}) or {}
    conf = conf_label(cohort)
    rows, notes = _agreement_rows(agreement, questions)
    out = [md_table(
        [_("Question"), _("Code"), _("Units"), _("Coders"), _("% agree"), "κ", "α", f"α {conf}",
         "AC1", _("Verdict")],
        rows, align="llrrrrrrrl",
        caption=_("Inter-coder agreement on the independent codes, before consensus. κ: Cohen's "
                  "kappa for two coders, Fleiss' kappa for more; α: Krippendorff's alpha; AC1: "
                  "Gwet's AC1. Verdict: good at α ≥ {good}, tentative at α ≥ {acceptable}, "
                  "insufficient below.").format(good=fmt_num(float(ag.get('good', 0.8)), 3),
                                                acceptable=fmt_num(float(ag.get('acceptable', 0.667)), 3)),
        label="tbl-agreement")]
    if notes:
        out.append(_("Notes: {notes}.").format(notes=_("; ").join(notes)) + "\n")
    if figures is None or "agreement" in figures:
        out.append(md_figure("agreement", _("Krippendorff's α with {conf} per code; dashed "
                                            "lines mark the tentative and good thresholds.").format(conf=conf),
                             "fig-agreement"))
    out.append(_below_good_text(agreement, questions, figures is None or "agreement" in figures) + "\n")
    verdict = lower_bound_sentence(agreement, questions, cohort)
    if verdict:
        out.append(verdict + "\n")
    return out


def _consensus_text(cohort: Mapping) -> str:
    """How disagreements were settled (and what happens to one left unsettled)."""
    unresolved = str((analysis_settings(cohort).get("consensus", {}) or {}).get("unresolved", "fail"))
    settle = _("Responses on which the coders disagreed were listed in a worksheet "
               "(disagreements.csv) and settled at a consensus meeting; the agreed codes are "
               "recorded in adjudication.csv.")
    if unresolved == "majority":
        settle += _(" Disagreements the meeting did not settle take the code most coders gave "
                    "(majority).")
    else:
        settle += _(" Every disagreement had to be settled; the pipeline stops on an unresolved one.")
    return settle + "\n"


def _sources_md(sources: pd.DataFrame) -> list[str]:
    """How each question's final codes were reached: the table and the totals in words."""
    rows = [[esc(r["question"]), str(r["unanimous"]), str(r["adjudicated"]), str(r["majority"]),
             str(r["total"])] for _i, r in sources.iterrows()]
    totals = sources[["unanimous", "adjudicated", "majority", "total"]].sum()
    return [md_table([_("Question"), _("Unanimous"), _("Adjudicated"), _("Majority"),
                      _("Responses")], rows,
                     align="lrrrr",
                     caption=_("How the final codes of each response were reached."),
                     label="tbl-consensus"),
            _("Over all questions, {unanimous} of {total} responses were coded unanimously, "
              "{adjudicated} adjudicated and {majority} settled by majority "
              "(@tbl-consensus).").format(
                unanimous=fmt_int(totals['unanimous']), total=fmt_int(totals['total']),
                adjudicated=fmt_int(totals['adjudicated']), majority=fmt_int(totals['majority']))
            + "\n"]


def reliability_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
                   figures: set[str] | None = None) -> str:
    """The coding's reliability: agreement, blind coding, consensus and how codes were reached."""
    questions = questions_of(study)
    agreement = table_of(tables, "agreement")
    if agreement is None or agreement.empty:
        out = [_("The agreement table was not available for this report.") + "\n"]
    else:
        out = _agreement_md(agreement, questions, cohort=cohort, figures=figures)
    if cohort.get("coders_blind"):
        out.append(_("Coders coded blind to participant and time point, in a randomised order: "
                     "each coded a workbook the pipeline generated, in which a response is known "
                     "only by an opaque unit id.") + "\n")
    out.append(_consensus_text(cohort))
    sources = response_sources(table_of(tables, "final_codes"))
    if not sources.empty:
        out += _sources_md(sources)
    return "\n".join(out)
