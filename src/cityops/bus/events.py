"""The bus module's own event: a worker dropped an account's cached tokens."""

from __future__ import annotations

from pydantic import Field

from cityops.kit.events import Event


class TokensRevoked(Event):
    """An account logged out, changed its password, was disabled or changed role.

    Every worker drops the account's cached principals when it hears this (fanout), instead of
    trusting them until `CITYOPS_PRINCIPAL_CACHE_SECONDS` runs out.
    """

    name = "auth.tokens_revoked"
    account_id: int | None = Field(description="The account; None drops every cached token")
