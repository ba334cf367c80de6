"""DataScope: prefix sets, their normalisation, and the SQL clause against a real SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, MetaData, String, Table, create_engine, insert, select

from cityops.kit.scope import DataScope, scoped

metadata = MetaData()
rows = Table("rows", metadata, Column("code", String(24), primary_key=True))

CODES = [
    "310117",
    "310117102",
    "310117102001",
    "310117102001003",
    "310117102M01",
    "310117103",
    "310117103201",
    "3101171020",
    "31011",
    "310118001",
    # Codes with LIKE metacharacters: a prefix must match them literally.
    "31_117",
    "31_117001",
    "31x117",
    "31x117001",
    "31%",
    "31%001",
    "31abc",
    "31/7",
    "31/7001",
    "31\\7",
    "31\\7001",
    "31a7",
]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    """A real SQLite database holding the codes above."""
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(rows), [{"code": code} for code in CODES])
    yield engine
    engine.dispose()


def visible(engine: Engine, scope: DataScope) -> set[str]:
    """The codes a scope selects through its SQL clause."""
    with engine.connect() as conn:
        return set(conn.scalars(scoped(select(rows.c.code), rows.c.code, scope)))


def test_of_drops_codes_covered_by_shorter_ones() -> None:
    scope = DataScope.of(["310117102001", "310117102", "310117103", "310117102", "310117103201"])
    assert scope.prefixes == frozenset({"310117102", "310117103"})
    assert DataScope.of(["310117", "310117102", "310117103001"]).prefixes == {"310117"}
    assert DataScope.of([]) == DataScope.nothing()
    assert DataScope.of(["310117102", "3101171020"]).prefixes == {"310117102"}
    # A longer code that merely shares digits is not covered by a sibling.
    assert DataScope.of(["310117102", "310117103001"]).prefixes == {"310117102", "310117103001"}


def test_allows_is_a_prefix_test() -> None:
    scope = DataScope.of(["310117102"])
    assert scope.allows("310117102")
    assert scope.allows("310117102001")
    assert scope.allows("310117102001003")
    assert scope.allows("310117102M01")
    assert not scope.allows("310117103")
    assert not scope.allows("310117103201")
    assert not scope.allows("310117")
    assert not scope.allows("31011710")
    assert not scope.allows("")
    assert DataScope.everything().allows("310118001")
    assert DataScope.everything().allows("")
    assert not DataScope.nothing().allows("310117")


def test_covers_ancestor_shows_the_path_down_to_the_scope() -> None:
    scope = DataScope.of(["310117102001"])
    assert scope.covers_ancestor("310117")
    assert scope.covers_ancestor("310117102")
    assert scope.covers_ancestor("310117102001")
    assert not scope.covers_ancestor("310117103")
    assert not scope.covers_ancestor("310117102002")
    assert not scope.covers_ancestor("310117102001003")  # a descendant, not an ancestor
    assert not scope.covers_ancestor("310118")
    assert not DataScope.nothing().covers_ancestor("310117")
    two = DataScope.of(["310117102", "310117103201"])
    assert two.covers_ancestor("310117103")
    assert not two.covers_ancestor("310117104")


def test_clause_selects_exactly_what_allows_admits(engine: Engine) -> None:
    for scope in (
        DataScope.of(["310117102"]),
        DataScope.of(["310117102001", "310117103"]),
        DataScope.of(["310117"]),
        DataScope.of(["31"]),
        DataScope.everything(),
        DataScope.nothing(),
    ):
        assert visible(engine, scope) == {code for code in CODES if scope.allows(code)}
    assert visible(engine, DataScope.of(["310117102"])) == {
        "310117102",
        "310117102001",
        "310117102001003",
        "310117102M01",
        "3101171020",
    }
    assert visible(engine, DataScope.nothing()) == set()
    assert visible(engine, DataScope.everything()) == set(CODES)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("31_", {"31_117", "31_117001"}),
        ("31_117", {"31_117", "31_117001"}),
        ("31%", {"31%", "31%001"}),
        ("31/", {"31/7", "31/7001"}),
        ("31\\", {"31\\7", "31\\7001"}),
        ("31x117", {"31x117", "31x117001"}),
        ("3_", set()),
        ("%", set()),
        ("_", set()),
    ],
)
def test_like_wildcards_in_a_code_are_literal(
    engine: Engine, prefix: str, expected: set[str]
) -> None:
    scope = DataScope.of([prefix])
    assert visible(engine, scope) == expected
    assert {code for code in CODES if scope.allows(code)} == expected
