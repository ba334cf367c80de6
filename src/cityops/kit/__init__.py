"""Plumbing with no domain words: database, errors, data scope, bus, time."""
