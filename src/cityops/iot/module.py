"""The manifest of the IoT hub (物联中台, R6): registry, ingestion, scenarios."""

from cityops.kit.module import Module, NavEntry

module = Module(
    name="iot",
    title="物联感知",
    requires=("org", "auth", "geo", "bus"),
    routers=("cityops.iot.scenarios.api:router",),
    tables=("cityops.iot.scenarios.models",),
    migrations="cityops.iot.migrations",
    start="cityops.iot.scenarios.runtime:start_scenarios",
    stop="cityops.iot.scenarios.runtime:stop_scenarios",
    nav=(
        NavEntry(
            "物联场景", "/iot/scenarios", order=40, permission="iot.read", active_prefix="/iot/"
        ),
    ),
    permissions=("iot.read", "iot.manage", "iot.ingest", "iot.scenario"),
)
