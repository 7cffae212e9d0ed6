"""Plumbing every step shares; imports nothing else of the package."""
