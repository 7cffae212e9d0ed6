"""Rendering the report: Quarto where it is on PATH, else Pandoc and Typst.

Kept free of imports: a job loads only the modules its step uses."""
