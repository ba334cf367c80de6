"""Alembic versions of command and dispatch, on the branch `command`."""
