"""A device's state for maps and the overview: offline, alert (over a line) or online."""

from __future__ import annotations

from collections.abc import Mapping

from cityops.iot.profiles import KeySpec

#: Boolean keys whose true means something is wrong on site.
ALARM_FLAGS = frozenset({"alarm", "trapped", "fault", "displaced"})
#: Threshold names that mean "over this line needs attention", lowest first.
ALERT_LINES = ("alert", "alarm")
STATUS_LABELS = {"online": "在线", "offline": "离线", "alert": "告警"}


def over_line(spec: KeySpec, value: float) -> bool:
    """Whether a number is at or over its key's alert (or alarm) line."""
    for name in ALERT_LINES:
        line = spec.thresholds.get(name)
        if line is not None:
            return value >= line
    return False


def device_status(
    online: bool, keys: Mapping[str, KeySpec], latest: Mapping[str, float | None]
) -> str:
    """offline when unheard, alert when a latest value crosses a line or raises a flag."""
    if not online:
        return "offline"
    for key, value in latest.items():
        spec = keys.get(key)
        if spec is None or value is None:
            continue
        if spec.type == "bool" and key in ALARM_FLAGS and value:
            return "alert"
        if spec.type == "number" and over_line(spec, value):
            return "alert"
    return "online"
