"""`make bench` fails when any benchmark misses a goal or cannot run (bench/run_all.py)."""

from __future__ import annotations

from bench.run_all import verdict


def test_all_goals_met_is_success() -> None:
    assert verdict({"bench_crs.py": 0, "bench_tiles.py": 0}) == (0, [])


def test_a_missed_goal_fails_the_run() -> None:
    status, lines = verdict({"bench_crs.py": 0, "bench_geocode.py": 1})
    assert status == 1
    assert lines == ["  bench_geocode.py: exit 1 (a goal missed)"]


def test_a_benchmark_that_could_not_run_outranks_a_missed_goal() -> None:
    status, lines = verdict({"bench_lookup.py": 2, "bench_tiles.py": 1})
    assert status == 2
    assert "  bench_lookup.py: exit 2 (could not run)" in lines


def test_a_benchmark_killed_by_a_signal_fails_the_run() -> None:
    assert verdict({"bench_cases.py": -9})[0] == 1
