"""The recluster's heavy blocks as tasks on a Dask cluster (see :mod:`soundsync_core.taste.blocks`).

The composition root makes the cluster — a ``LocalCluster`` of worker processes on this machine,
or a client of an existing cluster (``DASK_SCHEDULER_ADDRESS``) — and hands a :class:`DaskRunner`
to the recluster. Each shared object (the run's vectors, the masks of a scope) is sent to every
worker once; each block is then one small task. Tasks are pure and their results are collected
here in submission order, so the run is identical to the in-process one, and Dask may re-run the
tasks of a worker that died (``distributed.scheduler.allowed-failures`` times, 3 by default)
without any effect on the result. Workers never connect to PostgreSQL: the SoundSync process
writes every row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from distributed import Client, Future

# Tasks in flight per worker thread: enough to keep every worker busy while results are
# collected, few enough that blocks waiting to be collected use little memory.
TASKS_PER_THREAD = 3


class DaskRunner:
    """A :class:`~soundsync_core.taste.blocks.BlockRunner` on a Dask client's cluster."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._shared: dict[int, tuple[Any, Future]] = {}

    @property
    def workers(self) -> int:
        """Worker threads of the cluster right now."""
        return sum(self._client.nthreads().values())

    def map(
        self, function: Callable[..., Any], shared: tuple[Any, ...], items: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        """``function(*shared, *item)`` for every item as a task, yielded in the items' order."""
        shared_futures = [self._share(obj) for obj in shared]
        window = TASKS_PER_THREAD * max(1, self.workers)
        pending: deque[Future] = deque()
        for item in items:
            pending.append(self._client.submit(function, *shared_futures, *item, pure=False))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def _share(self, obj: Any) -> Future:
        # Keyed by identity and holding the object, so the id cannot be reused while cached.
        known = self._shared.get(id(obj))
        if known is None:
            known = (obj, self._client.scatter(obj, broadcast=True, hash=False))
            self._shared[id(obj)] = known
        return known[1]
