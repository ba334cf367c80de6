"""The base device profiles a district hub ships (水位计, 井盖倾斜, 烟感 …) and their schema.

Units follow the standards named in each profile's `sources`; ranges are what the sensor can
physically report (a value outside is a bad reading, dead-lettered); thresholds are defaults
a scenario starts from and a town may change per device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

KeyType = Literal["number", "bool", "text"]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One telemetry key of a profile."""

    type: KeyType
    label: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The form stored in iot_profile.telemetry."""
        out: dict[str, Any] = {"type": self.type, "label": self.label, "unit": self.unit}
        if self.min is not None:
            out["min"] = self.min
        if self.max is not None:
            out["max"] = self.max
        if self.thresholds:
            out["thresholds"] = dict(self.thresholds)
        return out

    @classmethod
    def of(cls, raw: dict[str, Any]) -> KeySpec:
        """A key spec read back from the stored form."""
        return cls(
            type=raw["type"],
            label=raw.get("label", ""),
            unit=raw.get("unit", ""),
            min=raw.get("min"),
            max=raw.get("max"),
            thresholds=dict(raw.get("thresholds", {})),
        )


@dataclass(frozen=True, slots=True)
class Profile:
    """A device profile: code, Chinese name, keys and the standards its units come from."""

    code: str
    name: str
    keys: dict[str, KeySpec]
    sources: str = ""

    def telemetry_json(self) -> dict[str, Any]:
        """The keys as stored."""
        return {key: spec.as_json() for key, spec in self.keys.items()}


_BATTERY = KeySpec("number", "电量", "%", 0, 100, {"low": 20})
_RSSI = KeySpec("number", "信号强度", "dBm", -140, 0)

BASE_PROFILES: tuple[Profile, ...] = (
    Profile(
        "water_level_gauge",
        "水位计",
        {
            # 吴淞高程 (Wusong datum) metres, as Shanghai's gauges report; the lines are examples
            # for a Songjiang river reach and are set per device in practice.
            "water_level": KeySpec(
                "number",
                "水位",
                "m",
                -5,
                15,
                {"reference": 2.8, "alert": 3.5, "danger": 4.0},
            ),
            "battery": _BATTERY,
            "rssi": _RSSI,
        },
        "GB/T 50138-2010 水位观测标准 (metres, 0.01 m); lines: example values, set per site",
    ),
    Profile(
        "manhole_tilt",
        "井盖倾斜",
        {
            "tilt": KeySpec("number", "倾角", "°", 0, 180, {"alert": 15}),
            "displaced": KeySpec("bool", "移位"),
            "battery": _BATTERY,
        },
        "Tilt in degrees from level (vendor practice; covers per GB/T 23858-2009 检查井盖)",
    ),
    Profile(
        "smoke_detector",
        "烟感",
        {
            "smoke": KeySpec("number", "烟雾浓度", "dB/m", 0, 2, {"alarm": 0.2}),
            "alarm": KeySpec("bool", "报警"),
            "battery": _BATTERY,
        },
        "GB 20517-2006 独立式感烟火灾探测报警器 (obscuration in dB/m)",
    ),
    Profile(
        "gas_detector",
        "燃气",
        {
            "gas": KeySpec("number", "可燃气体浓度", "%LEL", 0, 100, {"alarm": 20, "high": 50}),
            "battery": _BATTERY,
        },
        "GB 15322.1-2019 可燃气体探测器 (%LEL); alarm levels after GB/T 50493-2019 (≤25/≤50 %LEL)",
    ),
    Profile(
        "bin_fill",
        "垃圾满溢",
        {
            "fill": KeySpec("number", "满溢度", "%", 0, 100, {"alert": 80}),
            "battery": _BATTERY,
        },
        "Fill level in percent of the bin's height (vendor practice)",
    ),
    Profile(
        "street_light",
        "路灯",
        {
            "lamp_on": KeySpec("bool", "亮灯"),
            "power": KeySpec("number", "功率", "W", 0, 2000),
            "voltage": KeySpec("number", "电压", "V", 0, 400, {"low": 198, "high": 235.4}),
            "fault": KeySpec("bool", "故障"),
        },
        "CJJ 45-2015 城市道路照明设计标准; supply 220 V +7 %/−10 % per GB/T 12325-2008",
    ),
    Profile(
        "elevator",
        "电梯",
        {
            "trapped": KeySpec("bool", "困人"),
            "running": KeySpec("bool", "运行"),
            "door_open": KeySpec("bool", "门开"),
            "floor": KeySpec("number", "楼层", "", -10, 200),
        },
        "GB/T 24476-2017 电梯、自动扶梯和自动人行道物联网的技术规范",
    ),
)

PROFILE_CODES: frozenset[str] = frozenset(p.code for p in BASE_PROFILES)
