"""Items of a CPU-bound iterator made in an executor thread, a few ahead of an async consumer.

A recluster's match chunks are made (matching, reasons, encoding) while PostgreSQL ingests the
previous ones. With only the next chunk made ahead, each side waited for the other whenever one
chunk took longer to make than to ingest, or the reverse: at 100k members the two cores were
30–45 % idle for five seconds of the matching. A few chunks of slack keep both going.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from typing import TypeVar

T = TypeVar("T")
_END = object()


async def made_ahead(items: Iterator[T], depth: int, executor: Executor | None) -> AsyncIterator[T]:
    """``items`` in order, each made in ``executor`` while at most ``depth`` wait unconsumed.

    An error of ``items`` is raised here when its turn comes. When the consumer stops early
    (closing this generator), the thread stops after the item it is making; ``items`` is left
    for the caller to close.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[object, BaseException | None]] = asyncio.Queue()
    room = threading.Semaphore(depth)
    stop = threading.Event()

    def hand_over(item: object, error: BaseException | None = None) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (item, error))

    def produce() -> None:
        try:
            while room.acquire() and not stop.is_set():
                item = next(items, _END)
                hand_over(item)
                if item is _END:
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            hand_over(_END, exc)

    producing = loop.run_in_executor(executor, produce)
    try:
        while True:
            item, error = await queue.get()
            if error is not None:
                raise error
            if item is _END:
                return
            room.release()
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        room.release()
        await asyncio.shield(producing)
