"""The sections of the cohort report, one module per section or small group.

Kept free of imports: a job loads only the modules its step uses."""
