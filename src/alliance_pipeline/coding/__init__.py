"""The coding step (rules/coding.smk): blinded workbooks, disagreements, consensus and agreement.

Kept free of imports: a job loads only the modules its step uses."""
