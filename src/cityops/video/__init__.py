"""R4 video hub (视频中台, GB/T 28181). Until it lands, only the events it will publish are defined."""

from cityops.video.events import VideoAlarm

__all__ = ["VideoAlarm"]
