"""Sharing's part of building the app: the registry of the kinds the enabled modules contribute."""

from __future__ import annotations

from fastapi import FastAPI

from cityops.sharing.kinds import KINDS, KindRegistry


def set_up(app: FastAPI) -> None:
    """Collect every enabled module's resource kinds into `app.state.sharing_kinds`."""
    app.state.sharing_kinds = KindRegistry(KINDS.collect(app.state.modules))
