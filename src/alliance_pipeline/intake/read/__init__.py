"""Intake's first stage: a raw file's bytes to cells (decoding, CSV, .xlsx, export layouts)."""
