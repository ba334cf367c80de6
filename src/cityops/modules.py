"""What the enabled modules' manifests bring, put in place for the app, the CLI and migrations."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityops.kit.module import Module, enabled_modules, load, refs

if TYPE_CHECKING:
    from fastapi import FastAPI

    from cityops.config import Settings

log = logging.getLogger(__name__)


def modules_of(settings: Settings) -> tuple[Module, ...]:
    """The modules the settings enable (all installed but `CITYOPS_DISABLED_MODULES`)."""
    return enabled_modules(settings.disabled_modules)


def load_tables(modules: Sequence[Module]) -> None:
    """Import every table module, so Base.metadata knows the modules' whole schema."""
    for module in modules:
        for name in module.tables:
            __import__(name)


def body_limits(settings: Settings, modules: Sequence[Module]) -> dict[str, int]:
    """Request-body limits by path that differ from the default."""
    limits: dict[str, int] = {}
    for found in refs(modules, "body_limits"):
        limits.update(found(settings) if callable(found) else found)
    return limits


def include_routers(app: FastAPI, modules: Sequence[Module]) -> None:
    """Include every module's routers, in module order."""
    for module in sorted(modules, key=lambda m: m.route_order):  # a stable sort
        for ref in module.routers:
            app.include_router(load(ref))


def set_up(app: FastAPI, modules: Sequence[Module]) -> None:
    """Run the setup hooks (mounts, registries) while the app is built."""
    for module in modules:
        if module.setup:
            load(module.setup)(app)


def register_contributions(modules: Sequence[Module]) -> None:
    """Put the modules' map layers and overview parts where geo and the overview look."""
    from cityops.geo.layers import registry
    from cityops.overview.providers import register

    for found in refs(modules, "map_layers"):
        for layer in found if isinstance(found, list | tuple) else [found]:
            registry.register(layer, replace=True)
    for provider in refs(modules, "overview_parts"):
        register(provider)


async def start_modules(app: FastAPI, modules: Sequence[Module]) -> None:
    """Run the start hooks in dependency order, then bind the subscriptions."""
    for module in modules:
        if module.start:
            await _call(load(module.start), app)
    for module in modules:
        for subscription in module.subscriptions:
            handler = load(subscription.handler)(app)
            event_type = load(subscription.event)
            app.state.bus.subscribe(
                event_type,
                handler,
                name=f"{module.name}-{subscription.handler}-{event_type.name}",
                fanout=subscription.fanout,
            )


async def stop_modules(app: FastAPI, modules: Sequence[Module]) -> None:
    """Run the stop hooks in reverse order; one failing never keeps the others from stopping."""
    for module in reversed(modules):
        if module.stop:
            try:
                await _call(load(module.stop), app)
            except Exception:
                log.exception("module %s failed to stop", module.name)


async def _call(hook: Any, app: FastAPI) -> None:
    result = hook(app)
    if inspect.isawaitable(result):
        await result
