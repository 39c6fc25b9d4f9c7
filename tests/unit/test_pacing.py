"""The request pacer: spacing without blocking, holds waited out or reported."""

from __future__ import annotations

import asyncio

import pytest

from soundsync_core.sources.base import SourceRateLimited
from soundsync_core.sources.pacing import Pacer


class FakeTime:
    """A clock whose sleeps advance it instantly (and are recorded)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_requests_are_spaced_by_the_interval() -> None:
    clock = FakeTime()
    pacer = Pacer(0.2, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await pacer.wait()
    assert clock.slept == [0.2, 0.2]


async def test_concurrent_requests_queue_up() -> None:
    clock = FakeTime()
    pacer = Pacer(1.0, clock=clock, sleep=clock.sleep)
    await asyncio.gather(*(pacer.wait() for _ in range(3)))
    assert clock.slept == [1.0, 1.0]


async def test_a_short_hold_is_waited_out() -> None:
    clock = FakeTime()
    pacer = Pacer(0.0, max_wait=10.0, clock=clock, sleep=clock.sleep)
    pacer.hold(4.0)
    pacer.hold(1.0)  # a later, shorter hold does not shorten the first
    assert pacer.held_for() == 4.0
    await pacer.wait()
    assert clock.slept == [4.0]
    assert pacer.held_for() == 0.0


async def test_a_long_hold_is_reported_at_once() -> None:
    clock = FakeTime()

    class Limited(SourceRateLimited):
        service = "Example"

    pacer = Pacer(0.0, max_wait=10.0, limited=Limited, clock=clock, sleep=clock.sleep)
    pacer.hold(60.0)
    with pytest.raises(Limited) as caught:
        await pacer.wait()
    assert caught.value.retry_after == 60.0
    assert str(caught.value) == "Example rate limited; retry after 60 s"
    assert clock.slept == []
