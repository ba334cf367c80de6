"""The manifest of the IoT hub's scenarios (基础应用场景): templates, instances, scene events.

Its tables migrate on the IoT hub's branch (iot0003); its engine is a reading sink of the hub.
"""

from cityops.kit.module import Module, NavEntry

module = Module(
    name="iot_scenarios",
    title="物联场景",
    requires=("iot", "cases"),
    routers=("cityops.iot.scenarios.api:router",),
    tables=("cityops.iot.scenarios.models",),
    start="cityops.iot.scenarios.runtime:start_scenarios",
    stop="cityops.iot.scenarios.runtime:stop_scenarios",
    permissions=("iot.read", "iot.scenario"),
    nav=(
        NavEntry(
            "物联场景", "/iot/scenarios", order=40, permission="iot.read", active_prefix="/iot/"
        ),
    ),
)
