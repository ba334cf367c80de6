"""Chinese names the overview shows: parts, case statuses, sources and loops."""

from __future__ import annotations

from enum import StrEnum

from cityops.cases import (
    LOOP_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    LoopLevel,
    UnknownCategoryError,
    find_category,
)


class PartKey(StrEnum):
    """The nine parts of an overview (总览); a town shows dispatching instead of command."""

    AREA = "area"  # 区域概况
    POPULATION = "population"  # 人口
    ECONOMY = "economy"  # 经济发展
    CITY_OPERATION = "city_operation"  # 城市运行
    MULTIGRID = "multigrid"  # 多格合一
    EVENT_FLOW = "event_flow"  # 事件流转
    VIDEO = "video"  # 视频
    MAP = "map"  # 地图
    COMMAND = "command"  # 综合指挥 (district)
    DISPATCH = "dispatch"  # 调度 (town and below)


PART_TITLES: dict[PartKey, str] = {
    PartKey.AREA: "区域概况",
    PartKey.POPULATION: "人口",
    PartKey.ECONOMY: "经济发展",
    PartKey.CITY_OPERATION: "城市运行",
    PartKey.MULTIGRID: "多格合一",
    PartKey.EVENT_FLOW: "事件流转",
    PartKey.VIDEO: "视频",
    PartKey.MAP: "地图",
    PartKey.COMMAND: "综合指挥",
    PartKey.DISPATCH: "调度",
}

#: Parts built from reference data only: case events never change them.
STATIC_PARTS = frozenset({PartKey.AREA, PartKey.POPULATION, PartKey.ECONOMY})


LOOP_NAMES: dict[str, str] = dict(LOOP_LABELS)
LOOP_SHORT: dict[str, str] = {
    LoopLevel.COMMUNITY: "小闭环",
    LoopLevel.MULTIGRID: "中闭环",
    LoopLevel.TOWN: "大闭环",
    LoopLevel.DISTRICT: "区级闭环",
}
_SUFFIXES = ("社区居委会", "居委会", "村民委员会", "村委会")
LOOP_ORDER: tuple[str, ...] = tuple(level.value for level in LoopLevel)

SUPERVISION_LABELS: dict[str, str] = {"urge": "催办", "supervise": "督办", "listed": "挂牌"}


def status_label(status: str) -> str:
    """The Chinese name of a case status."""
    return STATUS_LABELS.get(status, status)


def source_label(source: str) -> str:
    """The Chinese name of a case source."""
    return SOURCE_LABELS.get(source, source)


def category_name(code: str) -> str:
    """The name of a case category code, or the code when the catalogue no longer has it."""
    try:
        return find_category(code).name
    except UnknownCategoryError:
        return code


def short_name(name: str) -> str:
    """A unit's name without the committee suffix, for chart axes (张泾社区居委会 → 张泾)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
