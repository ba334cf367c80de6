"""Events the video hub (视频中台, R4) publishes: the contract its consumers build on."""

from __future__ import annotations

from pydantic import Field

from cityops.kit.events import PointReport


class VideoAlarm(PointReport):
    """A camera or video platform raised an alarm (GB/T 28181 alarm notify); a case opens.

    `key` is the alarm's id (the case's source key); `owner_code` the org unit that owns the
    channel; `channel_id` is the 20-digit GB/T 28181 channel code.
    """

    name = "video.alarm"
    channel_id: str = Field(default="", max_length=32)
