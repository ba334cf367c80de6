"""R6 IoT hub (物联中台): the events it publishes, and what the portal's pages call."""

from __future__ import annotations

import importlib
from typing import Any

from cityops.iot.events import SceneEvent

#: Names loaded on first use, so a consumer of SceneEvent does not load the scenario tables (nor,
#: through them, cases: cases' intake imports this package for SceneEvent).
_LAZY = {
    "ScenarioBoard": "cityops.iot.scenarios.views",
    "scenario_board": "cityops.iot.scenarios.views",
    "act_on_scene_event": "cityops.iot.scenarios.views",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cityops.iot' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["ScenarioBoard", "SceneEvent", "act_on_scene_event", "scenario_board"]
