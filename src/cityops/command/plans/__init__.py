"""Contingency plans (预案): versioned templates, their targets, activation and the seeded plan."""
