"""The recluster's heavy blocks as tasks on a Dask cluster (see :mod:`soundsync_core.taste.blocks`).

The composition root makes the cluster — a ``LocalCluster`` of worker processes on this machine,
or a client of an existing cluster (``DASK_SCHEDULER_ADDRESS``) — and hands a :class:`DaskRunner`
to the recluster. Each shared object (the run's vectors, the masks of a scope) is sent to every
worker once; each block is then one small task. Tasks are pure and their results are collected
here in submission order, so the run is identical to the in-process one, and Dask may re-run the
tasks of a worker that died (``distributed.scheduler.allowed-failures`` times, 3 by default)
without any effect on the result. Workers never connect to PostgreSQL: the SoundSync process
writes every row.

A scattered object cannot be recomputed, and Dask's active memory manager soon drops the extra
copies of a broadcast one (``ReduceReplicas``): a worker that dies may take the last copy with it,
and Dask then cancels the tasks that needed it. The runner then scatters the shared objects
again and resubmits those tasks, up to :data:`RESHARES` times per map.
"""

from __future__ import annotations

from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from distributed import Client, Future
from distributed.client import FutureCancelledError

# Tasks in flight per worker thread: enough to keep every worker busy while results are
# collected, few enough that blocks waiting to be collected use little memory.
TASKS_PER_THREAD = 3
# Shared objects kept on the workers: the run's vectors are used by every scope, each scope's
# index and masks by that scope only, so the least recently used are released (a recluster of
# thousands of guilds would otherwise keep every guild's index on every worker).
SHARED_KEPT = 4
RESHARES = 3


class DaskRunner:
    """A :class:`~soundsync_core.taste.blocks.BlockRunner` on a Dask client's cluster."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self._shared: OrderedDict[int, tuple[Any, Future]] = OrderedDict()
        # Ids of the objects shared by the maps under way (a run's reasons are made by a map
        # started while the matching's map is suspended between two of its results).
        self._in_use: Counter[int] = Counter()

    @property
    def workers(self) -> int:
        """Worker threads of the cluster right now."""
        return sum(self._client.nthreads().values())

    def map(
        self, function: Callable[..., Any], shared: tuple[Any, ...], items: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        """``function(*shared, *item)`` for every item as a task, yielded in the items' order."""
        window = TASKS_PER_THREAD * max(1, self.workers)
        self._in_use.update(id(obj) for obj in shared)
        try:
            yield from self._results(function, shared, iter(items), window)
        finally:
            self._in_use.subtract(id(obj) for obj in shared)
            self._in_use += Counter()  # drops the ids no map uses any more

    def _results(
        self, function: Callable[..., Any], shared: tuple[Any, ...], items: Iterator[tuple[Any, ...]],
        window: int,
    ) -> Iterator[Any]:
        pending: deque[tuple[tuple[Any, ...], Future]] = deque()
        shared_futures = [self._share(obj) for obj in shared]
        reshares = 0
        while True:
            while len(pending) < window and (item := next(items, None)) is not None:
                pending.append((item, self._client.submit(function, *shared_futures, *item, pure=False)))
            if not pending:
                return
            _, future = pending[0]
            try:
                result = future.result()
            except FutureCancelledError:
                if reshares == RESHARES:
                    raise
                reshares += 1
                shared_futures = [self._share(obj, again=True) for obj in shared]
                pending = deque((i, self._client.submit(function, *shared_futures, *i, pure=False))
                                for i, _ in pending)
                continue
            pending.popleft()
            yield result

    def _share(self, obj: Any, *, again: bool = False) -> Future:
        # Keyed by identity and holding the object, so the id cannot be reused while cached.
        known = self._shared.get(id(obj))
        if known is None or again:
            known = (obj, self._client.scatter(obj, broadcast=True, hash=False))
            self._shared[id(obj)] = known
            unused = [key for key in self._shared if key not in self._in_use]
            for key in unused[: max(0, len(self._shared) - SHARED_KEPT)]:
                self._shared.pop(key)[1].release()
        self._shared.move_to_end(id(obj))
        return known[1]
