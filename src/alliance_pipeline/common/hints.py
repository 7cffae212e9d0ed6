"""Short hints a message appends for a value that is nearly right.

:func:`did_you_mean` is the one place a near miss among known names is suggested: config
keys and values (:mod:`alliance_pipeline.config`), time points, questions and codes in the
raw files, sheet and column names of exports (:mod:`alliance_pipeline.intake`).
"""
from __future__ import annotations

import difflib


def did_you_mean(value: str, options) -> str:
    """`` (did you mean 'x'?)`` for a case slip or a near miss among ``options``, else ``""``.

    >>> did_you_mean("Pre1", ["pre1", "pre2"])
    " (did you mean 'pre1'?)"
    >>> did_you_mean("posst", ["pre1", "post"])
    " (did you mean 'post'?)"
    >>> did_you_mean("later", ["pre1", "post"])
    ''
    """
    by_lower = {o.lower(): o for o in options}
    if value.lower() in by_lower:
        return f" (did you mean {by_lower[value.lower()]!r}?)"
    near = difflib.get_close_matches(value, list(options), n=1, cutoff=0.8)
    return f" (did you mean {near[0]!r}?)" if near else ""
