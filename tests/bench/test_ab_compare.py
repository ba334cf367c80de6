"""The verdict of the A/B benchmark (bench/bench_ab.py): order of the rounds, medians, 5 % rule."""

from __future__ import annotations

import pytest
from bench.ab_compare import compare, run_order


def test_each_round_runs_both_sides_and_neither_always_goes_first() -> None:
    assert run_order(3) == ["base", "new", "new", "base", "base", "new"]
    assert run_order(4).count("base") == 4


def test_the_medians_are_compared_not_the_best_rounds() -> None:
    found = compare([100.0, 300.0, 110.0], [104.0, 108.0, 500.0])
    assert (found.base_median, found.new_median) == (110.0, 108.0)
    assert found.ratio == pytest.approx(108 / 110)


@pytest.mark.parametrize(
    ("new", "acceptable"),
    [
        ([95.0, 95.0, 95.0], True),  # exactly 5 % slower
        ([94.9, 94.9, 94.9], False),  # just past it
        ([104.0, 96.0, 100.0], True),  # within
        ([150.0, 150.0, 150.0], True),  # faster by any margin
    ],
)
def test_new_may_be_at_most_five_percent_slower(new: list[float], acceptable: bool) -> None:
    assert compare([100.0, 100.0, 100.0], new).acceptable is acceptable


def test_the_summary_says_which_way_and_how_far() -> None:
    line = compare([200.0], [180.0]).summary("create")
    assert "new/base 0.900 (-10.0 %)" in line
    assert "NEW SLOWER by more than 5%" in line


@pytest.mark.parametrize(
    ("base", "new"),
    [([], []), ([100.0, 100.0], [100.0]), ([100.0], [0.0])],
)
def test_rounds_that_cannot_be_compared_are_refused(base: list[float], new: list[float]) -> None:
    with pytest.raises(ValueError):
        compare(base, new)
