"""The intake step (rules/intake.smk): reading and checking a cohort's raw files.

Kept free of imports: a job loads only the modules its step uses."""
