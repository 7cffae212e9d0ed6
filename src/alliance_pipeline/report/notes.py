"""The derived tables' notes (``note`` of agreement.csv, tests.csv, power.csv,
proportions.csv) in the report's language.

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
