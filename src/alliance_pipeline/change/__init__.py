"""The change step (rules/change.smk): shares, paired tests, power and participant flow.

Kept free of imports: a job loads only the modules its step uses."""
