"""Scenarios (基础应用场景): district templates, town instances, the engine and scene events."""
