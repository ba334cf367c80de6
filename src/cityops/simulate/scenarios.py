"""What simulated reports say and where they happen: synthetic, and labelled so everywhere.

Every simulated case text starts with `SYNTHETIC_MARK` and every source key with `KEY_PREFIX`,
so the data, the API and the portal all show that the case did not come from a citizen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

SYNTHETIC_MARK = "【模拟】"
KEY_PREFIX = "SIM-"

#: Sources the simulator feeds and their share of the daily mix (illustrative, not measured).
SOURCE_MIX: dict[str, float] = {
    "hotline_12345": 0.40,
    "grid": 0.35,
    "mobile": 0.17,
    "open311": 0.08,
}

#: What grid workers find most often: (category code, weight). Illustrative weights.
GRID_FINDINGS: tuple[tuple[str, float], ...] = (
    ("event:0102", 8),  # 暴露垃圾
    ("event:0505", 8),  # 机动车乱停放
    ("event:0506", 6),  # 非机动车乱停放
    ("event:0507", 5),  # 乱堆物堆料
    ("event:0201", 6),  # 非法小广告
    ("event:0504", 5),  # 店外经营
    ("event:0117", 4),  # 垃圾满溢
    ("event:0110", 3),  # 道路破损
    ("event:0302", 2),  # 工地扬尘
    ("event:0406", 2),  # 道路积水
    ("component:0101", 3),  # 上水井盖
    ("component:0102", 3),  # 污水井盖
    ("component:0118", 3),  # 路灯
    ("component:0304", 2),  # 垃圾箱
    ("component:0211", 2),  # 交通护栏
    ("component:0402", 2),  # 行道树
)

#: 12345 calls: (request type, what the caller says). Phrases written for the simulator.
HOTLINE_CALLS: tuple[tuple[str, str], ...] = (
    ("hotline:03", "夜间施工噪音扰民，影响休息"),
    ("hotline:03", "小区门口机动车乱停放，堵塞消防通道"),
    ("hotline:03", "沿街商铺油烟直排，气味很大"),
    ("hotline:03", "垃圾清运不及时，垃圾桶满溢有异味"),
    ("hotline:02", "路灯不亮已经好几天，夜间出行不便"),
    ("hotline:02", "人行道上的井盖松动，踩上去有响声"),
    ("hotline:02", "下雨后路口积水严重，车辆无法通行"),
    ("hotline:04", "有人在绿化带内私搭乱建"),
    ("hotline:04", "楼道内电动自行车违规充电"),
    ("hotline:01", "咨询小区周边道路施工的结束时间"),
    ("hotline:05", "建议在路口增设非机动车停放点"),
    ("hotline:06", "感谢城管队员及时清理了小区门口的堆物"),
)

#: Open311 and mobile reports from residents: (category, text).
RESIDENT_REPORTS: tuple[tuple[str, str], ...] = (
    ("event:0102", "路边有一堆暴露垃圾没人清理"),
    ("event:0505", "机动车占用人行道停放"),
    ("event:0110", "路面有坑洼，电动车经过容易摔倒"),
    ("event:0201", "墙上贴满了小广告"),
    ("event:0406", "道路积水，行人无法通过"),
    ("component:0118", "路灯不亮"),
    ("component:0101", "井盖破损，有安全隐患"),
    ("event:0601", "楼上住户深夜噪声扰民"),
)

#: How a finding about a component reads, by the component's major class.
COMPONENT_FAULTS: dict[str, tuple[str, ...]] = {
    "01": ("破损", "缺失", "移位", "松动有异响"),
    "02": ("损坏", "倾斜", "被遮挡"),
    "03": ("满溢", "破损", "脏污有异味"),
    "04": ("倒伏", "枯死", "损坏"),
}


def local_findings() -> tuple[tuple[str, float], ...]:
    """The grid findings the community loop closes by default (they stay in the community)."""
    from cityops.cases import find_category

    return tuple(
        (code, weight)
        for code, weight in GRID_FINDINGS
        if find_category(code).loop_level == "community"
    )


PLACE_WORDS = ("附近", "门口", "路口", "东侧", "西侧", "南侧", "北侧")


@dataclass(frozen=True, slots=True)
class Place:
    """A community the simulator reports from: its code, name, town name and area."""

    code: str
    name: str
    town: str
    area: BaseGeometry

    def random_point(self, rng: random.Random) -> tuple[float, float]:
        """A uniformly random point inside the community (rejection sampling in its bounds)."""
        minx, miny, maxx, maxy = self.area.bounds
        for _ in range(200):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if self.area.contains(Point(x, y)):
                return x, y
        point = self.area.representative_point()
        return point.x, point.y

    def spot(self, rng: random.Random) -> str:
        """A spot in words: "泗泾镇某某居委会门口"."""
        return f"{self.town}{self.name}{rng.choice(PLACE_WORDS)}"


@dataclass(frozen=True, slots=True)
class Report:
    """One simulated report before a channel turns it into a source's wire format."""

    source: str
    serial: int
    category: str
    text: str
    place: Place
    lon: float
    lat: float
    address: str
    urgency: str
    reporter_phone: str | None
    run: str

    @property
    def key(self) -> str:
        """The source key: the simulator's prefix, the run, the source and a serial."""
        return f"{KEY_PREFIX}{self.run}-{self.source}-{self.serial}"


def is_simulated(text: str, source_key: str | None) -> bool:
    """Whether a case came from the simulator: its mark on the text and its prefix in the key.

    Sources may namespace a key (Open311: `<account>:<device>:<key>`), so the prefix is looked
    for anywhere in it.
    """
    return text.startswith(SYNTHETIC_MARK) and KEY_PREFIX in (source_key or "")


def weighted(rng: random.Random, pairs: tuple[tuple[str, float], ...]) -> str:
    """One of the codes, drawn by weight."""
    codes = [code for code, _ in pairs]
    return rng.choices(codes, weights=[weight for _, weight in pairs])[0]


def fake_phone(rng: random.Random) -> str:
    """A number no phone can have (it starts with 000), so nobody is ever called by mistake."""
    return f"000{rng.randrange(10**8):08d}"


class ReportMaker:
    """Draws reports: source by the mix, place uniformly over communities, words by source."""

    def __init__(self, places: list[Place], rng: random.Random, run_id: str) -> None:
        if not places:
            raise ValueError("no communities with a boundary: seed the district first")
        self.places = places
        self.rng = rng
        self.run_id = run_id
        self.serial = 0

    def draw_source(self) -> str:
        """A source drawn by the mix."""
        return self.rng.choices(list(SOURCE_MIX), weights=list(SOURCE_MIX.values()))[0]

    def next(
        self, source: str | None = None, places: list[Place] | None = None, *, local: bool = False
    ) -> Report:
        """The next report, from the given source (else drawn) in one of the places (else any).

        `local`: a finding the community itself closes (小闭环), so the case stays in the
        community's scope and its grid worker sees it.
        """
        rng = self.rng
        source = source or self.draw_source()
        place = rng.choice(places or self.places)
        lon, lat = place.random_point(rng)
        category, text = self._local(place) if local else self._content(source, place)
        self.serial += 1
        urgency = "urgent" if rng.random() < 0.05 else "normal"
        phone = fake_phone(rng) if source in ("hotline_12345", "open311", "mobile") else None
        return Report(
            source=source,
            serial=self.serial,
            category=category,
            text=f"{SYNTHETIC_MARK}{text}",
            place=place,
            lon=lon,
            lat=lat,
            address=place.spot(rng),
            urgency=urgency,
            reporter_phone=phone,
            run=self.run_id,
        )

    def _content(self, source: str, place: Place) -> tuple[str, str]:
        rng = self.rng
        spot = place.spot(rng)
        if source == "hotline_12345":
            category, said = rng.choice(HOTLINE_CALLS)
            return category, f"市民来电反映：{spot}{said}，请尽快处理。"
        if source in ("open311", "mobile"):
            category, said = rng.choice(RESIDENT_REPORTS)
            return category, f"{spot}{said}。"
        category = weighted(rng, GRID_FINDINGS)
        return category, f"网格巡查发现：{spot}{self._finding(category)}。"

    def _local(self, place: Place) -> tuple[str, str]:
        category = weighted(self.rng, local_findings())
        return category, f"网格巡查发现：{place.spot(self.rng)}{self._finding(category)}。"

    def _finding(self, category: str) -> str:
        from cityops.cases import find_category

        found = find_category(category)
        if found.major is not None and category.startswith("component:"):
            faults = COMPONENT_FAULTS.get(found.major.code, ("损坏",))
            return f"{found.name}{self.rng.choice(faults)}"
        return found.name
