"""The address parser: normalisation, names by rule, ambiguity, road, 弄, 号 and 组."""

from __future__ import annotations

import pytest

from cityops.geo.address.geocode import UnitRow, division_of
from cityops.geo.address.parse import (
    AddressParser,
    Division,
    Form,
    Kind,
    chinese_number,
    community_aliases,
    normalise,
    unit_aliases,
)
from cityops.org.divisions import shipped_division_set


@pytest.fixture(scope="module")
def parser() -> AddressParser:
    """A parser over the shipped 2023 Songjiang divisions (names only, no polygons)."""
    divisions = shipped_division_set("310117", 2023)
    rows = [UnitRow("310117", "松江区", "district", None, None, True)]
    rows += [
        UnitRow(r.code, r.name, r.level, r.parent_code, None, True)
        for r in [*divisions.units, *divisions.communities]
    ]
    return AddressParser(d for d in map(division_of, rows) if d is not None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("松江区　九亭镇 涞亭南路１２３弄４５号", "松江区九亭镇涞亭南路123弄45号"),
        ("九亭镇（涞亭南路）123号，301室。", "九亭镇涞亭南路123号301室"),
        ("焦家村三组十二号", "焦家村3组12号"),
        ("焦家村第十二村民小组一百零五号", "焦家村12村民小组105号"),
        ("涞亭南路123弄45-301", "涞亭南路123弄45号301室"),
        ("涞亭南路5#楼", "涞亭南路5号楼"),
        ("七间邨ａ座", "七间村A座"),
        ("九亭家园第二社区", "九亭家园第二社区"),  # 二 before 社 is a name, not a number
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("一百零五", 105), ("二〇一", 201)],
)
def test_chinese_number(numeral: str, value: int) -> None:
    assert chinese_number(numeral) == value


def test_short_forms_are_derived_by_rule() -> None:
    def unit(name: str) -> dict[str, Form]:
        return dict(unit_aliases(Division("310117107", name, Kind.UNIT, "310117")))

    assert unit("九亭镇")["九亭"] is Form.BARE
    assert unit("岳阳街道")["岳阳"] is Form.BARE
    assert unit("上海松江出口加工区")["松江出口加工区"] is Form.SUFFIXED
    assert unit("松江工业区")["松江经济技术开发区"] is Form.SUFFIXED


def test_community_aliases() -> None:
    def community(name: str, *, village: bool = False) -> dict[str, Form]:
        division = Division("310117102001", name, Kind.COMMUNITY, "310117102", village=village)
        return dict(community_aliases(division))

    residents = community("张泾社区居委会")
    assert residents["张泾"] is Form.BARE and residents["张泾居委会"] is Form.SUFFIXED
    village = community("焦家村村委会", village=True)
    assert village["焦家村"] is Form.SUFFIXED and village["焦家"] is Form.WEAK
    assert "蓝天1村" in community("蓝天一村社区居委会")
    assert "景德路" not in community("景德路社区居委会")  # alone, 景德路 is the road


def test_a_full_address(parser: AddressParser) -> None:
    parsed = parser.parse("上海市松江区九亭镇九亭家园社区居委会涞亭南路123弄4支弄45号6幢301室")
    assert parsed.province == "上海市"
    assert parsed.district and parsed.district.code == "310117"
    assert parsed.unit and parsed.unit.code == "310117107"
    assert parsed.community and parsed.community.code == "310117107040"
    assert (parsed.road, parsed.lane, parsed.sublane) == ("涞亭南路", "123", "4")
    assert (parsed.number, parsed.building, parsed.room) == ("45", "6", "301")
    assert parsed.factor == 1.0 and not parsed.notes and parsed.inferred == []


def test_short_forms_full_width_and_spaces(parser: AddressParser) -> None:
    parsed = parser.parse("松江 九亭  涞亭南路１２３弄４５号")
    assert parsed.unit and parsed.unit.name == "九亭镇"
    assert parsed.community is None  # 涞亭 starts the road name: not 涞亭社区居委会
    assert (parsed.road, parsed.lane, parsed.number) == ("涞亭南路", "123", "45")
    assert parser.parse("岳阳").unit == parser.named("310117001")


def test_village_group_forms(parser: AddressParser) -> None:
    for text in ("泖港镇焦家村3组12号", "泖港焦家村三组十二号", "泖港镇焦家三组十二号"):
        parsed = parser.parse(text)
        assert parsed.community and parsed.community.code == "310117109201", text
        assert (parsed.village_group, parsed.number) == ("3", "12"), text
    # Without its unit, the stem 焦家 means 焦家村 only before N组, and the answer says so.
    assert parser.parse("焦家12号").community is None
    alone = parser.parse("焦家3组12号")
    assert alone.community and alone.community.code == "310117109201" and alone.notes


@pytest.mark.parametrize(
    ("text", "unit", "community"),
    [
        ("岳阳街道中山中路12号", "310117001", None),  # 中山 is the road here, not 中山街道
        ("九亭大街100号", None, None),
        ("西新桥社区", "310117001", "310117001009"),  # longest: not 新桥镇
        ("佘山度假区林湖路888号", "310117504", None),  # longest: not 佘山镇
        ("永丰村5组", "310117121", "310117121203"),  # 永丰村 is in 小昆山镇, not 永丰街道
        ("泖港", "310117109", None),  # unit and community name: the unit first
        ("泖港镇泖港", "310117109", "310117109001"),  # after the unit: the community
        ("九里亭街道九里亭社区", "310117006", "310117006001"),
        ("上海松江出口加工区", "310117507", None),
    ],
)
def test_collisions(
    parser: AddressParser, text: str, unit: str | None, community: str | None
) -> None:
    parsed = parser.parse(text)
    assert (parsed.unit.code if parsed.unit else None) == unit
    assert (parsed.community.code if parsed.community else None) == community


def test_context_resolves_an_ambiguity_and_says_so(parser: AddressParser) -> None:
    # 南门 is 南门社区居委会 in 中山街道 and, in 车墩镇, 南门村 written without 村.
    in_chedun = parser.parse("车墩镇南门3组5号")
    assert in_chedun.community and in_chedun.community.code == "310117104210"
    assert in_chedun.factor < 1 and in_chedun.notes
    assert in_chedun.alternatives == [parser.named("310117004011")]
    alone = parser.parse("南门")
    assert alone.community and alone.community.code == "310117004011"
    assert alone.factor < 1 and alone.notes and "unit" in alone.inferred


def test_a_community_of_another_unit_is_left_out(parser: AddressParser) -> None:
    parsed = parser.parse("九亭镇龙潭社区涞亭南路1号")  # 龙潭 is in 岳阳街道
    assert parsed.unit and parsed.unit.code == "310117107"
    assert parsed.community is None
    assert parsed.factor < 1 and "岳阳街道" in parsed.notes[0]


def test_another_district_is_outside(parser: AddressParser) -> None:
    parsed = parser.parse("上海市闵行区七宝镇新镇路1号")
    assert parsed.outside == "闵行区" and parsed.unit is None
    assert parser.parse("浦东张江镇华阳路1号").outside == "浦东新区"  # not 车墩镇's 华阳
    assert parser.parse("泖港镇黄浦江边").unit is not None  # a river, not 黄浦区


def test_named_lanes_and_room_dashes(parser: AddressParser) -> None:
    parsed = parser.parse("黑鱼弄12号")
    assert (parsed.road, parsed.number) == ("黑鱼弄", "12")
    parsed = parser.parse("九亭镇九亭家园小区5号楼1203室")
    assert parsed.community and parsed.community.code == "310117107040"
    assert (parsed.road, parsed.building, parsed.room) == (None, "5", "1203")


def test_parse_many_is_parse(parser: AddressParser) -> None:
    texts = ["泖港镇焦家村3组12号", "松江九亭涞亭南路1号", "南门"]
    assert parser.parse_many(texts) == [parser.parse(t) for t in texts]


def test_a_name_shared_by_two_units_is_not_guessed() -> None:
    # A made-up gazetteer: 新华社区居委会 exists in two towns.
    parser = AddressParser(
        [
            Division("310117", "松江区", Kind.DISTRICT),
            Division("310117101", "甲镇", Kind.UNIT, "310117"),
            Division("310117102", "乙镇", Kind.UNIT, "310117"),
            Division("310117101001", "新华社区居委会", Kind.COMMUNITY, "310117101"),
            Division("310117102001", "新华社区居委会", Kind.COMMUNITY, "310117102"),
        ]
    )
    alone = parser.parse("新华社区12号")
    assert alone.community is None and alone.unit is None
    assert [a.code for a in alone.alternatives] == ["310117101001", "310117102001"]
    assert alone.factor == pytest.approx(0.7) and alone.notes
    narrowed = parser.parse("乙镇新华社区12号")
    assert narrowed.community and narrowed.community.code == "310117102001"
    assert narrowed.factor == pytest.approx(0.9) and narrowed.notes
