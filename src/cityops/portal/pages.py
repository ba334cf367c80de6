"""Portal pages (placeholder until the portal module lands)."""

from __future__ import annotations

from fastapi import FastAPI


def mount_portal(app: FastAPI) -> None:
    """Add the portal's routes and static files to the app."""
