"""Checking a report against a rerun (rules/verify.smk; ``python -m alliance_pipeline.verify``).

Kept free of imports: a job loads only the modules its step uses."""
