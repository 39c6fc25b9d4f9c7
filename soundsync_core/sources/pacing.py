"""Pacing for the small JSON clients (Last.fm, ListenBrainz): a per-client request spacer
that never blocks the event loop, and the User-Agent they send.

A :class:`Pacer` spaces requests ``min_interval`` apart (``asyncio.sleep``, so other coroutines
run meanwhile) and can be *held* when the service says to stop for a while (ListenBrainz's
``X-RateLimit-Reset-In``, Last.fm error 29). A short hold is waited out; a hold longer than
``max_wait`` raises ``limited`` (a :class:`SourceRateLimited`) at once, so a refresh moves on to other members
instead of parking a coroutine for minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from importlib import metadata

from soundsync_core.sources.base import SourceRateLimited

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Limited = Callable[[float], SourceRateLimited]


def user_agent(contact: str) -> str:
    """``SoundSync/<version> ( <contact> )``: the form ListenBrainz asks of every client."""
    try:
        version = metadata.version("soundsync")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"SoundSync/{version} ( {contact} )"


class Pacer:
    """Spaces one client's requests and honours the service's "stop for N seconds"."""

    def __init__(
        self,
        min_interval: float,
        *,
        limited: Limited = SourceRateLimited,
        max_wait: float = 10.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._limited = limited
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._held_until = 0.0
        self._lock = asyncio.Lock()

    def hold(self, seconds: float) -> None:
        """No request before ``seconds`` from now (a later hold never shortens an earlier one)."""
        self._held_until = max(self._held_until, self._clock() + max(0.0, seconds))

    def held_for(self) -> float:
        """Seconds left on the current hold (0 when none)."""
        return max(0.0, self._held_until - self._clock())

    async def wait(self) -> None:
        """Wait for this request's turn; :class:`SourceRateLimited` if that is too far off."""
        async with self._lock:
            now = self._clock()
            held = self._held_until - now
            if held > self.max_wait:
                raise self._limited(held)
            start = max(self._next, self._held_until, now)
            if start > now:
                await self._sleep(start - now)
            self._next = start + self.min_interval
