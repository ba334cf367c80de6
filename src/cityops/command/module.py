"""The manifest of command and dispatch (指挥体系, R9): incidents, plans, orders, escalation."""

from cityops.kit.module import Module

module = Module(
    name="command",
    title="指挥调度",
    requires=("org", "auth", "notify", "outbox"),
    routers=(
        "cityops.command.http.incidents_api:router",
        "cityops.command.http.orders_api:orders_router",
        "cityops.command.http.orders_api:plans_router",
    ),
    tables=("cityops.command.models",),
    migrations="cityops.command.migrations",
    start="cityops.command.runtime:start_command",
    stop="cityops.command.runtime:stop_command",
    scheduler_jobs=("cityops.command.runtime:run_escalations",),
    permissions=("command.read", "command.manage", "command.plan", "order.sign"),
)
