"""How a module that lands later fills its part of the overview (video R4, IoT R6, command R9).

A module names a `PartProvider` in its manifest (`overview_parts`), like a map layer, and the
app registers it when it is built:

    from cityops.overview.providers import AreaQuery

    class CameraCounts:
        part = "video"
        module = "视频监控（摄像机联网）"   # the words the part's `missing` shows

        async def data(self, area: AreaQuery) -> dict[str, Any]:
            cameras = await camera_repository.counts(area.session, area.code, area.scope)
            return {
                "cameras": cameras.total,
                "tiles": [{"label": "在线摄像机", "value": cameras.online, "unit": "路"}],
            }

    PART = CameraCounts()   # module.py: Module(..., overview_parts=("cityops.video.parts:PART",))

A provider whose data need a permission names it (`permission = "iot.read"`): callers without
it get the part as the cases alone fill it. The part then carries the provider's data under `data.provided` beside what the cases tell
(the page shows `provided.tiles`: label, value, unit, digits), its module leaves `missing`, and
a part that was `not_available` because of it becomes `live`. The provider reads
through its own repository with the caller's scope; it sees no overview internals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope


@dataclass(frozen=True, slots=True)
class AreaQuery:
    """What a provider may know: the area, the caller's scope, the time, a read session."""

    code: str
    kind: str  # district | town | community | grid
    scope: DataScope
    now: datetime
    session: AsyncSession
    permissions: frozenset[str] = frozenset()  # the caller's permissions (Perm values)


class PartProvider(Protocol):
    """A module's contribution to one overview part."""

    part: str
    module: str

    async def data(self, area: AreaQuery) -> dict[str, Any]:
        """The module's figures for the area (JSON-ready)."""
        ...


_providers: dict[str, PartProvider] = {}


def register(provider: PartProvider) -> None:
    """Let a module fill its part from now on (one provider per part)."""
    _providers[provider.part] = provider


def unregister(part: str) -> None:
    """Remove a part's provider."""
    _providers.pop(part, None)


def permission_of(provider: PartProvider) -> str | None:
    """The permission a caller needs to see a provider's data (`permission`), if it names one."""
    permission: str | None = getattr(provider, "permission", None)
    return permission


def provider_permissions() -> frozenset[str]:
    """Every permission the registered providers need (part of the overview's cache key)."""
    return frozenset(p for p in map(permission_of, _providers.values()) if p)


def provider_of(part: str) -> PartProvider | None:
    """The registered provider of a part, if its module has landed."""
    return _providers.get(part)
