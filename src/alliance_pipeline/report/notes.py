"""The derived tables' notes (``note`` of agreement.csv, tests.csv, power.csv,
proportions.csv, models.csv, differences.csv) in the report's language.

The steps that write the tables write their notes in English (the data contract's tables
are language-neutral files; their notes are for the analyst). A report shows a note through
:func:`note_text`: each ``; ``-separated part that matches one of :data:`NOTES` is
translated, numbers kept; a part no pattern knows is shown as written. In English every
part is returned unchanged. A new note written by a step gets its pattern here.
"""
from __future__ import annotations

import re

from alliance_pipeline.report.language import N_, _, is_source

NOTES = [  # the notes the steps write, with {placeholders} where they hold values
    # coding/agreement
    N_("fewer than 2 coders: agreement undefined"),
    N_("no response coded by 2 or more coders: agreement undefined"),
    N_("fleiss_kappa undefined: no response coded by all {n} coders"),
    N_("fleiss_kappa undefined: no variation among the responses coded by all coders"),
    N_("fleiss_kappa on the {k} of {n} responses coded by all coders"),
    N_("no alpha CI: analysis.agreement.bootstrap is 0"),
    N_("alpha CI undefined: alpha defined in only {k} of {n} resamples (no variation)"),
    N_("alpha CI from the {k} of {n} resamples with variation"),
    N_("alpha over code sets with the MASI distance"),
    N_("kappa and AC1 not computed for code sets"),
    # change/paired_tests, change/effect_sizes
    N_("too few complete cases ({n})"),
    N_("no variation: code never present in the complete cases"),
    N_("no variation: code always present in the complete cases"),
    N_("no variation: every complete case unchanged across time points"),
    N_("too few pairs ({n})"),
    N_("no discordant pairs: no change to test"),
    N_("too few participants with pairs ({n})"),
    N_("discordant pairs cancel within every participant: statistic undefined"),
    N_("risk difference interval undefined (no variation between participants)"),
    N_("odds ratio given at participant level only"),
    N_("odds ratio undefined (b = c = 0)"),
    N_("b = 0: odds ratio infinite, only its lower bound is given"),
    N_("c = 0: odds ratio 0"),
    # change/power, change/proportions
    N_("no pairs: sample size not estimable"),
    N_("no change observed (p01 = p10): sample size undefined"),
    N_("no responses at this time point"),
    N_("too few complete cases ({n}): sample size not estimable"),
    N_("no difference of changes observed (mean d = 0): sample size undefined"),
    N_("d does not vary: sample size undefined"),
    # change/models (models.csv: the sign-flip rows, the GEE's Wald rows)
    N_("no participant answered at every time point of both contrasts"),
    N_("every d is 0: no difference of changes to test"),
    N_("Monte Carlo permutations off (0): p not computed"),
    N_("exact p over all {patterns} sign patterns"),
    N_("Monte Carlo p over {patterns} sign patterns, MC SE {mcse}"),
    N_("too few complete cases ({n}) for an interval"),
    N_("every d is the same: interval undefined"),
    N_("t interval"),
    N_("standard error 0: interval and p undefined"),
    N_("{k} participants for {p} time points: no degrees of freedom for the t reference"),
    # change/gee
    N_("too few participants ({n})"),
    N_("no responses at {timepoints}: model not fitted"),
    N_("share {share} at {timepoints}: the identity-link binomial variance μ(1 − μ) is 0 there, "
       "so the model is not fitted"),
    N_("too few pairs of answers within participants ({n}) to estimate the working correlation: "
       "model not fitted"),
    N_("working correlation α = {alpha} is not a correlation of {k} answers: model not fitted"),
    N_("a fitted share left (0, 1) on the identity link: model not fitted"),
    N_("no convergence in {n} iterations"),
    N_("bias-reduced covariance undefined (I − H singular)"),
    # study/differences (differences.csv, the pooled difference of changes)
    N_("left out (no Wald interval of the difference): {cohorts}"),
    N_("no cohort has an estimate of the difference to pool"),
    N_("heterogeneity needs two cohorts with variance ({k})"),
    N_("risk-difference Q leaves out {cohorts} (no variance)"),
]


def _pattern(message: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", message)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


_PATTERNS = [(_pattern(message), message) for message in NOTES]


def note_part(part: str) -> str:
    """One part of a note in the report's language (as written when no pattern knows it)."""
    for pattern, message in _PATTERNS:
        m = pattern.match(part)
        if m:
            return _(message).format(**m.groupdict())
    return part


def note_text(note) -> str:
    """A table's note in the report's language; unchanged in English."""
    text = "" if note is None else str(note)
    if is_source() or not text:
        return text
    return _("; ").join(note_part(p.strip()) for p in text.split(";") if p.strip())
