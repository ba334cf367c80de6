"""The overview's parts that need no database: the part cache, area codes, statistics files."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cityops.overview.cache import CacheKey, PartCache, areas_of
from cityops.overview.labels import short_name
from cityops.overview.live import Broker, StreamsFull
from cityops.overview.schemas import Part
from cityops.overview.stats import StatsError, district_stats, parse_stats

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _part(key: str) -> Part:
    return Part(key=key, title=key, status="live", note="n", computed_at=NOW)


def _key(code: str, part: str, access: tuple[object, ...] = ("310117",)) -> CacheKey:
    return CacheKey(code, access, part, "v1")


def test_areas_of_a_case_are_the_prefixes_of_its_codes() -> None:
    assert areas_of(["310117102001005", None, "310117"]) == {
        "310117",
        "310117102",
        "310117102001",
        "310117102001005",
    }
    # A multi-grid owner lies in its town and district.
    assert areas_of(["310117102M01"]) == {"310117", "310117102", "310117102M01"}
    assert areas_of([None, ""]) == set()


def test_case_events_drop_live_parts_of_their_areas_only() -> None:
    cache = PartCache(ttl=60)
    generation = cache.generation
    for code in ("310117", "310117102", "310117103"):
        for part in ("event_flow", "population"):
            cache.put(_key(code, part), _part(part), generation)
    assert len(cache) == 6
    assert cache.drop_areas({"310117", "310117102"}) == 2
    assert cache.get(_key("310117", "event_flow")) is None
    assert cache.get(_key("310117", "population")) is not None  # static: case events never touch it
    assert cache.get(_key("310117103", "event_flow")) is not None
    assert cache.get(_key("310117", "event_flow", ("310117102",))) is None  # keyed by access


def test_a_result_computed_before_a_drop_is_not_stored() -> None:
    cache = PartCache(ttl=60)
    started = cache.generation
    cache.drop_areas({"310117"})  # an event arrives while the part is being computed
    cache.put(_key("310117", "event_flow"), _part("event_flow"), started)
    assert cache.get(_key("310117", "event_flow")) is None


def test_entries_expire_and_the_cache_stays_bounded() -> None:
    now = [0.0]
    cache = PartCache(ttl=5, max_entries=3, clock=lambda: now[0])
    for i in range(10):
        cache.put(_key(f"31011710{i}", "map"), _part("map"), cache.generation)
    assert len(cache) == 3
    now[0] = 5.0
    assert cache.get(_key("310117109", "map")) is not None  # still fresh at its last second
    now[0] = 5.01
    assert cache.get(_key("310117109", "map")) is None
    off = PartCache(ttl=0)
    off.put(_key("310117", "map"), _part("map"), off.generation)
    assert not off.enabled and len(off) == 0


def test_the_broker_wakes_only_watchers_of_the_areas_and_refuses_past_its_limit() -> None:
    broker = Broker(max_watchers=2)
    town = broker.watch("310117102", ["event_flow"])
    other = broker.watch("310117103", ["event_flow"])
    with pytest.raises(StreamsFull):
        broker.watch("310117", ["event_flow"])
    assert broker.publish({"310117", "310117102"}, "case.created") == 1
    assert town.wake.is_set() and not other.wake.is_set()
    broker.publish({"310117102"}, "case.transitioned")
    assert town.take() == ["case.created", "case.transitioned"] and not town.wake.is_set()
    broker.forget(town)
    broker.forget(town)  # twice is harmless
    assert len(broker) == 1


def test_shipped_statistics_name_a_source_for_every_figure() -> None:
    stats = district_stats("310117")
    assert stats.figures
    for figure in stats.figures:
        assert figure.source.url.startswith(("http://", "https://"))
        assert figure.source.publisher and figure.source.title and figure.source.year > 1990
    assert stats.latest("310117", "population", "resident").value == 1909713  # type: ignore[union-attr]
    assert stats.of("310117102", "population") == []
    assert "未找到公开来源" in stats.missing("population")
    assert district_stats("999999").figures == ()


def test_a_figure_without_a_declared_source_is_refused() -> None:
    figure = {"code": "310117", "topic": "population", "key": "resident", "label": "常住人口",
              "year": 2020, "value": 1, "unit": "人", "source": "nowhere"}  # fmt: skip
    with pytest.raises(StatsError, match="cites no declared source"):
        parse_stats({"district": "310117", "figures": [figure], "sources": {}})
    with pytest.raises(StatsError, match="lacks publisher"):
        parse_stats({"district": "310117", "sources": {"s": {"title": "t"}}})


def test_short_names_drop_the_committee_suffix() -> None:
    assert short_name("张泾社区居委会") == "张泾"
    assert short_name("焦家村村委会") == "焦家村"
    assert short_name("泗泾镇") == "泗泾镇"
    assert short_name("居委会") == "居委会"


@pytest.mark.parametrize(
    ("due", "closed", "hours", "rate_says", "hours_says"),
    [
        (0, 0, None, "近30天无到期案件", "近30天无结案"),
        (0, 120, 0.0, "结案均未到期", "均在工作时间外办结"),
        (10, 120, 0.01, None, "均在工作时间外办结"),
        (10, 120, 3.5, None, None),
    ],
)
def test_the_closing_tiles_say_why_they_read_dash_or_zero(
    due: int, closed: int, hours: float | None, rate_says: str | None, hours_says: str | None
) -> None:
    from cityops.cases import Performance
    from cityops.overview.parts_live import hours_hint, rate_hint

    perf = Performance(
        due=due, due_closed_on_time=min(due, 5), closed=closed, avg_handling_hours=hours
    )
    assert rate_hint(perf) == rate_says
    assert hours_hint(perf) == hours_says
