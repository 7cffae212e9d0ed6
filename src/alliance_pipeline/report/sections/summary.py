"""The report's front: metadata (``meta.yml``), the synthetic-data banner and the summary.

:func:`change_clause` puts one contrast in words; the Results section uses it too.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import yaml

from alliance_pipeline.common.outputs import repeated_questions
from alliance_pipeline.report.format import (
    esc,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_p_eq,
    fmt_pct,
    is_missing,
    row_value,
)
from alliance_pipeline.report.language import (
    _,
    format_list,
    is_source,
    join_sentences,
    localise_number,
    localised,
    ngettext,
)
from alliance_pipeline.report.lookup import (
    code_label,
    codes_in,
    conf_label,
    contrast_gloss,
    p_name,
    p_of,
    primary_mcnemar,
    questions_of,
    rows_where,
    significance_level,
    significance_word,
    single_questions,
    table_of,
)
from alliance_pipeline.report.notes import note_text
from alliance_pipeline.report.sections.coding import lower_bound_sentence
from alliance_pipeline.report.sections.design import normalise_flow
from alliance_pipeline.report.sections.difference import summary_sentences


def meta_yaml(*, study: Mapping, cohort: Mapping, quotes: Sequence | None = None) -> str:
    """Document metadata the .qmd reads via ``metadata-files`` and ``{{< meta >}}``."""
    meta = {
        "title": localised(study, "title") or _("Report"),
        "subtitle": localised(cohort, "label") or str(cohort.get("cohort", "")),
        "cohort": str(cohort.get("cohort", "")),
        "synthetic": bool(cohort.get("synthetic", False)),
        "has_quotes": bool(quotes),
        "has_published": bool(cohort.get("published")),
        "has_reference": bool(study.get("reference")),
        "codebook_version": str(study.get("codebook_version", "")),
    }
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)


def banner_md(*, cohort: Mapping) -> str:
    """Text of the synthetic-data callout (the .qmd shows it only when ``synthetic``)."""
    if not cohort.get("synthetic"):
        return ""
    label = esc(localised(cohort, "label") or cohort.get("cohort", ""))
    return _("The cohort *{label}* is **synthetic**: a seeded, documented reconstruction of the "
             "shares a paper published, made so that every figure of this report can be "
             "regenerated and compared with the published ones. No real participant's data are "
             "shown, and nothing here is evidence about the training.").format(label=label) + "\n"


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
    head = _("{gloss} ({first} → {second})").format(gloss=contrast_gloss(contrast), first=esc(first),
                                                   second=esc(second))
    rd = row_value(row, "risk_difference")
    if is_missing(rd) and not (is_missing(share_first) or is_missing(share_second)):
        rd = float(share_second) - float(share_first)
    if is_missing(rd):
        move = _("the change could not be estimated")
    elif abs(float(rd)) < 5e-4:
        move = _("the share did not change")
    else:
        points = localise_number(f"{abs(float(rd)) * 100:.1f}")
        move = (_("the share rose by {points} percentage points") if float(rd) > 0
                else _("the share fell by {points} percentage points")).format(points=points)
    pairs = row_value(row, "n") if row is not None else float("nan")
    if not is_missing(pairs) and not is_missing(rd):
        move += ngettext(" ({n} pair)", " ({n} pairs)", int(round(float(pairs)))).format(n=fmt_int(pairs))
    p, adjusted = p_of(row)
    if row is None:
        return _("{head} {move}, but no test is available").format(head=head, move=move)
    if is_missing(p):
        note = row_value(row, "note")
        why = f" ({esc(note_text(note))})" if not is_missing(note) and str(note).strip() else ""
        return _("{head} {move}, but the change could not be tested{why}").format(
            head=head, move=move, why=why)
    return _("{head} {move}, which is {word} at α = {alpha} ({pname} {p})").format(
        head=head, move=move, word=significance_word(p, alpha), alpha=localise_number(f"{alpha:g}"),
        pname=p_name(cohort, adjusted), p=fmt_p_eq(p))


SUMMARY_WORDS = 150  # the summary a reviewer reads in one pass; per-contrast text is in Results


def _effect(row, cohort: Mapping) -> str:
    """``RD −0.32, 95% CI [−0.50, −0.09], Holm-adjusted p = 0.031`` of a McNemar row."""
    parts = []
    rd = row_value(row, "risk_difference")
    if not is_missing(rd):
        parts.append(_("RD {rd}, {conf} {ci}").format(
            rd=fmt_num(rd), conf=conf_label(cohort),
            ci=fmt_ci(row_value(row, 'rd_ci_low'), row_value(row, 'rd_ci_high'))))
    p, adjusted = p_of(row)
    if not is_missing(p):
        parts.append(f"{p_name(cohort, adjusted)} {fmt_p_eq(p)}")
    return _(", ").join(parts)


def _code_name(questions: Mapping, q: str, code: str, several: bool) -> str:
    name = f"*{esc(code_label(questions, q, code))}*"
    return f"{name} ({esc(q)})" if several else name


def _design_sentence(tables: Mapping, study: Mapping, cohort: Mapping) -> str:
    """The cohort, its participants and its time points (with the training between two)."""
    contrasts = dict(study.get("contrasts") or {})
    n = _participants(tables, study)
    label = esc(localised(cohort, "label") or cohort.get("cohort", ""))
    kind = _("synthetic cohort") if cohort.get("synthetic") else _("cohort")
    who = ngettext(" of {n} participant", " of {n} participants", n).format(n=fmt_int(n)) if n is not None else ""
    design = (_("; the training came between {first} and {second}").format(
        first=contrasts['training'][0], second=contrasts['training'][1]) if "training" in contrasts else "")
    return _("The {kind} *{label}*{who} answered at {timepoints}{design}.").format(
        kind=kind, label=label, who=who, timepoints=format_list(list(study.get('timepoints', []))),
        design=design)


def _contrast_rows(props, tests, questions: Mapping, pair: Sequence[str], name: str):
    """``(question, code, primary McNemar row or None)`` of each repeated question asked at
    both time points of the contrast ``name``."""
    t1, t2 = pair
    for q in repeated_questions(questions):
        if t1 in questions[q]["timepoints"] and t2 in questions[q]["timepoints"]:
            for code in codes_in(props, questions, q):
                yield q, code, primary_mcnemar(tests, q, code, name)


def _training_sentence(rows, *, pair: Sequence[str], training: str, questions: Mapping,
                       cohort: Mapping, several: bool) -> str | None:
    """How each code changed across the training; None when there is no code."""
    alpha = significance_level(cohort)
    items = []
    for q, code, row in rows:
        rd = row_value(row, "risk_difference")
        p = p_of(row)[0]
        name = _code_name(questions, q, code, several)
        if row is None or is_missing(p):
            items.append(_("{name} could not be tested").format(name=name))
            continue
        if is_missing(rd) or abs(float(rd)) < 5e-4:
            template = _("{name} did not change ({effect})")
        elif float(rd) > 0:
            template = _("{name} rose ({effect})") if p < alpha else _("{name} rose non-significantly ({effect})")
        else:
            template = _("{name} fell ({effect})") if p < alpha else _("{name} fell non-significantly ({effect})")
        items.append(template.format(name=name, effect=_effect(row, cohort)))
    if not items:
        return None
    gloss = contrast_gloss(training)
    return _("{gloss} ({first} → {second}), {items}.").format(
        gloss=gloss.capitalize() if is_source() else gloss, first=pair[0], second=pair[1],
        items=format_list(items))


def _baseline_sentences(rows: list, *, pair: Sequence[str], questions: Mapping, cohort: Mapping,
                        several: bool) -> list[str]:
    """Whether any code changed over the baseline, and how many contrasts went untested."""
    alpha = significance_level(cohort)
    sentences = []
    tested = [(q, code, row, p_of(row)[0]) for q, code, row in rows
              if row is not None and not is_missing(p_of(row)[0])]
    changed = [(q, code, row) for q, code, row, p in tested if p < alpha]
    head = _("Over the baseline without training ({first} → {second})").format(first=pair[0], second=pair[1])
    if changed:
        listed = format_list([_("{name} changed ({effect})").format(
            name=_code_name(questions, q, c, several), effect=_effect(r, cohort)) for q, c, r in changed])
        template = (_("{head}, {items}, the other codes did not.") if len(changed) < len(tested)
                    else _("{head}, {items}."))
        sentences.append(template.format(head=head, items=listed))
    elif tested:
        lowest = min(p for *_i, p in tested)
        adjusted = any(p_of(row)[1] for *_i, row, _j in tested)
        pname = _("adjusted p") if adjusted else "p"
        sentences.append(_("{head}, no code changed significantly (every {pname} ≥ {p}).").format(
            head=head, pname=pname, p=fmt_p(lowest)))
    if len(tested) < len(rows):
        untested = len(rows) - len(tested)
        sentences.append(ngettext("{n} baseline contrast could not be tested.",
                                  "{n} baseline contrasts could not be tested.",
                                  untested).format(n=fmt_int(untested)))
    return sentences


def _feedback_sentences(props, questions: Mapping) -> list[str]:
    """Per question asked once, its three most frequent codes with their shares."""
    sentences = []
    for q in single_questions(questions):
        answers = rows_where(props, question=q)
        if answers.empty:
            continue
        top = answers.sort_values(["proportion", "code"], ascending=[False, True]).head(3)
        items = [_("*{label}* ({share})").format(label=esc(code_label(questions, q, r['code'])),
                                                  share=fmt_pct(r['proportion']))
                 for _i, r in top.iterrows()]
        sentences.append(_("“{prompt}” was most often answered with {items} of participants.").format(
            prompt=esc(questions[q]['prompt']), items=format_list(items)))
    return sentences


def _agreement_sentences(agreement, questions: Mapping, cohort: Mapping, several: bool) -> list[str]:
    """The range of Krippendorff's α over the codes, and the verdict on its interval's lower
    bound (:func:`~alliance_pipeline.report.sections.coding.lower_bound_sentence`)."""
    if agreement is None or agreement.empty or "krippendorff_alpha" not in agreement.columns:
        return []
    per_code = agreement[agreement["code"].astype(str) != "*"]
    alphas = pd.to_numeric(per_code["krippendorff_alpha"], errors="coerce").dropna()
    if not len(alphas):
        return []
    low, high = fmt_num(alphas.min()), fmt_num(alphas.max())
    template = (_("Krippendorff's α was {low} for all {n} codes.") if low == high
                else _("Krippendorff's α ranged from {low} to {high} over {n} codes."))
    verdict = lower_bound_sentence(agreement, questions, cohort,
                                   code_name=lambda q, code: _code_name(questions, q, code, several))
    return [template.format(low=low, high=high, n=fmt_int(len(alphas))), *([verdict] if verdict else [])]


def summary_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    """The findings in one paragraph of at most about :data:`SUMMARY_WORDS` words: design and
    n; the training contrast of each repeated code (risk difference, interval, adjusted p) and
    its difference from the baseline's change (``study.compare``, the complete-case sign-flip
    rows of ``models.csv``); whether the baseline changed; the three most frequent feedback codes; the range of
    Krippendorff's α; the synthetic-data caveat. Every contrast in words is in Results."""
    questions = questions_of(study)
    props = table_of(tables, "proportions")
    tests = table_of(tables, "tests")
    contrasts = dict(study.get("contrasts") or {})
    names = list(contrasts)
    training = "training" if "training" in contrasts else (names[-1] if names else None)
    baseline = "baseline" if "baseline" in contrasts and training != "baseline" else None
    several = len(repeated_questions(questions)) > 1
    sentences = [_design_sentence(tables, study, cohort)]
    if training:
        sentence = _training_sentence(
            _contrast_rows(props, tests, questions, contrasts[training], training),
            pair=contrasts[training], training=training, questions=questions, cohort=cohort,
            several=several)
        if sentence:
            sentences.append(sentence)
    # the design's own question: did the change across the training exceed the change without it?
    sentences += summary_sentences(tables, study=study, cohort=cohort,
                                   code_name=lambda q, code: _code_name(questions, q, code, several))
    if baseline:
        sentences += _baseline_sentences(
            list(_contrast_rows(props, tests, questions, contrasts[baseline], baseline)),
            pair=contrasts[baseline], questions=questions, cohort=cohort, several=several)
    sentences += _feedback_sentences(props, questions)
    sentences += _agreement_sentences(table_of(tables, "agreement"), questions, cohort, several)
    if cohort.get("synthetic"):
        sentences.append(_("The data are synthetic: no conclusion about the training can be drawn."))
    return join_sentences(sentences) + "\n"
