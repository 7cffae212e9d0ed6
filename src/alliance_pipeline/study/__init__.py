"""The study step (rules/study.smk): pooling cohorts, the study tables, figures and report.

Kept free of imports: a job loads only the modules its step uses."""
