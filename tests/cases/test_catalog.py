"""Case categories: shipped catalogues, synthetic marking, validation and component IDs."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from cityops.cases.catalog.shipped import (
    Catalog,
    CatalogError,
    Kind,
    LimitUnit,
    LoopLevel,
    TimeLimit,
    UnknownCategoryError,
    check_county_code,
    department_keys,
    format_component_id,
    load_catalog_file,
    parse_catalog,
    parse_component_id,
    shipped_catalog,
)
from cityops.kit.workcal import SHANGHAI, default_calendar


@pytest.fixture(scope="module")
def components() -> Catalog:
    return shipped_catalog(Kind.COMPONENT)


@pytest.fixture(scope="module")
def events() -> Catalog:
    return shipped_catalog(Kind.EVENT)


@pytest.fixture(scope="module")
def hotline() -> Catalog:
    return shipped_catalog(Kind.HOTLINE)


# --- shipped catalogues ---------------------------------------------------------------------


def test_component_major_classes(components: Catalog) -> None:
    assert [(m.code, m.name) for m in components.majors] == [
        ("01", "公用设施"),
        ("02", "道路交通"),
        ("03", "市容环境"),
        ("04", "园林绿化"),
        ("05", "房屋土地"),
        ("06", "其他设施"),
    ]
    assert not any(m.code_synthetic for m in components.majors)
    assert len(components) >= 80
    assert all(components.in_major(m.code) for m in components.majors)


def test_event_major_classes(events: Catalog) -> None:
    assert [m.name for m in events.majors] == [
        "市容环境",
        "宣传广告",
        "施工管理",
        "突发事件",
        "街面秩序",
        "其他事件",
    ]
    # The standard's event codes are not confirmed: every one is marked.
    assert all(m.code_synthetic for m in events.majors)
    assert all(c.code_synthetic for c in events)
    assert len(events) >= 50


def test_hotline_request_types(hotline: Catalog) -> None:
    assert [c.name for c in hotline] == ["咨询", "求助", "投诉", "举报", "建议", "表扬", "其他"]
    assert hotline.majors == ()
    assert all(c.major is None and c.department is None for c in hotline)
    assert hotline.get("03").name == "投诉"
    assert hotline.find("感谢").name == "表扬"


@pytest.mark.parametrize(
    ("kind", "name", "major"),
    [
        (Kind.COMPONENT, "上水井盖", "公用设施"),  # broken manhole cover
        (Kind.COMPONENT, "污水井盖", "公用设施"),
        (Kind.COMPONENT, "雨水篦子", "公用设施"),  # by alias
        (Kind.COMPONENT, "广告牌匾", "市容环境"),
        (Kind.COMPONENT, "垃圾箱", "市容环境"),
        (Kind.EVENT, "机动车乱停放", "街面秩序"),  # illegal parking
        (Kind.EVENT, "违停", "街面秩序"),
        (Kind.EVENT, "暴露垃圾", "市容环境"),  # garbage
        (Kind.EVENT, "垃圾满溢", "市容环境"),
        (Kind.EVENT, "违法建筑", "市容环境"),  # illegal construction → 私搭乱建
        (Kind.EVENT, "无照经营游商", "街面秩序"),  # street vending
        (Kind.EVENT, "占道经营", "街面秩序"),
        (Kind.EVENT, "非法小广告", "宣传广告"),  # advertising
        (Kind.EVENT, "违规户外广告", "宣传广告"),
    ],
)
def test_the_common_cases_are_there(kind: Kind, name: str, major: str) -> None:
    category = shipped_catalog(kind).find(name)
    assert category.major is not None
    assert category.major.name == major


def test_every_category_is_usable(components: Catalog, events: Catalog) -> None:
    for category in [*components, *events]:
        assert category.department in department_keys(), category.key
        assert isinstance(category.loop_level, LoopLevel)
        assert category.registration and category.closing
        for limit in (category.sign_for, category.handle):
            assert isinstance(limit.unit, LimitUnit)
            assert limit.value > 0


def test_nothing_invented_is_presented_as_the_standards(
    components: Catalog, events: Catalog, hotline: Catalog
) -> None:
    corroborated = {c.key for c in components if not c.code_synthetic}
    assert corroborated == {"0101", "0102"}
    for category in [*components, *events, *hotline]:
        # Conditions, department, level and limits are illustrative defaults everywhere.
        assert category.defaults_synthetic
        assert category.synthetic
    local = [c.name for c in [*components, *events] if c.name_basis == "local"]
    assert "生活垃圾分类投放点" in local
    assert "私搭乱建" not in local


def test_lookup_errors(components: Catalog) -> None:
    with pytest.raises(UnknownCategoryError, match="0199"):
        components.get("0199")
    with pytest.raises(LookupError):
        components.find("不存在的部件")
    with pytest.raises(UnknownCategoryError):
        components.major("07")


def test_in_major_is_in_code_order(components: Catalog) -> None:
    covers = components.in_major("01")
    assert [c.code for c in covers] == sorted(c.code for c in covers)
    assert covers[0].name == "上水井盖"


# --- time limits ------------------------------------------------------------------------------


def test_time_limits_compute_deadlines(components: Catalog, events: Catalog) -> None:
    calendar = default_calendar()
    friday = datetime(2025, 3, 7, 16, 0, tzinfo=SHANGHAI)
    cover = components.get("0101")
    assert cover.handle == TimeLimit(4, LimitUnit.WORKING_HOURS)
    assert cover.handle.deadline(calendar, friday) == datetime(2025, 3, 10, 12, 0, tzinfo=SHANGHAI)
    assert cover.sign_for.deadline(calendar, friday) == datetime(
        2025, 3, 7, 16, 30, tzinfo=SHANGHAI
    )
    building = events.find("私搭乱建")
    assert building.handle.unit is LimitUnit.WORKING_DAYS
    # 15 working days after Tuesday 2025-09-30: 10-09, 10-10, 10-11 (Sat, 调休), 10-13..17,
    # 10-20..24, 10-27, 10-28
    start = datetime(2025, 9, 30, 10, 0, tzinfo=SHANGHAI)
    assert building.handle.deadline(calendar, start) == datetime(
        2025, 10, 28, 17, 0, tzinfo=SHANGHAI
    )


def test_time_limit_text() -> None:
    assert str(TimeLimit(0.5, LimitUnit.WORKING_HOURS)) == "0.5 working hours"
    assert str(TimeLimit(5, LimitUnit.WORKING_DAYS)) == "5 working days"


# --- component IDs ----------------------------------------------------------------------------


def test_component_id_round_trip(components: Catalog) -> None:
    text = format_component_id("310117", "01", "01", 1)
    assert text == "3101170101000001"
    parsed = parse_component_id(text, components)
    assert (parsed.county, parsed.major, parsed.minor, parsed.serial) == (
        "310117",
        "01",
        "01",
        "000001",
    )
    assert str(parsed) == text
    assert parsed.category(components).name == "上水井盖"


def test_ids_of_other_counties_parse(components: Catalog) -> None:
    # IDs as published by a Suzhou district platform (320508 姑苏区, 320582 张家港市).
    assert parse_component_id("3205080101000001", components).category_key == "0101"
    assert parse_component_id(" 3205820102048188 ", components).serial == "048188"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("310117010100001", "16-digit"),  # 15 digits
        ("31011701010000012", "16-digit"),
        ("31011701A1000001", "16-digit"),
        ("3101000101000001", "county-level"),  # a city code, not a county
        ("0001170101000001", "county-level"),
        ("3101170001000001", "major class"),
        ("3101170100000001", "minor class"),
        ("3101170101000000", "serial 000000"),
    ],
)
def test_malformed_component_ids_are_refused(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_component_id(text)


def test_a_component_id_of_an_unknown_category_is_refused(
    components: Catalog, events: Catalog
) -> None:
    assert parse_component_id("3101170199000001").category_key == "0199"
    with pytest.raises(UnknownCategoryError):
        parse_component_id("3101170199000001", components)
    with pytest.raises(CatalogError, match="component catalogue"):
        parse_component_id("3101170101000001", events)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("310117", "01", "01", 0), "serial"),
        (("310117", "01", "01", 1_000_000), "serial"),
        (("310117", "01", "01", True), "serial"),
        (("31011", "01", "01", 1), "county-level"),
        (("310117", "1", "01", 1), "two digits"),
        (("310117", "01", "00", 1), "two digits"),
    ],
)
def test_format_component_id_checks_its_parts(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        format_component_id(*args)


def test_county_codes() -> None:
    assert check_county_code("310117") == "310117"
    for bad in ("310100", "310000", "31011", "A10117", "010117"):
        with pytest.raises(CatalogError):
            check_county_code(bad)


# --- district files and validation --------------------------------------------------------------

MINIMAL: dict[str, Any] = {
    "kind": "event",
    "title": "test",
    "standard": "test",
    "defaults_synthetic": False,
    "majors": [{"code": "01", "name": "市容环境", "code_synthetic": False}],
    "categories": [
        {
            "major": "01",
            "code": "02",
            "name": "暴露垃圾",
            "aliases": ["乱扔垃圾"],
            "code_synthetic": False,
            "name_basis": "attested",
            "department": "lhsr",
            "loop_level": "community",
            "sign_for": {"value": 1, "unit": "working_hours"},
            "handle": {"value": 2, "unit": "working_hours"},
            "registration": "r",
            "closing": "c",
        }
    ],
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    for key, value in changes.items():
        if key.startswith("row_"):
            doc["categories"][0][key[4:]] = value
        else:
            doc[key] = value
    return doc


def test_a_district_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(MINIMAL, ensure_ascii=False), "utf-8")
    catalog = load_catalog_file(path, Kind.EVENT)
    category = catalog.get("0102")
    assert category.key == "0102"
    assert not category.synthetic
    assert catalog.find("乱扔垃圾") is category


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_doc(row_department="xyz"), "unknown department 'xyz'"),
        (_doc(row_loop_level="street"), "loop_level"),
        (_doc(row_handle={"value": 2, "unit": "hours"}), "is not one of working_hours"),
        (_doc(row_handle={"value": 1.5, "unit": "working_days"}), "must be whole"),
        (_doc(row_handle={"value": 0, "unit": "working_days"}), "positive number"),
        (_doc(row_sign_for={"value": 3, "unit": "working_hours"}), "longer than handle"),
        (_doc(row_code="2"), "not two digits"),
        (_doc(row_major="02"), "not a declared major class"),
        (_doc(row_name_basis="guessed"), "name_basis"),
        (_doc(row_registration=""), "registration"),
        (_doc(row_code_synthetic="no"), "true or false"),
        (_doc(categories=[MINIMAL["categories"][0]] * 2), "listed twice"),
        (
            _doc(categories=[MINIMAL["categories"][0], {**MINIMAL["categories"][0], "code": "03"}]),
            "name '暴露垃圾' used by 0102 and 0103",
        ),
        (_doc(majors=[MINIMAL["majors"][0]] * 2), "declared twice"),
        (_doc(majors=[]), "needs major classes"),
        (_doc(kind="component"), "expected a event catalogue"),
        (_doc(kind="parts"), "'kind' must be one of"),
    ],
)
def test_a_malformed_catalogue_is_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError, match=message.replace("(", r"\(")):
        parse_catalog(doc, "events.json", Kind.EVENT)


def test_hotline_catalogues_have_no_major_classes() -> None:
    doc = _doc(kind="hotline")
    with pytest.raises(CatalogError, match="no major classes"):
        parse_catalog(doc, "hotline.json")


def test_invalid_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "components.json"
    path.write_text("{", "utf-8")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_catalog_file(path)
