"""What can be shared: modules register resource kinds (共享资源类型) at an extension point.

A module that owns shareable resources (IoT devices, scenarios, video channels) contributes a
`ResourceKind` to `KINDS` in its manifest: `contributes=(KINDS.provide("pkg.mod:KIND"),)`.
Sharing asks the kind who owns a resource (and so whether it exists) when a unit applies.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.module import ExtensionPoint


class ResourceKind(ABC):
    """A kind of shareable resource: its name ("iot.device"), label and owner lookup."""

    #: Stable name, stored with applications and grants ("iot.device", "video.channel").
    name: str = ""
    #: What users read (物联设备, 视频通道).
    label: str = ""
    #: The data keys a grant may be limited to mean something for this kind (telemetry keys).
    keyed: bool = True

    @abstractmethod
    async def owners(self, session: AsyncSession, resource_ids: Iterable[str]) -> dict[str, str]:
        """The owner org code of each resource that exists; missing ids are left out."""

    async def unknown_keys(
        self, session: AsyncSession, resource_ids: Iterable[str], keys: Iterable[str]
    ) -> list[str]:
        """The asked keys that none of the resources has (default: every key is accepted)."""
        return []


#: Modules contribute their `ResourceKind` instances here.
KINDS: ExtensionPoint[ResourceKind] = ExtensionPoint("sharing.kinds")


class KindRegistry:
    """The kinds the enabled modules contribute, by name."""

    def __init__(self, kinds: Iterable[ResourceKind] = ()) -> None:
        self._kinds: dict[str, ResourceKind] = {}
        for kind in kinds:
            self.add(kind)

    def add(self, kind: ResourceKind) -> None:
        """Register one kind; a second kind under a taken name is a programming error."""
        if not kind.name:
            raise ValueError(f"{type(kind).__name__} has no name")
        taken = self._kinds.get(kind.name)
        if taken is not None and taken is not kind:
            raise ValueError(f"sharing kind {kind.name!r} is already {type(taken).__name__}")
        self._kinds[kind.name] = kind

    def get(self, name: str) -> ResourceKind | None:
        """The kind of that name, if a module registered it."""
        return self._kinds.get(name)

    def all(self) -> list[ResourceKind]:
        """Every kind, by name."""
        return [self._kinds[n] for n in sorted(self._kinds)]
