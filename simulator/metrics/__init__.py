"""Typed run records: what a simulation measured, with units in every name."""
