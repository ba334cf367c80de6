"""What every module's `cityops` sub-commands share: run an async job with the process settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from cityops.config import Settings, get_settings

T = TypeVar("T")


def run(factory: Callable[[Settings], Coroutine[Any, Any, T]]) -> T:
    """Run one async job to completion with the process-wide settings."""
    return asyncio.run(factory(get_settings()))
