"""Markdown fragments of one cohort's report, written from the derived tables.

``reports/report.qmd`` holds presentation only; every number, table and sentence that
depends on data comes from the fragments built here and pulled in with Quarto's
``{{< include >}}``. The builders are pure (data frames and plain values in, markdown out);
:func:`write_fragments` and :func:`load_tables` are the only functions that touch files.

Inputs, all plain values:

- ``tables``: ``{"agreement", "proportions", "tests", "power", "final_codes", "flow"}`` ->
  DataFrame, as in the data contract; ``flow`` as written by
  :func:`alliance_pipeline.proportions.participant_flow` (a minimal question, timepoint,
  n_participants table also works). A missing table gives a section that says so.
- ``study``: :func:`alliance_pipeline.config.study_settings` (title, timepoints, contrasts,
  questions, codebook_version).
- ``cohort``: :func:`alliance_pipeline.config.cohort_settings` (cohort, label, synthetic,
  site, analysis, published).
- ``provenance``: see :mod:`alliance_pipeline.provenance`.
- ``quotes``: response texts the config explicitly allows (``report.quotes``); none by
  default. No other response text ever reaches the report: the builders never read a
  ``text`` or ``rationale`` column.

Cross-reference labels are ``fig-<slug>`` and ``tbl-<slug>``; figures are referenced without
extension (``figures/flow``) so each output format picks its own (PNG for HTML, SVG for PDF).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd
import yaml

from .config import PUBLISHED_BASES, published_figures
from .outputs import figure_stems, is_repeated, repeated_questions

FRAGMENTS = ("summary", "banner", "design", "flow", "reliability", "results", "feedback",
             "quotes", "published", "power", "limitations", "reproducibility")
TABLE_FILES = {"agreement": "agreement.csv", "proportions": "proportions.csv",
               "tests": "tests.csv", "power": "power.csv", "final_codes": "final_codes.csv",
               "flow": "flow.csv"}

DASH = "—"  # shown for an undefined value
CONTRAST_GLOSS = {  # how a contrast of a known name reads in a sentence
    "baseline": "over the baseline period without training",
    "training": "across the training",
    "overall": "overall",
}
CONTRAST_READING = {  # the design table's reading of a contrast
    "baseline": "change without training",
    "training": "change across the training",
    "overall": "change from first to last measurement",
}
PUBLISHED_TOLERANCE = 0.005
SMALL_N = 30
WIDE_CI = 0.30
ADJUST_NAMES = {"holm": "Holm-adjusted", "bonferroni": "Bonferroni-adjusted", "none": "unadjusted"}
METHOD_NAMES = {"exact": "exact binomial", "midp": "mid-p", "asymptotic": "asymptotic χ²",
                "asymptotic_cc": "asymptotic χ² with continuity correction",
                "clustered": "clustered (Obuchowski)"}


# ---------------------------------------------------------------- formatting helpers

def _missing(x) -> bool:
    """Undefined: None, NaN or an empty cell (read_table keeps all-empty columns as '')."""
    if x is None:
        return True
    if isinstance(x, str):
        return not x.strip()
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def fmt_num(x, digits: int = 2) -> str:
    """A number with ``digits`` decimals; ``—`` when undefined."""
    if _missing(x):
        return DASH
    return f"{float(x):.{digits}f}"


def fmt_pct(x, digits: int = 1) -> str:
    """A share 0..1 as a percentage (``64.7%``); ``—`` when undefined."""
    if _missing(x):
        return DASH
    return f"{float(x) * 100:.{digits}f}%"


def fmt_p(p) -> str:
    """A p-value: three decimals, ``< 0.001`` below that; ``—`` when undefined."""
    if _missing(p):
        return DASH
    p = float(p)
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_p_eq(p) -> str:
    """``p`` for running text: ``= 0.031`` or ``< 0.001``."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def fmt_ci(lo, hi, digits: int = 2, pct: bool = False) -> str:
    """``[lo, hi]``; ``—`` when either bound is undefined."""
    if _missing(lo) or _missing(hi):
        return DASH
    if pct:
        return f"[{float(lo) * 100:.{digits}f}, {float(hi) * 100:.{digits}f}]"
    return f"[{float(lo):.{digits}f}, {float(hi):.{digits}f}]"


def fmt_int(x) -> str:
    if _missing(x):
        return DASH
    return str(int(round(float(x))))


def round_half_up(x: float, digits: int = 2) -> float:
    """Round as people do (0.125 -> 0.13), on the decimal written form of the float."""
    quantum = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(x))).quantize(quantum, rounding=ROUND_HALF_UP))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$@~^])")


def esc(text) -> str:
    """Escape text from the config or codebook so Markdown shows it literally."""
    text = "" if _missing(text) else str(text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"\s+", " ", text).strip()


def slug(*parts: str) -> str:
    """A cross-reference-safe id part: lower case, letters/digits joined by hyphens."""
    text = "-".join(str(p) for p in parts)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


_PIPE = re.compile(r"(?<!\\)\|")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, align: str | None = None,
             caption: str | None = None, label: str | None = None) -> str:
    """A pipe table; ``align`` one letter per column (l, r, c); caption with ``{#tbl-...}``."""
    rows = [[_PIPE.sub(r"\\|", str(c).replace("\n", " ")) for c in row] for row in rows]
    headers = [_PIPE.sub(r"\\|", str(h)) for h in headers]
    align = align or "l" * len(headers)
    widths = [max([len(headers[i])] + [len(r[i]) for r in rows] + [3]) for i in range(len(headers))]
    seps = []
    for a, w in zip(align, widths):
        dashes = "-" * max(3, min(w, 40))
        seps.append({"l": ":" + dashes[1:], "r": dashes[1:] + ":", "c": ":" + dashes[2:] + ":"}.get(a, dashes))
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(seps) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if caption:
        lines += ["", f": {caption}" + (f" {{#{label}}}" if label else "")]
    return "\n".join(lines) + "\n"


def md_figure(stem: str, caption: str, label: str, *, width: str | None = None) -> str:
    """An image paragraph with a cross-reference id; path without extension (format picks)."""
    attrs = f"#{label}" + (f" width={width}" if width else "")
    return f"![{caption}](figures/{stem}){{{attrs}}}\n"


def md_code(text: str, lang: str = "") -> str:
    """A fenced code block; shortcode openers in the text are defused."""
    text = text.replace("{{<", "{{\u200b<").rstrip("\n")
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{lang}\n{text}\n{fence}\n"


def join_words(items: Sequence[str], conj: str = "and") -> str:
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conj} " + items[-1]


# ---------------------------------------------------------------- settings helpers

def questions_of(study: Mapping) -> dict[str, dict]:
    """Per question: prompt, timepoints, codes (list), labels, definitions.

    Accepts :func:`alliance_pipeline.config.questions_settings` output or a raw codebook's
    ``questions`` block (codes as ``{id: {label, definition}}``).
    """
    out = {}
    for qid, q in (study.get("questions") or {}).items():
        codes = q.get("codes", [])
        if isinstance(codes, Mapping):
            labels = {c: (spec or {}).get("label", c) for c, spec in codes.items()}
            definitions = {c: (spec or {}).get("definition", "") for c, spec in codes.items()}
            codes = list(codes)
        else:
            labels = dict(q.get("labels", {}))
            definitions = dict(q.get("definitions", {}))
        out[qid] = {"prompt": q.get("prompt", ""), "timepoints": list(q.get("timepoints", [])),
                    "codes": list(codes), "labels": labels, "definitions": definitions,
                    "multi_label": bool(q.get("multi_label", True))}
    return out


def code_label(questions: Mapping, question: str, code: str) -> str:
    if code == "*":
        return "All codes (question as a whole)"
    return str(questions.get(question, {}).get("labels", {}).get(code, code))


def _analysis(cohort: Mapping) -> dict:
    return dict(cohort.get("analysis") or {})


def _confidence(cohort: Mapping) -> float:
    return float(_analysis(cohort).get("confidence", 0.95))


def _alpha(cohort: Mapping) -> float:
    return round(1.0 - _confidence(cohort), 10)


def _conf_label(cohort: Mapping) -> str:
    return f"{_confidence(cohort) * 100:g}% CI"


def _adjust_name(cohort: Mapping) -> str:
    return ADJUST_NAMES.get(str(_analysis(cohort).get("p_adjust", "holm")), "adjusted")


def _tp_order(study: Mapping) -> dict[str, int]:
    return {t: i for i, t in enumerate(study.get("timepoints", []))}


def _table(tables: Mapping, name: str) -> pd.DataFrame | None:
    frame = tables.get(name) if tables else None
    if frame is None or not isinstance(frame, pd.DataFrame):
        return None
    return frame


def _rows(frame: pd.DataFrame | None, **where) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    mask = pd.Series(True, index=frame.index)
    for key, value in where.items():
        if key not in frame.columns:
            return frame.iloc[0:0]
        mask &= frame[key].astype(str) == str(value)
    return frame[mask]


def _first(frame: pd.DataFrame | None, **where):
    rows = _rows(frame, **where)
    return None if rows.empty else rows.iloc[0]


def _val(row, column):
    if row is None or column not in row.index:
        return float("nan")
    return row[column]


def _cochran_how(analysis: Mapping) -> str:
    """How Cochran's Q p-values are got, for the methods paragraph."""
    draws = int((analysis.get("cochran", {}) or {}).get("permutations", 0) or 0)
    if draws <= 0:
        return " (chi-square p)"
    return (f" (chi-square p, and a permutation p from {draws:,} seeded permutations of the "
            f"time points within each participant)")


def _permutation_caption(tests: pd.DataFrame | None, question: str) -> str:
    """The Cochran table's caption key for its permutation p column; '' when no row has one."""
    if tests is None or "p_permutation" not in tests.columns:
        return ""
    rows = tests[(tests["question"].astype(str) == question) & (tests["test"] == "cochran_q")]
    rows = rows[pd.to_numeric(rows["p_permutation"], errors="coerce").notna()]
    if rows.empty:
        return ""
    draws = pd.to_numeric(rows["permutations"], errors="coerce")
    mcse = pd.to_numeric(rows["p_permutation_mcse"], errors="coerce").max()
    count = f"{int(draws.iloc[0]):,}" if draws.nunique() == 1 else "seeded"
    return (f". p: chi-square approximation; p perm.: permutation p from {count} seeded "
            f"permutations of the time points within each participant (Monte Carlo standard "
            f"error at most {mcse:.4f})")


def _mcnemar_rows(tests: pd.DataFrame | None, question: str, code: str, contrast: str) -> pd.DataFrame:
    """McNemar rows of one code and contrast, the participant-level one first.

    A cohort with several responses per participant and time point (items) has a second,
    item-level row with method ``clustered``.
    """
    rows = _rows(tests, question=question, code=code, test="mcnemar", contrast=contrast)
    if rows.empty or "method" not in rows.columns:
        return rows
    return rows.assign(_clustered=rows["method"].astype(str) == "clustered").sort_values(
        "_clustered", kind="stable").drop(columns="_clustered")


def _primary(tests: pd.DataFrame | None, question: str, code: str, contrast: str):
    rows = _mcnemar_rows(tests, question, code, contrast)
    return None if rows.empty else rows.iloc[0]


def _single(questions: Mapping) -> list[str]:
    return [q for q, s in questions.items() if not is_repeated(s)]


def _codes_in(frame: pd.DataFrame | None, questions: Mapping, question: str,
              include_star: bool = False) -> list[str]:
    """Codes of ``question`` in codebook order, then any others the table holds."""
    listed = list(questions.get(question, {}).get("codes", []))
    present = []
    if frame is not None and not frame.empty and "code" in frame.columns:
        present = list(dict.fromkeys(frame.loc[frame["question"].astype(str) == question, "code"].astype(str)))
    codes = [c for c in listed if c in present] + [c for c in present if c not in listed]
    if not include_star:
        codes = [c for c in codes if c != "*"]
    elif "*" in codes:
        codes = [c for c in codes if c != "*"] + ["*"]
    return codes


# ---------------------------------------------------------------- meta and banner

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


# ---------------------------------------------------------------- summary

def _participants(tables: Mapping, study: Mapping | None = None) -> int | None:
    flow = normalise_flow(_table(tables, "flow"), study or {})
    if not flow.empty and flow["n_cohort"].notna().any():
        return int(flow["n_cohort"].max())
    final_codes = _table(tables, "final_codes")
    if final_codes is not None and "participant_id" in final_codes.columns and len(final_codes):
        return int(final_codes["participant_id"].astype(str).nunique())
    props = _table(tables, "proportions")
    if props is not None and "n" in props.columns and len(props):
        return int(pd.to_numeric(props["n"], errors="coerce").max())
    return None


def _p_of(row) -> tuple[float, bool]:
    """(p, adjusted?) of a test row: the adjusted p when defined, else the raw one."""
    p_adj = _val(row, "p_adjusted")
    if not _missing(p_adj):
        return float(p_adj), True
    p = _val(row, "p_value")
    return (float("nan"), False) if _missing(p) else (float(p), False)


def significance_word(p: float, alpha: float) -> str:
    """``significant`` / ``not significant`` at ``alpha``; ``not testable`` when p is undefined."""
    if _missing(p):
        return "not testable"
    return "significant" if p < alpha else "not significant"


def change_clause(row, *, first: str, second: str, contrast: str, cohort: Mapping,
                  share_first=None, share_second=None) -> str:
    """One contrast in words that follow its numbers (direction, size, significance)."""
    alpha = _alpha(cohort)
    gloss = CONTRAST_GLOSS.get(contrast, f"in the {esc(contrast)} contrast")
    head = f"{gloss} ({esc(first)} → {esc(second)})"
    rd = _val(row, "risk_difference")
    if _missing(rd) and not (_missing(share_first) or _missing(share_second)):
        rd = float(share_second) - float(share_first)
    if _missing(rd):
        move = "the change could not be estimated"
    elif abs(float(rd)) < 5e-4:
        move = "the share did not change"
    else:
        move = (f"the share {'rose' if float(rd) > 0 else 'fell'} by "
                f"{abs(float(rd)) * 100:.1f} percentage points")
    pairs = _val(row, "n") if row is not None else float("nan")
    if not _missing(pairs) and not _missing(rd):
        move += f" ({fmt_int(pairs)} pairs)"
    p, adjusted = _p_of(row)
    if row is None:
        return f"{head} {move}, but no test is available"
    if _missing(p):
        note = _val(row, "note")
        why = f" ({esc(note)})" if not _missing(note) and str(note).strip() else ""
        return f"{head} {move}, but the change could not be tested{why}"
    word = significance_word(p, alpha)
    pname = f"{_adjust_name(cohort)} p" if adjusted else "p"
    return f"{head} {move}, which is {word} at α = {alpha:g} ({pname} {fmt_p_eq(p)})"


SUMMARY_WORDS = 150  # the summary a reviewer reads in one pass; per-contrast text is in Results


def _effect(row, cohort: Mapping) -> str:
    """``RD −0.32, 95% CI [−0.50, −0.09], Holm-adjusted p = 0.031`` of a McNemar row."""
    parts = []
    rd = _val(row, "risk_difference")
    if not _missing(rd):
        parts.append(f"RD {fmt_num(rd)}, {_conf_label(cohort)} "
                     f"{fmt_ci(_val(row, 'rd_ci_low'), _val(row, 'rd_ci_high'))}")
    p, adjusted = _p_of(row)
    if not _missing(p):
        parts.append(f"{_adjust_name(cohort) + ' ' if adjusted else ''}p {fmt_p_eq(p)}")
    return ", ".join(parts)


def _code_name(questions: Mapping, q: str, code: str, several: bool) -> str:
    name = f"*{esc(code_label(questions, q, code))}*"
    return f"{name} ({esc(q)})" if several else name


def summary_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    """The findings in one paragraph of at most about :data:`SUMMARY_WORDS` words: design and
    n; the training contrast of each repeated code (risk difference, interval, adjusted p);
    whether the baseline changed; the three most frequent feedback codes; the range of
    Krippendorff's α; the synthetic-data caveat. Every contrast in words is in Results."""
    questions = questions_of(study)
    props = _table(tables, "proportions")
    tests = _table(tables, "tests")
    agreement = _table(tables, "agreement")
    contrasts = dict(study.get("contrasts") or {})
    alpha = _alpha(cohort)
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
                for code in _codes_in(props, questions, q):
                    yield q, code, _primary(tests, q, code, name)

    if training:
        t1, t2 = contrasts[training]
        items = []
        for q, code, row in rows_of(training):
            rd = _val(row, "risk_difference")
            p, _ = _p_of(row)
            if row is None or _missing(p):
                items.append(f"{_code_name(questions, q, code, several)} could not be tested")
                continue
            direction = ("did not change" if _missing(rd) or abs(float(rd)) < 5e-4
                         else "rose" if float(rd) > 0 else "fell")
            if direction != "did not change":
                direction += "" if p < alpha else " non-significantly"
            items.append(f"{_code_name(questions, q, code, several)} {direction} "
                         f"({_effect(row, cohort)})")
        if items:
            sentences.append(f"{CONTRAST_GLOSS.get(training, 'In the ' + esc(training) + ' contrast').capitalize()} "
                             f"({t1} → {t2}), {join_words(items)}.")
    if baseline:
        t1, t2 = contrasts[baseline]
        rows = list(rows_of(baseline))
        tested = [(q, code, row, _p_of(row)[0]) for q, code, row in rows
                  if row is not None and not _missing(_p_of(row)[0])]
        changed = [(q, code, row) for q, code, row, p in tested if p < alpha]
        head = f"Over the baseline without training ({t1} → {t2})"
        if changed:
            sentences.append(f"{head}, {join_words([f'{_code_name(questions, q, c, several)} changed ({_effect(r, cohort)})' for q, c, r in changed])}"
                             + (", the other codes did not." if len(changed) < len(tested) else "."))
        elif tested:
            lowest = min(p for *_, p in tested)
            adjusted = any(_p_of(row)[1] for *_, row, _ in tested)
            pname = "adjusted p" if adjusted else "p"
            sentences.append(f"{head}, no code changed significantly (every {pname} ≥ "
                             f"{fmt_p(lowest)}).")
        if len(tested) < len(rows):
            sentences.append(f"{len(rows) - len(tested)} baseline contrast(s) could not be tested.")
    for q in _single(questions):
        rows = _rows(props, question=q)
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


# ---------------------------------------------------------------- study design

def design_md(*, study: Mapping, cohort: Mapping) -> str:
    questions = questions_of(study)
    analysis = _analysis(cohort)
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
        f"{_confidence(cohort) * 100:g}% Wilson score intervals. Change across all time points "
        f"is tested with Cochran's Q on complete cases{_cochran_how(analysis)}; each contrast "
        f"with McNemar's test "
        f"({how}), p-values {_adjust_name(cohort)} across the contrasts of one code. "
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


# ---------------------------------------------------------------- participant flow

FLOW_COLUMNS = ["question", "step", "name", "timepoints", "n_cohort", "n", "n_excluded", "missing"]


def normalise_flow(flow: pd.DataFrame | None, study: Mapping) -> pd.DataFrame:
    """The flow table in the shape :func:`alliance_pipeline.proportions.participant_flow` writes.

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
    flow = normalise_flow(_table(tables, "flow"), study)
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
    if not _missing(n_cohort):
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
            if not _missing(c["n_excluded"]) and c["n_excluded"] > 0:
                text += (f" and {fmt_int(c['n_excluded'])} who answered only some of them "
                         f"({_ids(c['missing'])}) are left out of Cochran's Q")
        sentences.append(text + ".")
    if sentences:
        out.append(" ".join(sentences) + "\n")
    return "\n".join(out)


def _complete_cases(flow: pd.DataFrame, tests: pd.DataFrame | None, question: str) -> int | None:
    rows = flow[(flow["question"].astype(str) == question) & (flow["step"] == "complete")]
    if not rows.empty and not _missing(rows["n"].iloc[0]):
        return int(rows["n"].iloc[0])
    rows = _rows(tests, question=question, test="cochran_q")
    if not rows.empty:
        values = pd.to_numeric(rows["n"], errors="coerce").dropna()
        if len(values):
            return int(values.max())
    return None


# ---------------------------------------------------------------- reliability

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
    agreement = _table(tables, "agreement")
    analysis = _analysis(cohort)
    ag = analysis.get("agreement", {}) or {}
    conf = _conf_label(cohort)
    out = []
    if agreement is None or agreement.empty:
        out.append("The agreement table was not available for this report.\n")
    else:
        rows = []
        notes = []
        for q in questions if questions else dict.fromkeys(agreement["question"].astype(str)):
            for code in _codes_in(agreement, questions, q, include_star=True):
                r = _first(agreement, question=q, code=code)
                n_coders = _val(r, "n_coders")
                kappa = _val(r, "cohen_kappa")
                if _missing(kappa) or (not _missing(n_coders) and int(n_coders) > 2):
                    kappa = _val(r, "fleiss_kappa")
                note = _val(r, "note")
                label = esc(code_label(questions, q, code))
                if not _missing(note) and str(note).strip():
                    notes.append(f"*{esc(q)} / {label}*: {esc(note)}")
                rows.append([esc(q), label, fmt_int(_val(r, "n_units")), fmt_int(n_coders),
                             fmt_pct(_val(r, "percent_agreement")),
                             fmt_num(kappa),
                             fmt_num(_val(r, "krippendorff_alpha")),
                             fmt_ci(_val(r, "alpha_ci_low"), _val(r, "alpha_ci_high")),
                             fmt_num(_val(r, "gwet_ac1")),
                             esc(_val(r, "verdict")) if not _missing(_val(r, "verdict")) and str(_val(r, "verdict")) else DASH])
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
                     f"α = {fmt_num(r.get('krippendorff_alpha'))})" for _, r in below.iterrows()]
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
    sources = response_sources(_table(tables, "final_codes"))
    if not sources.empty:
        rows = [[esc(r["question"]), str(r["unanimous"]), str(r["adjudicated"]), str(r["majority"]),
                 str(r["total"])] for _, r in sources.iterrows()]
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


# ---------------------------------------------------------------- results

def _share_rows(props: pd.DataFrame | None, questions: Mapping, q: str, order: Mapping,
                sort_by_share: bool = False, of_codes: bool = False) -> list[list[str]]:
    """Code, time point, k/n, share of participants, interval (and, with ``of_codes``, the
    code's share of all codes given: ``share_of_codes`` of proportions.csv)."""
    rows = _rows(props, question=q)
    if rows.empty:
        return []
    rows = rows.copy()
    code_order = {c: i for i, c in enumerate(_codes_in(props, questions, q))}
    rows["_c"] = rows["code"].astype(str).map(code_order)
    rows["_t"] = rows["timepoint"].astype(str).map(order).fillna(len(order))
    if sort_by_share:
        rows = rows.sort_values(["proportion", "_c"], ascending=[False, True])
    else:
        rows = rows.sort_values(["_c", "_t"])
    out = []
    for _, r in rows.iterrows():
        cells = [esc(code_label(questions, q, r["code"])), esc(r["timepoint"]),
                 f"{fmt_int(r['k'])}/{fmt_int(r['n'])}", fmt_pct(r["proportion"]),
                 fmt_ci(r["ci_low"], r["ci_high"], digits=1, pct=True)]
        if of_codes:
            cells.append(fmt_pct(r.get("share_of_codes", float("nan"))))
        out.append(cells)
    return out


def fmt_odds_ratio(row) -> str:
    """Paired odds ratio with its interval; ``∞`` when b = 0 < c (only the lower bound exists)."""
    odds, lo, hi = _val(row, "odds_ratio"), _val(row, "or_ci_low"), _val(row, "or_ci_high")
    b, c = _val(row, "b"), _val(row, "c")
    infinite = _missing(odds) and not _missing(b) and not _missing(c) and float(b) == 0 and float(c) > 0
    if infinite:
        return f"∞ [{fmt_num(lo)}, ∞]" if not _missing(lo) else "∞"
    if _missing(odds):
        return DASH
    if _missing(lo) and _missing(hi):
        return fmt_num(odds)
    return f"{fmt_num(odds)} [{fmt_num(lo)}, {fmt_num(hi)}]"


def test_note(row) -> str:
    """A test row's note without the routine ``auto: ...`` method choice (shown as Method)."""
    note = _val(row, "note")
    if _missing(note):
        return ""
    parts = [p.strip() for p in str(note).split(";") if p.strip() and not p.strip().startswith("auto:")]
    return esc("; ".join(parts))


def _ci_methods(rows: pd.DataFrame) -> str:
    names = []
    for column, what in (("rd_ci_method", "RD interval"), ("or_ci_method", "OR interval")):
        if column in rows.columns:
            values = sorted({str(v) for v in rows[column].dropna() if str(v)})
            if values:
                names.append(f"{what}: {esc(', '.join(values))}")
    return (" " + "; ".join(names) + ".") if names else ""


def _mcnemar_cells(r, questions: Mapping, q: str, code: str, name: str, pairs: str) -> list[str]:
    return [esc(code_label(questions, q, code)), esc(name),
            esc(_val(r, "timepoints")).replace("\\|", " → "),
            pairs, fmt_int(_val(r, "b")), fmt_int(_val(r, "c")),
            esc(_val(r, "method")) if not _missing(_val(r, "method")) else DASH,
            fmt_p(_val(r, "p_value")), fmt_p(_val(r, "p_adjusted")),
            f"{fmt_num(_val(r, 'risk_difference'))} "
            f"{fmt_ci(_val(r, 'rd_ci_low'), _val(r, 'rd_ci_high'))}",
            fmt_odds_ratio(r)]


def results_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
               figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    props = _table(tables, "proportions")
    tests = _table(tables, "tests")
    order = _tp_order(study)
    contrasts = dict(study.get("contrasts") or {})
    conf = _conf_label(cohort)
    alpha = _alpha(cohort)
    adjust = _adjust_name(cohort)
    out = []
    multi = repeated_questions(questions)
    if not multi:
        return "No question was asked at two or more time points, so no change was tested.\n"
    for q in multi:
        spec = questions[q]
        s = slug(q)
        out.append(f"## {esc(q)}: “{esc(spec['prompt'])}”\n")
        share_rows = _share_rows(props, questions, q, order)
        if not share_rows:
            out.append("No shares were available for this question.\n")
            continue
        refs = [f"@tbl-shares-{s}"]
        if figures is None or f"shares_{q}" in figures:
            refs.append(f"@fig-shares-{s}")
        out.append(f"{join_words(refs)} show the share of participants with each code at each "
                   f"time point, with {conf.replace('CI', 'Wilson intervals')}.\n")
        out.append(md_table(["Code", "Time point", "k/n", "Share", f"{conf} (%)"], share_rows,
                            align="llrrr",
                            caption=f"Share of participants with each code ({esc(q)}); Wilson "
                                    f"score intervals.",
                            label=f"tbl-shares-{s}"))
        if figures is None or f"shares_{q}" in figures:
            out.append(md_figure(f"shares_{q}", f"Share of participants with each code at each "
                                 f"time point, with {conf} ({esc(q)}).", f"fig-shares-{s}"))
        # Cochran's Q
        q_rows, perm = [], _permutation_caption(tests, q)
        for code in _codes_in(props, questions, q):
            r = _first(tests, question=q, code=code, test="cochran_q")
            if r is None:
                continue
            q_rows.append([esc(code_label(questions, q, code)), esc(_val(r, "timepoints")).replace("\\|", ", "),
                           fmt_int(_val(r, "n")), fmt_num(_val(r, "statistic")), fmt_int(_val(r, "df")),
                           fmt_p(_val(r, "p_value"))]
                          + ([fmt_p(_val(r, "p_permutation"))] if perm else [])
                          + [esc(_val(r, "note")) if not _missing(_val(r, "note")) else ""])
        if q_rows:
            out.append(md_table(["Code", "Time points", "Complete cases", "Q", "df", "p"]
                                + (["p perm."] if perm else []) + ["Note"],
                                q_rows, align="llrrrr" + ("r" if perm else "") + "l",
                                caption=f"Cochran's Q: does the share differ across time points? "
                                        f"({esc(q)}){perm}",
                                label=f"tbl-cochran-{s}"))
        # McNemar
        m_rows = []
        m_notes = []
        for code in _codes_in(props, questions, q):
            for name in contrasts:
                for _, r in _mcnemar_rows(tests, q, code, name).iterrows():
                    clustered = str(_val(r, "method")) == "clustered"
                    pairs = fmt_int(_val(r, "n"))
                    if clustered and not _missing(_val(r, "n_clusters")):
                        pairs += f" ({fmt_int(_val(r, 'n_clusters'))} clusters)"
                    m_rows.append(_mcnemar_cells(r, questions, q, code, name, pairs))
                    note = test_note(r)
                    if note:
                        m_notes.append(f"*{esc(code_label(questions, q, code))}, {esc(name)}"
                                       f"{' (clustered)' if clustered else ''}*: {note}")
        if m_rows:
            forest = figures is None or f"forest_{q}" in figures
            q_tests = _rows(tests, question=q, test="mcnemar")
            methods = _ci_methods(q_tests)
            clustered_text = ""
            if "method" in q_tests.columns and (q_tests["method"].astype(str) == "clustered").any():
                clustered_text = (" Clustered rows test the item-level pairs (several responses "
                                  "per participant), with participants as clusters; the row above "
                                  "each is the participant-level test.")
            out.append(f"@tbl-mcnemar-{s} tests each contrast with McNemar's test"
                       + (f"; @fig-forest-{s} shows the risk differences." if forest else ".") + "\n")
            out.append(md_table(["Code", "Contrast", "Time points", "Pairs", "b", "c", "Method", "p",
                                 "Adj. p", f"RD {conf}", f"OR {conf}"], m_rows,
                                align="lllrrrlrrrr",
                                caption=(f"McNemar tests per contrast ({esc(q)}). b: code present at the "
                                         f"first time point only; c: at the second only. Adj. p: "
                                         f"{adjust} across the contrasts of one code. RD: "
                                         f"risk difference (second − first); OR: paired odds ratio c/b."
                                         + methods + clustered_text),
                                label=f"tbl-mcnemar-{s}"))
            if m_notes:
                out.append("Notes: " + "; ".join(m_notes) + ".\n")
            if forest:
                out.append(md_figure(f"forest_{q}", f"Risk differences with {conf} per code and "
                                     f"contrast ({esc(q)}).", f"fig-forest-{s}"))
        # interpretation
        paragraphs = []
        for code in _codes_in(props, questions, q):
            label = esc(code_label(questions, q, code))
            parts = []
            rq = _first(tests, question=q, code=code, test="cochran_q")
            if rq is not None:
                pq = _val(rq, "p_value")
                if _missing(pq):
                    note = _val(rq, "note")
                    parts.append("Cochran's Q could not be computed"
                                 + (f" ({esc(note)})" if not _missing(note) and str(note) else ""))
                else:
                    parts.append(f"across all time points the shares differ "
                                 f"{'significantly' if pq < alpha else 'not significantly'} "
                                 f"(Cochran's Q = {fmt_num(_val(rq, 'statistic'))}, df = "
                                 f"{fmt_int(_val(rq, 'df'))}, n = {fmt_int(_val(rq, 'n'))}, p {fmt_p_eq(pq)})")
            for name, (t1, t2) in contrasts.items():
                r = _primary(tests, q, code, name)
                if r is None:
                    continue
                clause = change_clause(r, first=t1, second=t2, contrast=name, cohort=cohort)
                effects = []
                if not _missing(_val(r, "risk_difference")):
                    effects.append(f"RD = {fmt_num(_val(r, 'risk_difference'))}, {conf} "
                                   f"{fmt_ci(_val(r, 'rd_ci_low'), _val(r, 'rd_ci_high'))}")
                odds = fmt_odds_ratio(r)
                if odds != DASH:
                    effects.append(f"paired OR = {odds.replace(' [', f', {conf} [', 1)}")
                if effects:
                    clause += f"; {'; '.join(effects)}"
                parts.append(clause)
            if parts:
                paragraphs.append(f"*{label}*: " + "; ".join(parts) + ".")
        if paragraphs:
            out.append("\n\n".join(paragraphs) + "\n")
    return "\n".join(out)


# ---------------------------------------------------------------- feedback

def feedback_md(tables: Mapping, *, study: Mapping, cohort: Mapping,
                figures: set[str] | None = None) -> str:
    questions = questions_of(study)
    props = _table(tables, "proportions")
    order = _tp_order(study)
    conf = _conf_label(cohort)
    single = _single(questions)
    if not single:
        return "No question was asked at a single time point.\n"
    out = []
    for q in single:
        spec = questions[q]
        s = slug(q)
        tp = spec["timepoints"][0]
        out.append(f"## {esc(q)}: “{esc(spec['prompt'])}”\n")
        rows = _share_rows(props, questions, q, order, sort_by_share=True, of_codes=True)
        if not rows:
            out.append("No shares were available for this question.\n")
            continue
        refs = [f"@tbl-frequencies-{s}"]
        fig = figures is None or f"frequencies_{q}" in figures
        if fig:
            refs.append(f"@fig-frequencies-{s}")
        given = _rows(props, question=q, timepoint=tp)
        total = int(pd.to_numeric(given["k"], errors="coerce").fillna(0).sum()) if len(given) else 0
        out.append(f"Asked only at *{esc(tp)}*; {join_words(refs)} show how often each code was "
                   "given, most frequent first.\n")
        answered = fmt_int(given["n"].iloc[0]) if len(given) else DASH
        out.append(f"Each code is shown on two bases: *Share* is the share of the {answered} "
                   f"participants who answered that gave the code (one may give several, so "
                   f"these add up to more than 100%), while *Of codes* is the code's share of "
                   f"all {total} codes given (these add up to 100%), the basis on which "
                   f"feedback figures are often published.\n")
        out.append(md_table(["Code", "Time point", "k/n", "Share", f"{conf} (%)", "Of codes"],
                            rows, align="llrrrr",
                            caption=f"Frequencies of the codes of {esc(q)}, most frequent first. "
                                    f"Share: of participants (k/n); of codes: k of the {total} "
                                    "codes given.",
                            label=f"tbl-frequencies-{s}"))
        if fig:
            out.append(md_figure(f"frequencies_{q}", f"Share of participants giving each code "
                                 f"({esc(q)}, {esc(tp)}), with {conf}.", f"fig-frequencies-{s}"))
    return "\n".join(out)


# ---------------------------------------------------------------- quotes

def select_quotes(responses: pd.DataFrame, allowed_ids: Sequence[str]) -> list[dict]:
    """The responses whose ids the config allows (``report.quotes``), in the config's order."""
    if not allowed_ids or responses is None or responses.empty:
        return []
    by_id = {str(r["response_id"]): r for _, r in responses.iterrows()}
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
    out = ["The configuration allows these responses to be quoted (report.quotes); no other "
           "response text appears in this report.\n"]
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


# ---------------------------------------------------------------- published vs reproduced

BASIS_WORDS = {"participants": "participants", "codes": "codes"}  # the table's Basis column


def published_comparison(proportions: pd.DataFrame | None, published: Mapping | None,
                         *, tolerance: float = PUBLISHED_TOLERANCE) -> pd.DataFrame:
    """Each published share beside the reproduced one on the same basis.

    Basis (:data:`alliance_pipeline.config.PUBLISHED_BASES`): ``participants`` compares with
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
        row = _first(proportions, question=fig["question"], code=fig["code"],
                     timepoint=fig["timepoint"])
        rep = _val(row, PUBLISHED_BASES[fig["basis"]])
        head = [fig["question"], fig["code"], fig["timepoint"], fig["basis"], fig["share"]]
        if _missing(rep):
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
        return "No published figures are configured for this cohort.\n"
    cmp = published_comparison(_table(tables, "proportions"), published)
    rows = []
    for _, r in cmp.iterrows():
        flag = "**differs**" if r["flagged"] else "matches"
        if _missing(r["reproduced"]):
            flag = "**not reproduced**"
        diff = DASH if _missing(r["difference"]) else f"{r['difference']:+.2f}"
        rows.append([esc(r["question"]), esc(code_label(questions, r["question"], r["code"])),
                     esc(r["timepoint"]), BASIS_WORDS[r["basis"]], fmt_num(r["published"]),
                     fmt_num(r["reproduced"], 3), fmt_num(r["reproduced_rounded"]), diff, flag])
    n_flag = int(cmp["flagged"].sum())
    bases = set(cmp["basis"])
    basis_text = ("Each is compared on its own basis: *participants*, the share of the "
                  "participants who answered that carry the code; *codes*, the code's share of "
                  "all codes given for the question at that time point. "
                  if "codes" in bases else
                  "All are shares of participants (those who answered that carry the code). ")
    out = [f"Each share the paper published is set beside the share this pipeline reproduces. "
           + basis_text +
           f"Rule: the reproduced share is rounded half up to two decimals, as the published "
           f"figures are, and flagged when it differs from the published one by more than "
           f"rounding, i.e. |rounded − published| > {PUBLISHED_TOLERANCE}. "
           + (f"All {len(cmp)} published shares are reproduced."
              if n_flag == 0 else f"{n_flag} of {len(cmp)} published shares differ.") + "\n",
           md_table(["Question", "Code", "Time", "Basis", "Published", "Reproduced",
                     "Rounded", "Diff.", "Check"], rows, align="llllrrrrl",
                    caption="Published versus reproduced shares, each on its basis "
                            "(participants or codes). Time: time point; Rounded: the "
                            "reproduced share rounded half up to two decimals; Diff.: rounded "
                            "minus published.", label="tbl-published")]
    return "\n".join(out)


# ---------------------------------------------------------------- power

POWER_METHODS = {"connor1987": "Connor (1987), Biometrics 43:207-211, for McNemar's test; "
                               "effect halved at a fixed discordant share"}


def power_md(tables: Mapping, *, study: Mapping, cohort: Mapping, highlight: str = "training") -> str:
    questions = questions_of(study)
    power = _table(tables, "power")
    if power is None or power.empty:
        return "The sample-size table was not available for this report.\n"
    power = power.copy()
    for c in ("power", "effect_scale", "n_required", "p10", "p01", "alpha"):
        if c in power.columns:
            power[c] = pd.to_numeric(power[c], errors="coerce")
    combos = (power[["power", "effect_scale"]].drop_duplicates()
              .sort_values(["effect_scale", "power"], ascending=[False, True]))
    combos = [(float(a), float(b)) for a, b in combos.itertuples(index=False)]
    contrasts = list(study.get("contrasts") or {})
    c_order = {c: i for i, c in enumerate(contrasts)}
    # short headers (one line in the PDF and the browser); the caption gives the key
    headers = ["Question", "Code", "Contrast", "p10", "p01"] + [
        f"{pw * 100:g}%" + ("" if es == 1 else f" ×{es:g}") for pw, es in combos]
    rows = []
    notes = []
    keys = power[["question", "code", "contrast"]].drop_duplicates().copy()
    q_order = {q: i for i, q in enumerate(questions)}
    keys["_q"] = keys["question"].astype(str).map(q_order).fillna(len(q_order))
    keys["_c"] = keys["contrast"].astype(str).map(c_order).fillna(len(c_order))
    keys["_code"] = [(_codes_in(power, questions, q) + [c]).index(c) for q, c in
                     zip(keys["question"].astype(str), keys["code"].astype(str))]
    keys = keys.sort_values(["_q", "_code", "_c"])
    highlights = []
    alpha = None
    for _, k in keys.iterrows():
        sub = power[(power["question"] == k["question"]) & (power["code"] == k["code"])
                    & (power["contrast"] == k["contrast"])]
        first = sub.iloc[0]
        if alpha is None and "alpha" in sub.columns:
            alpha = first["alpha"]
        cells = [esc(k["question"]), esc(code_label(questions, k["question"], k["code"])),
                 esc(k["contrast"]), fmt_num(first.get("p10"), 3), fmt_num(first.get("p01"), 3)]
        ns = {}
        for pw, es in combos:
            hit = sub[(sub["power"].round(6) == round(pw, 6)) & (sub["effect_scale"].round(6) == round(es, 6))]
            n = hit["n_required"].iloc[0] if len(hit) else float("nan")
            ns[(pw, es)] = n
            cells.append(fmt_int(n))
            if len(hit) and "note" in hit.columns and not _missing(hit["note"].iloc[0]) and str(hit["note"].iloc[0]).strip():
                notes.append(f"*{esc(code_label(questions, k['question'], k['code']))}, "
                             f"{esc(k['contrast'])}*: {esc(hit['note'].iloc[0])}")
        if str(k["contrast"]) == highlight:
            cells = [f"**{c}**" if c and c != DASH else c for c in cells]
            highlights.append((k, ns))
        rows.append(cells)
    method = ", ".join(POWER_METHODS.get(m, m) for m in sorted(set(power["method"].dropna().astype(str)))
                       ) if "method" in power.columns else ""
    powers = join_words([f"{pw * 100:g}%" for pw in dict.fromkeys(pw for pw, _ in combos)])
    scales = [f"×{es:g}: at {es:g} times that effect" for es in dict.fromkeys(es for _, es in combos)
              if es != 1]
    caption = ("Participants (pairs) required per code and contrast. "
               + "; ".join([f"{powers}: pairs for that power at the effect observed here"] + scales)
               + ".")
    alpha_text = f"α = {float(alpha):g} (two-sided)" if alpha is not None and not _missing(alpha) else "the configured α"
    out = [f"Pairs a follow-up trial would need to detect each change with McNemar's test at "
           f"{alpha_text}, for the effect observed here and for half of it (formula: "
           f"{esc(method) or 'see power.csv'}). p10 and p01 are the shares of pairs with the code "
           f"at the first time point only and at the second only. The {esc(highlight)} contrast, "
           "the one a follow-up trial of the programme would test, is in bold.\n",
           md_table(headers, rows, align="lll" + "r" * (len(headers) - 3),
                    caption=caption, label="tbl-power")]
    sentences = []
    for k, ns in highlights:
        obs = [(pw, n) for (pw, es), n in ns.items() if es == 1 and not _missing(n)]
        half = [(pw, n) for (pw, es), n in ns.items() if es != 1 and not _missing(n)]
        if not obs:
            continue
        pw, n = min(obs)
        text = (f"To detect the {esc(highlight)} change in *{esc(code_label(questions, k['question'], k['code']))}* "
                f"as observed with {pw * 100:g}% power, a follow-up needs {fmt_int(n)} pairs")
        if half:
            pw2, n2 = min(half)
            text += f" ({fmt_int(n2)} if the effect is half as large)"
        sentences.append(text + ".")
    if sentences:
        out.append(" ".join(sentences) + "\n")
    if notes:
        out.append("Notes: " + "; ".join(dict.fromkeys(notes)) + ".\n")
    return "\n".join(out)


# ---------------------------------------------------------------- limitations

def limitations(tables: Mapping, *, study: Mapping, cohort: Mapping) -> list[tuple[str, str]]:
    """``[(key, markdown)]``: the authors' own limitations, then those the data raise."""
    questions = questions_of(study)
    analysis = _analysis(cohort)
    conf = _conf_label(cohort)
    items = [
        ("awareness_not_objective", "Awareness frequency was not measured objectively "
         "(a limitation the study's authors name)."),
        ("social_desirability", "Social desirability bias may have shaped the self-reported "
         "feedback (named by the authors)."),
        ("self_report", "All outcomes are coded from the trainees' own free-text descriptions "
         "(self-report)."),
    ]
    props = _table(tables, "proportions")
    if props is not None and not props.empty:
        n_max = pd.to_numeric(props["n"], errors="coerce").max()
        widths = pd.to_numeric(props["ci_high"], errors="coerce") - pd.to_numeric(props["ci_low"], errors="coerce")
        w_max = widths.max()
        if (not _missing(n_max) and n_max < SMALL_N) or (not _missing(w_max) and w_max > WIDE_CI):
            at = props.loc[widths.idxmax()] if not _missing(w_max) else None
            text = f"The sample is small (at most {fmt_int(n_max)} participants at a time point)"
            if at is not None:
                text += (f" and the intervals are wide: the widest {conf} spans "
                         f"{w_max * 100:.1f} percentage points (*{esc(code_label(questions, at['question'], at['code']))}* "
                         f"at {esc(at['timepoint'])})")
            items.append(("small_sample", text + "; estimates are imprecise and only large "
                          "changes can be detected."))
    tests = _table(tables, "tests")
    mc = _rows(tests, test="mcnemar")
    if not mc.empty and "method" in mc.columns:
        mc = mc[mc["method"].astype(str) != "clustered"]
    if not mc.empty and "method" in mc.columns:
        exact = mc["method"].astype(str).isin(["exact", "midp"])
        if exact.any():
            below = (analysis.get("mcnemar", {}) or {}).get("exact_below", 25)
            methods = join_words(sorted({METHOD_NAMES.get(m, m) for m in mc.loc[exact, "method"].astype(str)}))
            items.append(("exact_tests", f"Discordant pairs were few, so {int(exact.sum())} of "
                          f"{len(mc)} McNemar tests used {methods} tests (b + c < {below}); these "
                          "are conservative and have little power."))
    agreement = _table(tables, "agreement")
    if agreement is not None and not agreement.empty and "verdict" in agreement.columns:
        below = agreement[agreement["verdict"].astype(str).isin(["tentative", "insufficient"])]
        if not below.empty:
            listed = [f"*{esc(code_label(questions, r['question'], r['code']))}* ({esc(r['question'])}: "
                      f"{esc(r['verdict'])}, α = {fmt_num(r.get('krippendorff_alpha'))})"
                      for _, r in below.iterrows()]
            items.append(("agreement_below_good", "Inter-coder agreement was below good for "
                          f"{join_words(listed)}; findings about these codes rest on less "
                          "reliable coding."))
    missing = _missing_summary(tables, study)
    if missing:
        items.append(("missing_timepoints", missing))
    contrasts = dict(study.get("contrasts") or {})
    if "baseline" in contrasts:
        t1, t2 = contrasts["baseline"]
        items.append(("no_control_group", f"There is no control group: the only comparison "
                      f"without training is the {esc(t1)}→{esc(t2)} baseline, so changes across "
                      "the training may also reflect repeated measurement, maturation or "
                      "expectation."))
    else:
        items.append(("no_control_group", "There is no control group and no measured period "
                      "without training."))
    site = cohort.get("site")
    items.append(("convenience_sample", f"Participants are a single-site convenience sample"
                  f"{f' ({esc(site)})' if site else ''} of clinical-psychology graduate students; "
                  "results may not generalise."))
    if not cohort.get("coders_blind", False):
        items.append(("coders_not_blind", "Coders were not documented as blind to the time point "
                      "of a response."))
    if cohort.get("synthetic"):
        items.append(("synthetic", "The data are synthetic (a reconstruction of published "
                      "shares), so no conclusion about the training can be drawn from them."))
    return items


def _missing_summary(tables: Mapping, study: Mapping) -> str | None:
    flow = normalise_flow(_table(tables, "flow"), study)
    tests = _table(tables, "tests")
    parts = []
    for q in dict.fromkeys(flow["question"].astype(str)):
        rows = flow[(flow["question"].astype(str) == q) & (flow["step"] == "timepoint")]
        if len(rows) < 2:
            continue
        complete = _complete_cases(flow, tests, q)
        gaps = rows[rows["n_excluded"].fillna(0) > 0]
        if gaps.empty and (complete is None or complete >= rows["n"].max()):
            continue
        per_tp = join_words([f"{fmt_int(r['n'])} at {esc(r['name'])}" for _, r in rows.iterrows()])
        text = f"*{esc(q)}* was answered by {per_tp}"
        if complete is not None:
            text += f", by {complete} at every time point"
        parts.append(text)
    if not parts:
        return None
    return ("Not every participant answered at every time point: " + "; ".join(parts) + ". "
            "Cochran's Q uses complete cases and each McNemar test the pairs of its contrast "
            "(complete-case analysis), which assumes that missing answers are unrelated to the "
            "outcome.")


def limitations_md(tables: Mapping, *, study: Mapping, cohort: Mapping) -> str:
    return "\n".join(f"- {text}" for _, text in limitations(tables, study=study, cohort=cohort)) + "\n"


# ---------------------------------------------------------------- reproducibility

def reproducibility_md(provenance: Mapping | None) -> str:
    if not provenance:
        return "No provenance was recorded.\n"
    p = dict(provenance)
    out = []
    command = p.get("command")
    if command:
        out.append("Regenerate this report with:\n")
        out.append(md_code(str(command), "sh"))
        out.append("The report carries a manifest (the hashes below and every number of its tables); "
                   "`make verify REPORT=<this file>` checks it against a rerun (README, "
                   "\"For reviewers\").\n")
    commit = p.get("git_commit") or "unknown"
    dirty = p.get("git_dirty")
    state = " (the working tree had uncommitted changes)" if dirty else (" (clean working tree)" if commit != "unknown" else "")
    out.append(f"Pipeline commit: `{commit}`{state}. Codebook version: "
               f"{esc(p.get('codebook_version') or 'unknown')}.\n")
    raw = list(p.get("raw_files") or [])
    if raw:
        out.append(md_table(["Raw file", "SHA-256"], [[f"`{path}`", f"`{sha}`"] for path, sha in raw],
                            caption="Raw input files and their SHA-256 checksums.", label="tbl-raw-files"))
    packages = list(p.get("packages") or [])
    if packages:
        out.append(f"Package versions (requirements.lock, {len(packages)} packages): "
                   + ", ".join(f"{esc(n)} {esc(v)}" for n, v in packages) + ".\n")
    config = p.get("config_yaml")
    if config:
        out.append("Effective configuration (after validation and defaults):\n")
        out.append(md_code(str(config), "yaml"))
    if not out:
        return "No provenance was recorded.\n"
    return "\n".join(out)


# ---------------------------------------------------------------- assembly and I/O

def conventional_figures(study: Mapping) -> set[str]:
    """File stems of the figures the pipeline makes for this codebook."""
    return set(figure_stems(questions_of(study)))


def build_fragments(tables: Mapping[str, pd.DataFrame], *, study: Mapping, cohort: Mapping,
                    provenance: Mapping | None = None, quotes: Sequence | None = None,
                    figures: Iterable[str] | None = None) -> dict[str, str]:
    """All fragments as ``{file name: text}``: ``meta.yml`` and one ``<name>.md`` each."""
    figs = set(figures) if figures is not None else conventional_figures(study)
    kw = {"study": study, "cohort": cohort}
    return {
        "meta.yml": meta_yaml(study=study, cohort=cohort, quotes=quotes),
        "summary.md": summary_md(tables, **kw),
        "banner.md": banner_md(cohort=cohort),
        "design.md": design_md(**kw),
        "flow.md": flow_md(tables, study=study, figures=figs),
        "reliability.md": reliability_md(tables, **kw, figures=figs),
        "results.md": results_md(tables, **kw, figures=figs),
        "feedback.md": feedback_md(tables, **kw, figures=figs),
        "quotes.md": quotes_md(quotes),
        "published.md": published_md(tables, **kw),
        "power.md": power_md(tables, **kw),
        "limitations.md": limitations_md(tables, **kw),
        "reproducibility.md": reproducibility_md(provenance),
    }


def coded_blind(coder_files: pd.DataFrame) -> bool:
    """True when every coder file (intake's coder_files.csv) is a blinded pipeline workbook."""
    return len(coder_files) > 0 and bool((coder_files["blind"].astype(str) == "yes").all())


def load_tables(derived_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read a cohort's derived tables (those that exist) for :func:`write_fragments`."""
    from .tables import read_table

    derived_dir = Path(derived_dir)
    return {name: read_table(derived_dir / file) for name, file in TABLE_FILES.items()
            if (derived_dir / file).exists()}


def write_fragments(tables: Mapping[str, pd.DataFrame], *, study: Mapping, cohort: Mapping,
                    provenance: Mapping | None, out_dir: str | Path,
                    quotes: Sequence | None = None,
                    figures_dir: str | Path | None = None) -> list[Path]:
    """Write every fragment to ``out_dir`` (atomically); returns the paths written.

    ``figures_dir``: when given, only figures present there (PNG) are placed in the report;
    otherwise the conventional set for the codebook is assumed.
    """
    from .tables import atomic_write_text

    figures = None
    if figures_dir is not None:
        figures = {p.stem for p in Path(figures_dir).glob("*.png")}
    fragments = build_fragments(tables, study=study, cohort=cohort, provenance=provenance,
                                quotes=quotes, figures=figures)
    out_dir = Path(out_dir)
    written = []
    for name, text in fragments.items():
        path = out_dir / name
        atomic_write_text(path, text)
        written.append(path)
    return written
