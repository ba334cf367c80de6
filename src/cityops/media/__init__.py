"""Photos of cases: sniffed, re-encoded without metadata, stored by content (sha256)."""
