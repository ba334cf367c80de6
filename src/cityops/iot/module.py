"""The manifest of the IoT hub (物联中台, R6): registry, ingestion, scenarios."""

from cityops.kit.module import Command, Contribution, Module, NavEntry

module = Module(
    name="iot",
    title="物联感知",
    requires=("org", "auth", "geo", "bus", "sharing"),
    routers=(
        "cityops.iot.http.ingest_api:router",
        "cityops.iot.http.api:router",
        "cityops.iot.http.pages:router",
    ),
    tables=("cityops.iot.models",),
    migrations="cityops.iot.migrations",
    setup="cityops.iot.runtime:setup_iot",
    start="cityops.iot.runtime:start_iot",
    stop="cityops.iot.runtime:stop_iot",
    map_layers=("cityops.iot.map_layer:DEVICES_LAYER",),
    overview_parts=("cityops.iot.overview_part:PART",),
    permissions=("iot.read", "iot.manage", "iot.ingest", "iot.scenario"),
    commands=(Command("iot", "cityops.iot.cli:app"),),
    nav=(
        NavEntry(
            "物联感知", "/iot/devices", order=40, permission="iot.read", active_prefix="/iot/"
        ),
    ),
    # Devices can be shared (分层共享): towns apply, the district approves; iot/access.py reads
    # the grants on every read path.
    contributes=(Contribution("sharing.kinds", "cityops.iot.sharing_kind:DEVICE_SHARING"),),
)
