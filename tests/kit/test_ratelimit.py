"""The in-process sliding window."""

from __future__ import annotations

from cityops.kit.ratelimit import SlidingWindow


class Clock:
    """A clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_limit_hits_per_window_and_slides() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60, clock=clock)
    assert window.retry_after("a") == 0
    window.hit("a")
    clock.now += 10
    window.hit("a")
    assert window.retry_after("a") == 50  # the first hit leaves the window at 1060
    assert window.retry_after("b") == 0  # keys are counted apart
    clock.now += 50
    assert window.retry_after("a") == 0
    window.hit("a")
    assert window.retry_after("a") == 10


def test_old_keys_are_forgotten_beyond_max_keys() -> None:
    clock = Clock()
    window = SlidingWindow(1, 60, clock=clock, max_keys=3)
    for key in "abcd":
        window.hit(key)
    assert window.retry_after("a") == 0  # evicted
    assert window.retry_after("d") == 60
