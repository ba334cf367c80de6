"""Adapters that bring cases in from other systems (Open311, urban grid, town systems, 12345)."""
