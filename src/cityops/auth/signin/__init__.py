"""Signing in: per-address locks, two factors (TOTP, recovery codes) and their endpoints."""
