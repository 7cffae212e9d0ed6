"""Analysis package of the alliance-rupture training study pipeline.

Every statistic, check and table the Snakemake workflow produces is computed here; the
scripts in ``scripts/`` only adapt ``snakemake.input``/``params``/``output`` to these
functions. Modules are named for what they hold: ``intake`` (reading and validating raw
files), ``consensus``, ``agreement``, ``proportions``, ``paired_tests``, ``power``,
``figures``, ``report``.
"""

__version__ = "0.1.0"
