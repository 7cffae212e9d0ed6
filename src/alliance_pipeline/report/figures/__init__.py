"""The cohort figures, one module per figure family; style holds what they share.

Kept free of imports: a job loads only the modules its step uses."""
