"""The report's front: metadata (``meta.yml``), the synthetic-data banner and the summary.

:func:`change_clause` puts one contrast in words; the Results section uses it too.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import yaml

from alliance_pipeline.outputs import repeated_questions
from alliance_pipeline.report.format import (
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_p_eq,
    fmt_pct,
    is_missing,
    join_words,
    row_value,
)
from alliance_pipeline.report.lookup import (
    CONTRAST_GLOSS,
    adjust_name,
    code_label,
    codes_in,
    conf_label,
    p_of,
    primary_mcnemar,
    questions_of,
    rows_where,
    significance_level,
    significance_word,
    single_questions,
    table_of,
)
from alliance_pipeline.report.sections.design import normalise_flow
from alliance_pipeline.report.sections.difference import summary_sentences


def meta_yaml(*, study: Mapping, cohort: Mapping, quotes: Sequence | None = None) -> str:
    """Document metadata the .qmd reads via ``metadata-files`` and ``{{< meta >}}``."""
    meta = {
        "title": str(study.get("title", "Report")),
        "subtitle": str(cohort.get("label") or cohort.get("cohort", "")),
        "cohort": str(cohort.get("cohort", "")),
        "synthetic": bool(cohort.get("synthetic", False)),
        "has_quotes": bool(quotes),
        "has_published": bool(cohort.get("published")),
        "codebook_version": str(study.get("codebook_version", "")),
    }
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)


def banner_md(*, cohort: Mapping) -> str:
    """Text of the synthetic-data callout (the .qmd shows it only when ``synthetic``)."""
    if not cohort.get("synthetic"):
        return ""
    label = esc(cohort.get("label") or cohort.get("cohort", ""))
    return (f"The cohort *{label}* is **synthetic**: a seeded, documented reconstruction of the "
            "shares a paper published, made so that every figure of this report can be "
            "regenerated and compared with the published ones. No real participant's data are "
            "shown, and nothing here is evidence about the training.\n")


def _participants(tables: Mapping, study: Mapping | None = None) -> int | None:
    flow = normalise_flow(table_of(tables, "flow"), study or {})
    if not flow.empty and flow["n_cohort"].notna().any():
        return int(flow["n_cohort"].max())
    final_codes = table_of(tables, "final_codes")
    if final_codes is not None and "participant_id" in final_codes.columns and len(final_codes):
        return int(final_codes["participant_id"].astype(str).nunique())
    props = table_of(tables, "proportions")
    if props is not None and "n" in props.columns and len(props):
        return int(pd.to_numeric(props["n"], errors="coerce").max())
    return None


def change_clause(row, *, first: str, second: str, contrast: str, cohort: Mapping,
                  share_first=None, share_second=None) -> str:
    """One contrast in words that follow its numbers (direction, size, significance)."""
    alpha = significance_level(cohort)
    gloss = CONTRAST_GLOSS.get(contrast, f"in the {esc(contrast)} contrast")
    head = f"{gloss} ({esc(first)} → {esc(second)})"
    rd = row_value(row, "risk_difference")
    if is_missing(rd) and not (is_missing(share_first) or is_missing(share_second)):
        rd = float(share_second) - float(share_first)
    if is_missing(rd):
        move = "the change could not be estimated"
    elif abs(float(rd)) < 5e-4:
        move = "the share did not change"
    else:
        move = (f"the share {'rose' if float(rd) > 0 else 'fell'} by "
                f"{abs(float(rd)) * 100:.1f} percentage points")
    pairs = row_value(row, "n") if row is not None else float("nan")
    if not is_missing(pairs) and not is_missing(rd):
        move += f" ({fmt_int(pairs)} pairs)"
    p, adjusted = p_of(row)
    if row is None:
        return f"{head} {move}, but no test is available"
    if is_missing(p):
        note = row_value(row, "note")
        why = f" ({esc(note)})" if not is_missing(note) and str(note).strip() else ""
        return f"{head} {move}, but the change could not be tested{why}"
    word = significance_word(p, alpha)
    pname = f"{adjust_name(cohort)} p" if adjusted else "p"
    return f"{head} {move}, which is {word} at α = {alpha:g} ({pname} {fmt_p_eq(p)})"


SUMMARY_WORDS = 150  # the summary a reviewer reads in one pass; per-contrast text is in Results


def _effect(row, cohort: Mapping) -> str:
    """``RD −0.32, 95% CI [−0.50, −0.09], Holm-adjusted p = 0.031`` of a McNemar row."""
    parts = []
    rd = row_value(row, "risk_difference")
    if not is_missing(rd):
        parts.append(f"RD {fmt_num(rd)}, {conf_label(cohort)} "
                     f"{fmt_ci(row_value(row, 'rd_ci_low'), row_value(row, 'rd_ci_high'))}")
    p, adjusted = p_of(row)
    if not is_missing(p):
        parts.append(f"{adjust_name(cohort) + ' ' if adjusted else ''}p {fmt_p_eq(p)}")
    return ", ".join(parts)


def _code_name(questions: Mapping, q: str, code: str, several: bool) -> str:
    name = f"*{esc(code_label(questions, q, code))}*"
    return f"{name} ({esc(q)})" if several else name


def summary_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    """The findings in one paragraph of at most about :data:`SUMMARY_WORDS` words: design and
    n; the training contrast of each repeated code (risk difference, interval, adjusted p) and
    its difference from the baseline's change (``study.compare``, the complete-case sign-flip
    rows of ``models.csv``); whether the baseline changed; the three most frequent feedback codes; the range of
    Krippendorff's α; the synthetic-data caveat. Every contrast in words is in Results."""
    questions = questions_of(study)
    props = table_of(tables, "proportions")
    tests = table_of(tables, "tests")
    agreement = table_of(tables, "agreement")
    contrasts = dict(study.get("contrasts") or {})
    alpha = significance_level(cohort)
    names = list(contrasts)
    training = "training" if "training" in contrasts else (names[-1] if names else None)
    baseline = "baseline" if "baseline" in contrasts and training != "baseline" else None
    repeated = repeated_questions(questions)
    several = len(repeated) > 1
    sentences = []

    n = _participants(tables, study)
    label = esc(cohort.get("label") or cohort.get("cohort", ""))
    kind = "synthetic cohort" if cohort.get("synthetic") else "cohort"
    who = f" of {n} participants" if n is not None else ""
    design = (f"; the training came between {contrasts['training'][0]} and {contrasts['training'][1]}"
              if "training" in contrasts else "")
    sentences.append(f"The {kind} *{label}*{who} answered at {join_words(list(study.get('timepoints', [])))}"
                     f"{design}.")

    def rows_of(name):
        t1, t2 = contrasts[name]
        for q in repeated:
            if t1 in questions[q]["timepoints"] and t2 in questions[q]["timepoints"]:
                for code in codes_in(props, questions, q):
                    yield q, code, primary_mcnemar(tests, q, code, name)

    if training:
        t1, t2 = contrasts[training]
        items = []
        for q, code, row in rows_of(training):
            rd = row_value(row, "risk_difference")
            p, _ = p_of(row)
            if row is None or is_missing(p):
                items.append(f"{_code_name(questions, q, code, several)} could not be tested")
                continue
            direction = ("did not change" if is_missing(rd) or abs(float(rd)) < 5e-4
                         else "rose" if float(rd) > 0 else "fell")
            if direction != "did not change":
                direction += "" if p < alpha else " non-significantly"
            items.append(f"{_code_name(questions, q, code, several)} {direction} "
                         f"({_effect(row, cohort)})")
        if items:
            sentences.append(f"{CONTRAST_GLOSS.get(training, 'In the ' + esc(training) + ' contrast').capitalize()} "
                             f"({t1} → {t2}), {join_words(items)}.")
    # the design's own question: did the change across the training exceed the change without it?
    sentences += summary_sentences(tables, study=study, cohort=cohort,
                                   code_name=lambda q, code: _code_name(questions, q, code, several))
    if baseline:
        t1, t2 = contrasts[baseline]
        rows = list(rows_of(baseline))
        tested = [(q, code, row, p_of(row)[0]) for q, code, row in rows
                  if row is not None and not is_missing(p_of(row)[0])]
        changed = [(q, code, row) for q, code, row, p in tested if p < alpha]
        head = f"Over the baseline without training ({t1} → {t2})"
        if changed:
            sentences.append(f"{head}, {join_words([f'{_code_name(questions, q, c, several)} changed ({_effect(r, cohort)})' for q, c, r in changed])}"
                             + (", the other codes did not." if len(changed) < len(tested) else "."))
        elif tested:
            lowest = min(p for *_, p in tested)
            adjusted = any(p_of(row)[1] for *_, row, _ in tested)
            pname = "adjusted p" if adjusted else "p"
            sentences.append(f"{head}, no code changed significantly (every {pname} ≥ "
                             f"{fmt_p(lowest)}).")
        if len(tested) < len(rows):
            sentences.append(f"{len(rows) - len(tested)} baseline contrast(s) could not be tested.")
    for q in single_questions(questions):
        rows = rows_where(props, question=q)
        if rows.empty:
            continue
        top = rows.sort_values(["proportion", "code"], ascending=[False, True]).head(3)
        items = [f"*{esc(code_label(questions, q, r['code']))}* ({fmt_pct(r['proportion'])})"
                 for _, r in top.iterrows()]
        sentences.append(f"“{esc(questions[q]['prompt'])}” was most often answered with "
                         f"{join_words(items)} of participants.")
    if agreement is not None and not agreement.empty and "krippendorff_alpha" in agreement.columns:
        per_code = agreement[agreement["code"].astype(str) != "*"]
        alphas = pd.to_numeric(per_code["krippendorff_alpha"], errors="coerce").dropna()
        if len(alphas):
            below = int((per_code.get("verdict", pd.Series(dtype=str)).fillna("").astype(str)
                         .isin(["tentative", "insufficient"])).sum())
            verdict = "all good" if below == 0 else f"{below} below good"
            low, high = fmt_num(alphas.min()), fmt_num(alphas.max())
            spread = f"was {low} for all" if low == high else f"ranged from {low} to {high} over"
            sentences.append(f"Krippendorff's α {spread} {len(alphas)} codes ({verdict}).")
    if cohort.get("synthetic"):
        sentences.append("The data are synthetic: no conclusion about the training can be drawn.")
    return " ".join(sentences) + "\n"
