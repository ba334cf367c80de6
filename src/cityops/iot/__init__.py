"""R6 IoT hub (物联中台). Until the hub lands, only the events it will publish are defined."""

from cityops.iot.events import SceneEvent

__all__ = ["SceneEvent"]
