"""The manifest of the outbox: its table, admin API, dispatcher and commands."""

from cityops.kit.module import Command, Contribution, Module

module = Module(
    name="outbox",
    title="外发队列",
    requires=("auth",),
    routers=("cityops.outbox.api:router",),
    tables=("cityops.kit.outbox.models",),
    start="cityops.outbox.runtime:start_outbox",
    stop="cityops.outbox.runtime:stop_outbox",
    permissions=("outbox.manage",),
    commands=(Command("outbox", "cityops.outbox.cli:app"),),
    contributes=(Contribution("lifecycle.retention", "cityops.outbox.retention:RECIPIENTS_RULE"),),
)
