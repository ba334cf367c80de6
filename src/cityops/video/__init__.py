"""R4 video hub (视频中台, GB/T 28181): its events and the registry reads other modules use."""

from cityops.video.events import VideoAlarm
from cityops.video.registry.schemas import ChannelRead, DeviceRead
from cityops.video.registry.service import device_with_channels, devices_in_scope

__all__ = ["ChannelRead", "DeviceRead", "VideoAlarm", "device_with_channels", "devices_in_scope"]
