"""Adapters of the systems that feed cases: each turns its source's messages into intake and actions."""
