"""Device and gateway tokens: random, shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """A fresh token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """The stored form of a token: tokens are random, so a plain hash cannot be guessed back."""
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: object, stored: str) -> bool:
    """Whether a presented token is the one whose digest is stored (constant time)."""
    if not isinstance(token, str) or not token or len(token) > 256:
        return False
    return hmac.compare_digest(digest(token), stored)
