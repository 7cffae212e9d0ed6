"""Intake's checks of the rows read: responses, codes, characters, personal data."""
