"""Events the IoT hub (物联中台, R6) publishes: the contract its consumers build on."""

from __future__ import annotations

from pydantic import Field

from cityops.kit.events import PointReport


class SceneEvent(PointReport):
    """A scenario rule turned sensor readings into something to handle (a case opens).

    `key` is the scenario firing's id (the case's source key); `owner_code` the org unit that
    owns the device; `device_id` and `scenario` say where it came from.
    """

    name = "iot.scene_event"
    device_id: str = Field(default="", max_length=128)
    scenario: str = Field(default="", max_length=128)
