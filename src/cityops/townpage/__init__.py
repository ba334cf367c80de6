"""Town pages (R3.5) and link tokens that open them remotely (R3.4)."""
