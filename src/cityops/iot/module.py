"""The manifest of the IoT hub (物联中台, R6): registry, ingestion, scenarios."""

from cityops.kit.module import Module

module = Module(
    name="iot",
    title="物联感知",
    requires=("org", "auth", "geo", "bus"),
    migrations="cityops.iot.migrations",
    permissions=("iot.read", "iot.manage", "iot.ingest", "iot.scenario"),
)
