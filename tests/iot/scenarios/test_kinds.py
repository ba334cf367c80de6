"""The pure evaluators: explicit state in and out, reading time only, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityops.iot.scenarios.kinds import KINDS, Firing, Outcome, Sample
from cityops.iot.scenarios.params import check_spec
from cityops.iot.scenarios.shipped import BASE_SCENARIOS

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
LEVEL = {
    "key": "water_level",
    "lines": [3.0],
    "direction": "above",
    "duration_s": 60,
    "hysteresis": 0.1,
}


def at(seconds: float) -> datetime:
    """T0 plus seconds."""
    return T0 + timedelta(seconds=seconds)


def run(
    kind: str, params: dict[str, Any], samples: Iterable[tuple[str, Any, float]]
) -> tuple[Any, list[Outcome]]:
    """Feed samples (key, value, seconds after T0) through a kind; the final state and outcomes."""
    evaluator = KINDS[kind]
    state = evaluator.start(params, T0)
    found: list[Outcome] = []
    for key, value, seconds in samples:
        state, outcomes = evaluator.step(params, state, Sample(key, value, at(seconds)))
        found.extend(outcomes)
    return state, found


def kinds_of(outcomes: Sequence[Outcome]) -> list[str]:
    """'fire' or 'clear' per outcome."""
    return ["fire" if isinstance(o, Firing) else "clear" for o in outcomes]


def test_threshold_fires_once_after_the_duration() -> None:
    samples = [("water_level", 3.2, s) for s in range(0, 181, 10)]
    _, outcomes = run("threshold", LEVEL, samples)
    assert kinds_of(outcomes) == ["fire"]
    assert outcomes[0].at == at(60)


def test_threshold_does_not_fire_when_it_dips_before_the_duration() -> None:
    samples = [("water_level", 3.2, 0), ("water_level", 3.2, 50), ("water_level", 2.9, 55)]
    samples += [("water_level", 3.2, 60), ("water_level", 3.2, 100)]
    _, outcomes = run("threshold", LEVEL, samples)
    assert outcomes == []


def test_a_value_hovering_at_the_line_gives_one_event_then_the_clear_follows() -> None:
    hover = [("water_level", 3.0 + (0.05 if i % 2 else -0.05), 60 + i * 10) for i in range(40)]
    samples = [
        ("water_level", 3.1, 0),
        ("water_level", 3.1, 60),
        *hover,
        ("water_level", 2.85, 600),
    ]
    _, outcomes = run("threshold", LEVEL, samples)
    assert kinds_of(outcomes) == ["fire", "clear"]
    assert outcomes[1].at == at(600)


def test_late_and_duplicate_readings_neither_fire_nor_flip() -> None:
    evaluator = KINDS["threshold"]
    state, _ = run("threshold", LEVEL, [("water_level", 3.5, 0), ("water_level", 3.5, 60)])
    again, outcomes = evaluator.step(LEVEL, state, Sample("water_level", 3.5, at(60)))
    assert (again, list(outcomes)) == (state, [])
    late, outcomes = evaluator.step(LEVEL, state, Sample("water_level", 0.0, at(30)))
    assert (late, list(outcomes)) == (state, [])


def test_levels_escalate_the_same_firing() -> None:
    params = {**LEVEL, "lines": [3.0, 3.5, 4.0], "duration_s": 0}
    _, outcomes = run(
        "threshold", params, [("water_level", v, i) for i, v in enumerate([3.1, 3.6, 3.7, 4.2])]
    )
    assert [o.level for o in outcomes if isinstance(o, Firing)] == [0, 1, 2]


def test_below_direction_and_text_values() -> None:
    params = {**LEVEL, "direction": "below", "lines": [1.0], "duration_s": 0}
    _, outcomes = run(
        "threshold",
        params,
        [("water_level", "n/a", 0), ("water_level", 0.5, 1), ("water_level", 1.2, 2)],
    )
    assert kinds_of(outcomes) == ["fire", "clear"]


def test_rate_of_change_per_minute() -> None:
    params = {
        "key": "water_level",
        "limit_per_min": 0.1,
        "direction": "rise",
        "window_s": 300,
        "hysteresis": 0.05,
    }
    rising = [("water_level", 1.0 + 0.02 * i, i * 10) for i in range(10)]  # 0.12 m/min
    flat = [("water_level", 1.18, 100 + i * 60) for i in range(1, 8)]
    _, outcomes = run("rate", params, rising + flat)
    assert kinds_of(outcomes) == ["fire", "clear"]


def test_no_data_fires_on_a_tick_and_clears_on_the_next_reading() -> None:
    evaluator = KINDS["no_data"]
    params = {"timeout_s": 600, "key": ""}
    state = evaluator.start(params, T0)
    state, outcomes = evaluator.tick(params, state, at(599))
    assert list(outcomes) == []
    state, outcomes = evaluator.tick(params, state, at(600))
    assert kinds_of(outcomes) == ["fire"]
    state, outcomes = evaluator.tick(params, state, at(1200))
    assert list(outcomes) == []  # fires once
    state, outcomes = evaluator.step(params, state, Sample("x", 1.0, at(-5)))
    assert list(outcomes) == []  # a late reading does not clear
    _, outcomes = evaluator.step(params, state, Sample("x", 1.0, at(1300)))
    assert kinds_of(outcomes) == ["clear"]


def test_composite_needs_both_within_the_window() -> None:
    params = {
        "key_a": "smoke",
        "line_a": 0.5,
        "direction_a": "above",
        "key_b": "temp_c",
        "line_b": 57.0,
        "direction_b": "above",
        "window_s": 60,
    }
    _, apart = run(
        "composite", params, [("smoke", True, 0), ("temp_c", 20.0, 30), ("temp_c", 60.0, 200)]
    )
    assert apart == []
    _, outcomes = run(
        "composite",
        params,
        [("temp_c", 60.0, 0), ("smoke", False, 5), ("smoke", True, 30), ("smoke", False, 90)],
    )
    assert kinds_of(outcomes) == ["fire", "clear"]
    _, outcomes = run(
        "composite", params, [("smoke", True, 0), ("smoke", True, 250), ("temp_c", 60.0, 300)]
    )
    assert kinds_of(outcomes) == ["fire"]  # A's newest reading past its line is within reach


def test_composite_does_not_fire_when_the_sides_are_far_apart() -> None:
    params = {
        "key_a": "smoke",
        "line_a": 0.5,
        "direction_a": "above",
        "key_b": "temp_c",
        "line_b": 57.0,
        "direction_b": "above",
        "window_s": 60,
    }
    _, outcomes = run("composite", params, [("smoke", True, 0), ("temp_c", 60.0, 300)])
    assert outcomes == []


def test_geofence_leave_and_return() -> None:
    square = [[121.0, 31.0], [121.1, 31.0], [121.1, 31.1], [121.0, 31.1], [121.0, 31.0]]
    params = {"lon_key": "lon", "lat_key": "lat", "polygon": square, "mode": "leave"}
    samples = [("lon", 121.05, 0), ("lat", 31.05, 0), ("lon", 121.2, 10), ("lat", 31.05, 10)]
    samples += [("lat", 31.05, 10), ("lon", 121.05, 20), ("lat", 31.06, 20)]
    _, outcomes = run("geofence", params, samples)
    assert kinds_of(outcomes) == ["fire", "clear"]


@pytest.mark.parametrize("scenario", BASE_SCENARIOS, ids=lambda s: s.code)
def test_every_base_scenario_has_valid_defaults(scenario: Any) -> None:
    params = check_spec(scenario.kind, scenario.params)
    assert KINDS[scenario.kind].start(params, T0) is not None
    assert scenario.synthetic or scenario.source or not scenario.opens_case
