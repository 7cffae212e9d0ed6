"""Intake's second stage: cells to long rows, one module per kind of input."""
