"""Analysis package of the alliance-rupture training study pipeline.

Every statistic, check and table the Snakemake workflow produces is computed here; the
scripts in ``scripts/`` only adapt ``snakemake.input``/``params``/``output`` to these
functions. The package is laid out like ``rules/``: one subpackage per step (``intake``,
``coding``, ``change``, ``report``, ``study``, ``verify``) beside the plumbing they share
(``config``, ``settings``, ``cohort_files``, ``tables``, ``runner``, ``privacy``,
``provenance``, ``seeds``, ``outputs``, ``status``, ``blinding``). Imports go one way:
plumbing imports no step, a step imports the plumbing and earlier steps, never a later one
(``tests/test_package_layout.py``). ``docs/development.md`` has one line a module.

This file imports nothing, so a job loads only the modules its step uses.
"""

__version__ = "0.1.0"
