"""The sliding window: in this process, and in Redis shared by every worker."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import pytest

from cityops.config import Settings
from cityops.kit.ratelimit import (
    RedisWindow,
    SlidingWindow,
    redis_client,
    shared_salt,
    window_for,
)
from tests.real_server import unavailable


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


# --- shared by every worker: Redis at 127.0.0.1:6379 -------------------------------------------

REDIS_URL = os.environ.get("CITYOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable() -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.fixture
def redis_name() -> str:
    """A key prefix of this test's own; Redis is required under CI=true."""
    if not _redis_reachable():
        unavailable(f"no Redis at {REDIS_URL}")
    return f"test:rl:{uuid.uuid4().hex}"


def test_two_workers_share_one_count_in_redis(redis_name: str) -> None:
    clock = Clock()

    async def work() -> tuple[float, float, float, float, float]:
        a, b = redis_client(REDIS_URL), redis_client(REDIS_URL)  # two workers' own clients
        try:
            first = RedisWindow(a, redis_name, 3, 60, clock=clock)
            second = RedisWindow(b, redis_name, 3, 60, clock=clock)
            await first.count("ip-1")
            clock.now += 10
            await second.count("ip-1")
            before_limit = await first.wait("ip-1")
            await first.count("ip-1")
            at_limit = await second.wait("ip-1")  # the third hit was the other worker's
            other_key = await second.wait("ip-2")
            clock.now += 50  # the first hit (at 1000) leaves the window at 1060
            slid = await first.wait("ip-1")
            await second.count("ip-1")
            full_again = await first.wait("ip-1")  # hits at 1010, 1010, 1060
            return before_limit, at_limit, other_key, slid, full_again
        finally:
            await a.delete(*[k async for k in a.scan_iter(f"{redis_name}:*")])
            await a.aclose()
            await b.aclose()

    assert asyncio.run(work()) == (0.0, 50.0, 0.0, 0.0, 10.0)


def test_workers_share_the_salt_of_hashed_keys(redis_name: str) -> None:
    async def work() -> tuple[bytes, bytes, bytes]:
        a, b = redis_client(REDIS_URL), redis_client(REDIS_URL)
        try:
            salt_a = await shared_salt(a, redis_name)
            salt_b = await shared_salt(b, redis_name)
            return salt_a, salt_b, await shared_salt(None, redis_name)
        finally:
            await a.delete(redis_name)
            await a.aclose()
            await b.aclose()

    salt_a, salt_b, alone = asyncio.run(work())
    assert salt_a == salt_b and len(salt_a) == 32
    assert alone != salt_a  # without Redis each process draws its own


def test_the_settings_choose_the_window() -> None:
    local = window_for(Settings(redis_url=None), None, "x", 2, 60)
    assert isinstance(local, SlidingWindow)
    client = redis_client(REDIS_URL)  # not connected until used
    shared = window_for(Settings(redis_url=REDIS_URL), client, "x", 2, 60)
    assert isinstance(shared, RedisWindow) and shared.name == "cityops:rl:x"
