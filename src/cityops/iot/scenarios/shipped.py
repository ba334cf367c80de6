"""The base scenarios a district runs (基础应用场景), seeded as version 1 of their templates.

Reference values are per site or per product and set by the owner of each device: every
numeric default below is a labelled, synthetic demo value (`synthetic=True`) unless `source`
names a standard that fixes it. Towns override within the bounds for their own sites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cityops.iot.scenarios.params import ParamSpec


@dataclass(frozen=True, slots=True)
class BaseScenario:
    """One shipped template: kind, parameters, severities per level, and the case it opens."""

    code: str
    title: str
    kind: str
    params: dict[str, ParamSpec]
    severities: list[str]
    opens_case: bool
    category: str | None = None
    description: str = ""
    source: str = ""
    synthetic: bool = True
    profiles: list[str] = field(default_factory=list)


def _n(default: float, lo: float, hi: float, label: str, unit: str = "") -> ParamSpec:
    return ParamSpec(type="number", default=default, min=lo, max=hi, label=label, unit=unit)


def _lines(default: list[float], lo: float, hi: float, unit: str) -> ParamSpec:
    return ParamSpec(type="numbers", default=default, min=lo, max=hi, label="告警线", unit=unit)


def _fixed(kind: str, default: Any, label: str, choices: list[str] | None = None) -> ParamSpec:
    return ParamSpec(
        type="choice" if choices else kind,
        default=default,
        choices=choices or [],
        label=label,
        overridable=False,
    )


def _threshold(
    key: str, lines: ParamSpec, duration: ParamSpec, hysteresis: ParamSpec
) -> dict[str, ParamSpec]:
    return {
        "key": _fixed("text", key, "遥测量"),
        "lines": lines,
        "direction": _fixed("choice", "above", "方向", ["above", "below"]),
        "duration_s": duration,
        "hysteresis": hysteresis,
    }


def _switch(key: str, duration_s: float) -> dict[str, ParamSpec]:
    """A yes/no sensor (true = alarm): fire when it reads true for `duration_s`."""
    return _threshold(
        key,
        ParamSpec(
            type="numbers", default=[0.5], min=0.5, max=0.5, label="告警线", overridable=False
        ),
        _n(duration_s, 0, 3600, "持续时间", "秒"),
        ParamSpec(type="number", default=0.1, min=0.1, max=0.1, overridable=False),
    )


BASE_SCENARIOS: tuple[BaseScenario, ...] = (
    BaseScenario(
        code="flood_water_level",
        title="防汛水位超限",
        kind="threshold",
        params=_threshold(
            "water_level",
            _lines([3.0, 3.5, 4.0], -5, 10, "米"),
            _n(300, 0, 3600, "持续时间", "秒"),
            _n(0.05, 0, 1, "回差", "米"),
        ),
        severities=["minor", "major", "critical"],
        opens_case=True,
        category="event:0406",
        description="设防、警戒、保证（危险）三级水位；演示值为合成数据，各站点按水务部门核定值覆盖。",
        source="水位等级名称见 GB/T 22482-2008《水文情报预报规范》；各站点数值由水务部门核定，此处为合成演示值",
        profiles=["water_level_gauge"],
    ),
    BaseScenario(
        code="manhole_tilt",
        title="井盖倾斜/位移",
        kind="threshold",
        params=_threshold(
            "tilt_deg",
            _lines([15.0], 1, 90, "度"),
            _n(10, 0, 600, "持续时间", "秒"),
            _n(3, 0, 10, "回差", "度"),
        ),
        severities=["major"],
        opens_case=True,
        category="component:0103",
        description="井盖倾角超过阈值（被掀开或位移）；阈值为合成演示值，按产品说明书覆盖。",
        profiles=["manhole_sensor"],
    ),
    BaseScenario(
        code="smoke",
        title="烟感报警",
        kind="threshold",
        params=_switch("smoke", 0),
        severities=["critical"],
        opens_case=True,
        category="event:0410",
        description="独立式烟感探测器报警（开关量）。",
        source="报警输出为开关量：GB 20517-2006《独立式感烟火灾探测报警器》",
        synthetic=False,
        profiles=["smoke_detector"],
    ),
    BaseScenario(
        code="combustible_gas",
        title="可燃气体浓度超限",
        kind="threshold",
        params=_threshold(
            "gas_lel",
            _lines([25.0, 50.0], 1, 100, "%LEL"),
            _n(0, 0, 600, "持续时间", "秒"),
            _n(2, 0, 10, "回差", "%LEL"),
        ),
        severities=["major", "critical"],
        opens_case=True,
        category="event:0403",
        description="一级、二级报警。",
        source="GB/T 50493-2019：一级报警设定值 ≤ 25%LEL，二级报警设定值 ≤ 50%LEL",
        synthetic=False,
        profiles=["gas_detector"],
    ),
    BaseScenario(
        code="bin_fill",
        title="垃圾桶满溢",
        kind="threshold",
        params=_threshold(
            "fill_pct",
            _lines([80.0], 10, 100, "%"),
            _n(600, 0, 7200, "持续时间", "秒"),
            _n(10, 0, 50, "回差", "%"),
        ),
        severities=["minor"],
        opens_case=True,
        category="event:0117",
        description="满溢度超过阈值并持续；阈值为合成演示值。",
        profiles=["bin_fill_sensor"],
    ),
    BaseScenario(
        code="streetlight_fault",
        title="路灯故障",
        kind="threshold",
        params=_switch("fault", 60),
        severities=["minor"],
        opens_case=True,
        category="component:0118",
        description="单灯控制器上报故障（开关量）持续 60 秒；时长为合成演示值。",
        profiles=["streetlight_controller"],
    ),
    BaseScenario(
        code="elevator_entrapment",
        title="电梯困人",
        kind="threshold",
        params=_switch("trapped", 0),
        severities=["critical"],
        opens_case=False,
        description="电梯困人（开关量）。上海电梯困人由 96333 应急处置平台处置，"
        "本平台只告警不立案；事件目录尚无对应类别，区可发布新版本指定类别。",
        synthetic=False,
        profiles=["elevator_monitor"],
    ),
    BaseScenario(
        code="no_data",
        title="设备离线（无数据）",
        kind="no_data",
        params={
            "timeout_s": _n(1800, 60, 86400, "无数据时长", "秒"),
            "key": ParamSpec(type="text", default="", label="遥测量（空：任意）"),
        },
        severities=["info"],
        opens_case=False,
        description="超过时长未收到任何数据；时长为合成演示值。",
    ),
)
