"""The study report's section on the difference of changes (#22): per compare pair, question
and code, each cohort's complete-case (sign-flip) and all-available-data (GEE) estimate of
change A minus change B, and the cohorts pooled (:mod:`alliance_pipeline.study.difference`).

Tables: ``models`` (the cohorts' ``models.csv`` stacked) and ``differences``
(``differences.csv``). Every sentence is one whole format string with named placeholders (the
constants below, marked with ``N_`` and translated with ``_`` where used), so that the message
catalogue translates it as a unit (docs/languages.md). Pure: no file I/O.
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
    fmt_p,
    fmt_p_eq,
    fmt_pct,
    md_table,
    slug,
)
from alliance_pipeline.report.language import N_, _, join_sentences
from alliance_pipeline.report.notes import note_text
from alliance_pipeline.study.difference import (
    GEE,
    cohort_std_errors,
    compare_terms,
    inverse_variance_weights,
)
from alliance_pipeline.study.figures import study_code_label

NO_COMPARE = N_("No difference of changes is configured (`study.compare` is empty), so the "
                "cohorts' changes are not compared with each other here.\n")
NO_MODELS = N_("The cohorts' difference-of-changes tables (`models.csv`) were not available to "
               "this report, so the difference of changes is not pooled.\n")
METHOD = N_("Each cohort tests the change across {contrast_a} minus the change over {contrast_b} "
            "twice: in its complete cases with the exact sign-flip test, and on all available "
            "data with a GEE (identity link, exchangeable working correlation, Mancl–DeRouen "
            "bias-reduced covariance). The cohorts' GEE estimates are pooled by inverse-variance "
            "weighting (fixed effect: D = Σ w~k~ D~k~ / Σ w~k~, w~k~ = 1 / se~k~², se~k~ from the "
            "cohort's Wald interval), with a Wald {conf} and p, and Cochran's Q and I² for "
            "heterogeneity.")
WHY_POOLING = N_("Each cohort keeps its own bias-reduced covariance, where its few participants "
                 "are, and the pooled value can be recomputed from the cohort rows shown; the "
                 "weights treat each cohort's standard error as known, which with few "
                 "participants makes the pooled interval somewhat too narrow. The complete-case "
                 "rows are shown per cohort but not pooled, because pooling them needs each "
                 "participant's difference, which the cohort tables do not hold.")
POOLED_RESULT = N_("*{code}* ({question}): pooled over {n_cohorts} cohorts, the change across "
                   "{contrast_a} minus the change over {contrast_b} was {estimate} ({conf} {low} to "
                   "{high}; p {p}); heterogeneity Q = {q} on {df} df, I² = {i2}.")
POOLED_ONE = N_("*{code}* ({question}): only {n_cohorts} cohort has an estimate of the difference, "
                "{estimate} ({conf} {low} to {high}; p {p}); there is nothing to pool.")
POOLED_NONE = N_("*{code}* ({question}): no cohort has an estimate of the difference to pool "
                 "({note}).")


def _row(frame: pd.DataFrame | None, **where):
    if frame is None or frame.empty:
        return None
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        if column not in frame.columns:
            return None
        mask &= frame[column].astype(str) == str(value)
    hits = frame[mask]
    return None if hits.empty else hits.iloc[0]


def _estimate(row) -> str:
    if row is None:
        return DASH
    interval = fmt_ci(row["ci_low"], row["ci_high"])
    estimate = fmt_num(row["estimate"])
    return estimate if interval == DASH else f"{estimate} {interval}"


def _weights(models: pd.DataFrame, cohorts: Mapping, q: str, code: str, term: str,
             confidence: float) -> dict[str, float]:
    """Each cohort's share of the inverse-variance weight (NaN where it is left out)."""
    rows = models[(models["question"].astype(str) == q) & (models["code"].astype(str) == code)
                  & (models["term"].astype(str) == term) & (models["method"].astype(str) == GEE)
                  & models["cohort"].astype(str).isin(list(cohorts))]
    rows = rows.assign(**{c: pd.to_numeric(rows[c], errors="coerce")
                          for c in ("estimate", "ci_low", "ci_high")})
    confidences = {name: float((s.get("analysis") or {}).get("confidence", confidence))
                   for name, s in cohorts.items()}
    shares = inverse_variance_weights(cohort_std_errors(rows, confidences, confidence))
    return dict(zip(rows["cohort"].astype(str), shares, strict=True))


def differences_md(tables: Mapping, *, study: Mapping, cohorts: Mapping, analysis: Mapping) -> str:
    """The section's Markdown (the template gives its heading)."""
    compare = [p for p in study.get("compare") or [] if all(c in study["contrasts"] for c in p)]
    if not compare:
        return _(NO_COMPARE)
    models, pooled = tables.get("models"), tables.get("differences")
    if models is None or models.empty:
        return _(NO_MODELS)
    confidence = float(analysis["confidence"])
    level = f"{confidence:.0%}"
    conf = _("{level} CI").format(level=level)
    out = []
    for (a, b), term in zip(compare, compare_terms(compare), strict=True):
        out.append(join_sentences([
            _(METHOD).format(contrast_a=esc(a), contrast_b=esc(b),
                             conf=_("{level} interval").format(level=level)),
            _(WHY_POOLING)]) + "\n")
        for q in dict.fromkeys(models.loc[models["term"].astype(str) == term, "question"].astype(str)):
            codes = [c for c in study["questions"].get(q, {}).get("codes", [])]
            codes += [c for c in dict.fromkeys(models.loc[models["question"].astype(str) == q, "code"].astype(str))
                      if c not in codes]
            rows, sentences = [], []
            for code in codes:
                label = esc(study_code_label(study, q, code))
                weights = _weights(models, cohorts, q, code, term, confidence)
                for name in cohorts:
                    cc = _row(models, cohort=name, question=q, code=code, term=term, method="signflip")
                    gee = _row(models, cohort=name, question=q, code=code, term=term, method=GEE)
                    if cc is None and gee is None:
                        continue
                    rows.append([label, f"`{name}`", fmt_int(cc["n_participants"]) if cc is not None else DASH,
                                 _estimate(cc), fmt_p(cc["p_value"]) if cc is not None else DASH,
                                 fmt_int(gee["n_participants"]) if gee is not None else DASH,
                                 _estimate(gee), fmt_p(gee["p_value"]) if gee is not None else DASH,
                                 fmt_pct(weights.get(name, float("nan")), 0)])
                p = _row(pooled, question=q, code=code, term=term)
                if p is None:
                    continue
                rows.append([label, "**" + _("pooled") + "**", DASH, DASH, DASH, fmt_int(p["n_participants"]),
                             _estimate(p), fmt_p(p["p_value"]), DASH])
                values = dict(code=label, question=esc(q), contrast_a=esc(a), contrast_b=esc(b),
                              n_cohorts=fmt_int(p["n_cohorts"]), estimate=fmt_num(p["estimate"]),
                              conf=conf, low=fmt_num(p["ci_low"]), high=fmt_num(p["ci_high"]),
                              p=fmt_p_eq(p["p_value"]), q=fmt_num(p["het_statistic"]),
                              df=fmt_int(p["het_df"]), i2=fmt_pct(p["het_i2"], 0),
                              note=esc(note_text(p["note"])) if isinstance(p["note"], str) else "")
                n = int(p["n_cohorts"]) if p["n_cohorts"] == p["n_cohorts"] else 0
                sentences.append(_(POOLED_RESULT if n >= 2 else POOLED_ONE if n == 1 else POOLED_NONE)
                                 .format(**values))
            if not rows:
                continue
            out.append(md_table(
                [_("Code"), _("Cohort"), "n", _("Complete cases {conf}").format(conf=conf), "p", "n",
                 _("All data {conf}").format(conf=conf), "p", _("Weight")], rows, align="llrrrrrrr",
                caption=_("{prompt}: {term} per cohort and pooled. Complete cases: sign-flip test; "
                          "all data: GEE; n: participants; Weight: share of the inverse-variance "
                          "weight.").format(prompt=esc(study['questions'].get(q, {}).get('prompt') or q),
                                            term=esc(term.replace(' - ', ' − '))),
                label=f"tbl-{slug('difference', q, a, b)}"))
            out.append(join_sentences(sentences) + "\n")
    return "\n".join(out)
