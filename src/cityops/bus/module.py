"""The manifest of the bus: the relay's outbox channel, the health API and its commands."""

from cityops.kit.module import Command, Module, NavEntry

module = Module(
    name="bus",
    title="事件总线",
    requires=("auth", "outbox"),
    routers=("cityops.bus.api:router",),
    start="cityops.bus.revocation:share_revocations",
    outbox_channels=("cityops.bus.channel:channels",),
    permissions=("outbox.manage",),
    nav=(NavEntry("事件总线", "/ops/bus", order=85, permission="outbox.manage"),),
    commands=(Command("bus", "cityops.bus.cli:app"),),
)
