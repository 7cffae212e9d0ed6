"""Generators of the example data (the synthetic pilot, one export per survey tool); nothing in the package imports them."""
