"""The comparison with the published shares (``published`` in the cohort's config)."""
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
from alliance_pipeline.report.language import N_, _, localise_number, ngettext
from alliance_pipeline.report.lookup import code_label, first_row, questions_of, table_of

PUBLISHED_TOLERANCE = 0.005

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
    return "\n".join(out)
