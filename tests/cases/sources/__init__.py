"""Tests of the inbound case sources: Open311, urban grid, town systems."""
