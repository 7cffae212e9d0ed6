"""The comparison with the published shares (``published`` in the cohort's config), and the
published source itself (``study.reference``): its citation in the title block, in this
section and in the reference list at the end (:func:`source_md`, :func:`references_md`).

Citations are printed the same in every language (an English-language paper is cited in its
own words in a Japanese report too); the sentences around them go through the catalogue.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from alliance_pipeline.config.settings import PUBLISHED_BASES, published_figures
from alliance_pipeline.report.format import (
    DASH,
    esc,
    fmt_num,
    is_missing,
    md_table,
    round_half_up,
    row_value,
)
from alliance_pipeline.report.language import N_, _, join_sentences, localise_number, ngettext
from alliance_pipeline.report.lookup import code_label, first_row, questions_of, table_of

PUBLISHED_TOLERANCE = 0.005

SOURCE = N_("Source: {citation}, {doi}.")
PUBLISHED_FROM = N_("The published shares are those of {citation}, {doi}.")
RECONSTRUCTED = N_("The synthetic cohort was built from these published shares, so agreement "
                   "here checks the reconstruction, not the study.")
UNREACHABLE = N_("No k/n with n = {n} rounds to the published {share} (*{code}*, {timepoint}): "
                 "the nearest reachable shares are {below} and {above}.")

BASIS_WORDS = {"participants": N_("participants"), "codes": N_("codes")}  # the table's Basis column


def published_comparison(proportions: pd.DataFrame | None, published: Mapping | None,
                         *, tolerance: float = PUBLISHED_TOLERANCE) -> pd.DataFrame:
    """Each published share beside the reproduced one on the same basis.

    Basis (:data:`alliance_pipeline.config.settings.PUBLISHED_BASES`): ``participants`` compares with
    ``proportion`` (k / n), ``codes`` with ``share_of_codes`` (k / all codes given for the
    question at that time point). Rule: the reproduced share is rounded half up to 2
    decimals (as published figures are); a pair is flagged when ``|rounded - published| >
    tolerance`` (0.005), i.e. when they differ by more than rounding. A published share with
    no reproduced one is flagged too.
    """
    columns = ["question", "code", "timepoint", "basis", "published", "reproduced",
               "reproduced_rounded", "difference", "flagged"]
    out = []
    for fig in published_figures(dict(published or {})):
        row = first_row(proportions, question=fig["question"], code=fig["code"],
                        timepoint=fig["timepoint"])
        rep = row_value(row, PUBLISHED_BASES[fig["basis"]])
        head = [fig["question"], fig["code"], fig["timepoint"], fig["basis"], fig["share"]]
        if is_missing(rep):
            out.append(head + [float("nan"), float("nan"), float("nan"), True])
            continue
        rounded = round_half_up(float(rep), 2)
        diff = round(rounded - fig["share"], 10)
        out.append(head + [float(rep), rounded, diff, abs(diff) > tolerance + 1e-12])
    return pd.DataFrame(out, columns=columns)


def reference_of(study: Mapping) -> Mapping | None:
    """``study.reference`` when configured, else None."""
    reference = study.get("reference")
    return reference if reference else None


def short_citation(reference: Mapping) -> str:
    """``Kawamura et al. (2025)``; one author ``A (2025)``, two ``A & B (2025)``."""
    surnames = [str(a).split()[0] for a in reference["authors"]]
    who = (surnames[0] if len(surnames) == 1 else " & ".join(surnames) if len(surnames) == 2
           else f"{surnames[0]} et al.")
    return esc(f"{who} ({reference['year']})")


def doi_link(reference: Mapping) -> str:
    """``doi:[10.x/y](https://doi.org/10.x/y)``."""
    doi = str(reference["doi"])
    return f"doi:[{esc(doi)}](https://doi.org/{doi})"


def full_citation(reference: Mapping) -> str:
    """Vancouver style, as the journal prints it: authors. Title. *Journal*. Year;Vol:Art. doi."""
    where = str(reference["year"])
    if reference.get("volume") is not None:
        where += f";{reference['volume']}"
        if reference.get("article") is not None:
            where += f":{reference['article']}"
    return (f"{esc(', '.join(map(str, reference['authors'])))}. {esc(reference['title'])}. "
            f"*{esc(reference['journal'])}*. {esc(where)}. {doi_link(reference)}")


def source_md(*, study: Mapping) -> str:
    """The title block's line citing the published source ('' without ``study.reference``)."""
    reference = reference_of(study)
    if reference is None:
        return ""
    return _(SOURCE).format(citation=short_citation(reference), doi=doi_link(reference)) + "\n"


def references_md(*, study: Mapping) -> str:
    """The reference list at the end of the report ('' without ``study.reference``)."""
    reference = reference_of(study)
    return "" if reference is None else f"1. {full_citation(reference)}\n"


def nearest_fractions(share: float, n: int) -> tuple[int, int] | None:
    """(k_below, k_above) when no k/n rounds half up to ``share`` (2 decimals), else None.

    >>> nearest_fractions(0.84, 23)
    (19, 20)
    >>> nearest_fractions(0.83, 23) is None
    True
    """
    if n <= 0 or any(round_half_up(k / n, 2) == round(share, 2) for k in range(n + 1)):
        return None
    below = max(k for k in range(n + 1) if k / n < share)
    return below, below + 1


def _unreachable_sentences(cmp: pd.DataFrame, proportions, questions: Mapping) -> list[str]:
    out = []
    for _i, r in cmp[cmp["basis"] == "participants"].iterrows():
        n = row_value(first_row(proportions, question=r["question"], code=r["code"],
                                timepoint=r["timepoint"]), "n")
        found = None if is_missing(n) else nearest_fractions(float(r["published"]), int(n))
        if found is None:
            continue
        n = int(n)
        below, above = (f"{k}/{n} = {localise_number(f'{k / n:.3f}')}" for k in found)
        out.append(_(UNREACHABLE).format(
            n=n, share=fmt_num(r["published"]), timepoint=esc(r["timepoint"]),
            code=esc(code_label(questions, r["question"], r["code"])), below=below, above=above))
    return out


def _context(cmp: pd.DataFrame, tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    """The source cited (with ``study.reference``), the reconstruction said (a synthetic
    cohort), the shares no whole count reaches named with their nearest fractions."""
    reference = reference_of(study)
    sentences = [] if reference is None else [
        _(PUBLISHED_FROM).format(citation=short_citation(reference), doi=doi_link(reference))]
    if cohort.get("synthetic"):
        sentences.append(_(RECONSTRUCTED))
    sentences += _unreachable_sentences(cmp, table_of(tables, "proportions"), questions_of(study))
    return join_sentences(sentences) + "\n" if sentences else ""


def published_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    questions = questions_of(study)
    published = cohort.get("published") or {}
    if not published:
        return _("No published figures are configured for this cohort.") + "\n"
    cmp = published_comparison(table_of(tables, "proportions"), published)
    rows = []
    for _i, r in cmp.iterrows():
        flag = _("**differs**") if r["flagged"] else _("matches")
        if is_missing(r["reproduced"]):
            flag = _("**not reproduced**")
        diff = DASH if is_missing(r["difference"]) else localise_number(f"{r['difference']:+.2f}")
        rows.append([esc(r["question"]), esc(code_label(questions, r["question"], r["code"])),
                     esc(r["timepoint"]), _(BASIS_WORDS[r["basis"]]), fmt_num(r["published"]),
                     fmt_num(r["reproduced"], 3), fmt_num(r["reproduced_rounded"]), diff, flag])
    n_flag = int(cmp["flagged"].sum())
    bases = set(cmp["basis"])
    basis_text = (_("Each is compared on its own basis: *participants*, the share of the "
                    "participants who answered that carry the code; *codes*, the code's share of "
                    "all codes given for the question at that time point. ")
                  if "codes" in bases else
                  _("All are shares of participants (those who answered that carry the code). "))
    verdict = (ngettext("The {n} published share is reproduced.", "All {n} published shares are reproduced.",
                        len(cmp)).format(n=len(cmp)) if n_flag == 0 else
               ngettext("{k} of {n} published share differs.", "{k} of {n} published shares differ.",
                        len(cmp)).format(k=n_flag, n=len(cmp)))
    out = [_("Each share the paper published is set beside the share this pipeline reproduces. ")
           + basis_text +
           _("Rule: the reproduced share is rounded half up to two decimals, as the published "
             "figures are, and flagged when it differs from the published one by more than "
             "rounding, i.e. |rounded − published| > {tolerance}. ").format(
               tolerance=localise_number(str(PUBLISHED_TOLERANCE)))
           + verdict + "\n",
           md_table([_("Question"), _("Code"), _("Time"), _("Basis"), _("Published"), _("Reproduced"),
                     _("Rounded"), _("Diff."), _("Check")], rows, align="llllrrrrl",
                    caption=_("Published versus reproduced shares, each on its basis "
                              "(participants or codes). Time: time point; Rounded: the "
                              "reproduced share rounded half up to two decimals; Diff.: rounded "
                              "minus published."), label="tbl-published")]
    context = _context(cmp, tables, study=study, cohort=cohort)
    if context:
        out.insert(1, context)
    return "\n".join(out)
