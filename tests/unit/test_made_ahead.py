"""``made_ahead``: an iterator's items made in a thread, a bounded number ahead of the consumer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import aclosing

import pytest

from soundsync_core.services.ahead import made_ahead


class _Items:
    """0, 1, … ``n - 1``, recording how many were made when each was consumed."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.made = 0
        self.thread: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        for i in range(self.n):
            if i == self.fail_at:
                raise ValueError(f"item {i} failed")
            self.thread.add(threading.current_thread().name)
            self.made += 1
            yield i


async def test_items_come_in_order_made_at_most_depth_ahead_in_another_thread() -> None:
    items = _Items(20)
    seen, ahead = [], []
    async for item in made_ahead(iter(items), 3, None):
        await asyncio.sleep(0.01)  # a slow consumer: the thread runs as far ahead as it may
        seen.append(item)
        ahead.append(items.made - len(seen))
    assert seen == list(range(20))
    assert max(ahead) == 3
    assert threading.current_thread().name not in items.thread


async def test_an_error_of_the_items_is_raised_in_its_turn() -> None:
    seen: list[int] = []

    async def consume() -> None:
        async for item in made_ahead(iter(_Items(10, fail_at=4)), 2, None):
            seen.append(item)

    with pytest.raises(ValueError, match="item 4 failed"):
        await consume()
    assert seen == [0, 1, 2, 3]


async def test_a_consumer_that_stops_early_stops_the_thread() -> None:
    items = _Items(1000)
    async with aclosing(made_ahead(iter(items), 2, None)) as made:
        async for item in made:
            if item == 5:
                break
    made_when_closed = items.made
    await asyncio.sleep(0.05)
    assert items.made == made_when_closed <= 5 + 1 + 2 + 1
