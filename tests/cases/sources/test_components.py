"""Component IDs as sources send them: each faulty part is named, a good one gives its class."""

from __future__ import annotations

import pytest

from cityops.cases.sources.components import ComponentIdError, check_component_id

DISTRICT = "310117"


def test_a_good_id_gives_its_parts_and_class() -> None:
    parsed, category = check_component_id(" 3101170101000123 ", DISTRICT)
    assert (parsed.county, parsed.major, parsed.minor, parsed.serial) == (
        "310117",
        "01",
        "01",
        "000123",
    )
    assert (category.key, category.name, category.department) == ("0101", "上水井盖", "sw")


@pytest.mark.parametrize(
    ("text", "part", "words"),
    [
        ("310117010100012", "format", "16 digits, got 15"),
        ("31011701010001234", "format", "16 digits, got 17"),
        ("31011701O1000123", "format", "16 digits"),
        ("3101180101000123", "county", "310118 (digits 1-6) is not this district (310117)"),
        ("3101170901000123", "major", "major class 09 (digits 7-8)"),
        ("3101170199000123", "minor", "minor class 99 (digits 9-10) does not exist under"),
        ("3101170101000000", "serial", "000000"),
    ],
)
def test_each_faulty_part_is_named(text: str, part: str, words: str) -> None:
    with pytest.raises(ComponentIdError) as caught:
        check_component_id(text, DISTRICT)
    assert caught.value.part == part
    assert words in caught.value.message
