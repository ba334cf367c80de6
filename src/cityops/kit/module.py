"""The module manifest: everything a capability brings to the app, the CLI and the migrations.

Each module declares one `Module` in its `module.py` and names it in the `cityops.modules`
entry-point group, so a package installed beside cityops adds a module without editing it.
What a manifest names is a reference, `"package.module:attribute"`, imported only when the
platform needs it: the CLI and the migrations read every manifest without loading any router.

One life cycle: `setup(app)` runs when the app is built; `start(app)` runs in dependency order when the app starts (sync or async),
then the subscriptions are bound; `stop(app)` runs in reverse order when it stops.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The entry-point group in which packages name their manifests (`name = "pkg.module:module"`).
ENTRY_POINT_GROUP = "cityops.modules"


def load(ref: str) -> Any:
    """The object a `"package.module:attribute"` reference names."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"{ref!r} is not a 'package.module:attribute' reference")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


@dataclass(frozen=True, slots=True)
class Subscription:
    """Hear events of one type: `handler` names a factory `(app) -> async handler(event)`."""

    event: str  # reference to the event class, e.g. "cityops.iot:SceneEvent"
    handler: str
    #: Every worker hears every event (live pages, caches) instead of sharing the work.
    fanout: bool = False


@dataclass(frozen=True, slots=True)
class Command:
    """A CLI sub-command group: `cityops <name> …`, a `typer.Typer` by reference."""

    name: str
    app: str


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One entry of the portal's navigation bar, shown to holders of `permission` (or to all)."""

    label: str
    href: str
    order: int
    permission: str | None = None  # a Perm value
    active_prefix: str | None = None  # the entry is highlighted on paths starting with it


@dataclass(frozen=True, slots=True)
class Contribution:
    """Something a module adds to another module's extension point (by the point's name)."""

    point: str
    ref: str


class ExtensionPoint(Generic[T]):
    """A named place where other modules plug values in (e.g. the case timeline hooks)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def provide(self, ref: str) -> Contribution:
        """A contribution of the object `ref` names to this point."""
        return Contribution(self.name, ref)

    def collect(self, modules: Iterable[Module]) -> list[T]:
        """The values the given modules contribute, in module order."""
        return [load(c.ref) for m in modules for c in m.contributes if c.point == self.name]


@dataclass(frozen=True, kw_only=True)
class Module:
    """What one capability brings; every field but `name` and `title` is optional."""

    name: str
    title: str
    requires: tuple[str, ...] = ()  # modules that must start first
    routers: tuple[str, ...] = ()  # APIRouter references, included in this order
    # FastAPI tries routes in order on every request: the busiest modules' go first (lower).
    route_order: int = 100
    tables: tuple[str, ...] = ()  # Python modules whose import registers tables on Base
    migrations: str | None = None  # a package of Alembic versions (its own branch)
    setup: str | None = None  # (app) -> None, when the app is built (mounts, registries)
    start: str | None = None  # (app) -> None | Awaitable[None]
    stop: str | None = None  # (app) -> None | Awaitable[None]
    subscriptions: tuple[Subscription, ...] = ()
    map_layers: tuple[str, ...] = ()  # geo Layer instances
    overview_parts: tuple[str, ...] = ()  # overview PartProvider instances
    scheduler_jobs: tuple[str, ...] = ()  # async (settings, interval, once) -> summary
    outbox_channels: tuple[str, ...] = ()  # (settings, http client) -> {name: Channel}
    permissions: tuple[str, ...] = ()  # the Perm values this module checks
    commands: tuple[Command, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    body_limits: tuple[str, ...] = ()  # (settings) -> {path: max bytes}
    contributes: tuple[Contribution, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # room for a plug-in's own keys


class ModuleError(RuntimeError):
    """The installed manifests do not form a platform (a name twice, a requirement missing)."""


@cache
def installed_modules() -> tuple[Module, ...]:
    """Every manifest named in the entry-point group, in dependency order."""
    found: dict[str, Module] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        module = point.load()
        if not isinstance(module, Module):
            raise ModuleError(f"entry point {point.name} = {point.value} is not a Module")
        if module.name != point.name:
            raise ModuleError(f"entry point {point.name} names module {module.name!r}")
        if module.name in found:
            raise ModuleError(f"two modules are named {module.name!r}")
        found[module.name] = module
    return tuple(in_dependency_order(found.values()))


def in_dependency_order(modules: Iterable[Module]) -> list[Module]:
    """Modules so that each comes after those it requires; ties keep name order."""
    pending = {m.name: m for m in sorted(modules, key=lambda m: m.name)}
    ordered: list[Module] = []
    while pending:
        ready = [m for m in pending.values() if all(r not in pending for r in m.requires)]
        if not ready:
            raise ModuleError(f"modules require each other in a circle: {sorted(pending)}")
        for module in ready:
            ordered.append(pending.pop(module.name))
    return ordered


def enabled_modules(disabled: Collection[str] = ()) -> tuple[Module, ...]:
    """The installed modules but the disabled ones; a requirement switched off is an error."""
    modules = tuple(m for m in installed_modules() if m.name not in disabled)
    names = {m.name for m in modules}
    for module in modules:
        missing = [r for r in module.requires if r not in names]
        if missing:
            raise ModuleError(f"module {module.name!r} requires {missing}, which are not enabled")
    return modules


def refs(modules: Iterable[Module], field: str) -> list[Any]:
    """The objects a manifest field names, across modules, in module order."""
    return [load(ref) for m in modules for ref in getattr(m, field)]
