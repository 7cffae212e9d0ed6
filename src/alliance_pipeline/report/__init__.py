"""The cohort report (rules/report.smk): its sections, figures, manifest and renderers.

Kept free of imports: a job loads only the modules its step uses."""
