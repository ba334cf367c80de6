"""The arithmetic of an A/B benchmark (bench_ab.py): run order, medians, ratio and verdict.

Kept free of I/O and of the other bench modules so tests can import it as `bench.ab_compare`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: The new code may be at most this much slower than the base (median against median).
TOLERANCE = 0.05
SIDES = ("base", "new")


def run_order(rounds: int) -> list[str]:
    """The sides in the order they run, one of each per round, the pair swapped every round.

    base new | new base | base new …: each side runs first as often as the other (±1), so
    neither always inherits what the other left behind (PostgreSQL's background work, a warm
    or cold machine).
    """
    if rounds < 1:
        raise ValueError("at least one round")
    return [side for n in range(rounds) for side in (SIDES if n % 2 == 0 else SIDES[::-1])]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Throughput of the base and the new code over the same alternating rounds."""

    base_median: float
    new_median: float
    tolerance: float

    @property
    def ratio(self) -> float:
        """New over base: above 1 the new code is faster."""
        return self.new_median / self.base_median

    @property
    def acceptable(self) -> bool:
        """Within the tolerance of the base, or faster."""
        return self.ratio >= 1.0 - self.tolerance

    def summary(self, label: str) -> str:
        """One line: both medians, the ratio and the verdict."""
        change = (self.ratio - 1.0) * 100.0
        verdict = "ok" if self.acceptable else f"NEW SLOWER by more than {self.tolerance:.0%}"
        return (
            f"{label}: median base {self.base_median:,.1f}, new {self.new_median:,.1f} req/s; "
            f"new/base {self.ratio:.3f} ({change:+.1f} %): {verdict}"
        )


def compare(
    base: Sequence[float], new: Sequence[float], tolerance: float = TOLERANCE
) -> Comparison:
    """Compare the medians of the rounds of each side (requests per second)."""
    if not base or len(base) != len(new):
        raise ValueError("each side needs the same number of rounds, at least one")
    if min(*base, *new) <= 0:
        raise ValueError("a round measured no throughput")
    if not 0 <= tolerance < 1:
        raise ValueError("tolerance is a fraction in [0, 1)")
    return Comparison(statistics.median(base), statistics.median(new), tolerance)
