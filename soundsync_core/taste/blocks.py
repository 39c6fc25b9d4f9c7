"""Where a recluster's heavy blocks run: in this process, or as tasks on a Dask cluster.

The heavy stages (exact scores and top-k of candidate blocks, packed reasons) are pure functions
of a few large shared objects (the run's vectors, who is hidden) and one small item per block.
A :class:`BlockRunner` applies such a function to every item; the Dask runner
(:mod:`soundsync_core.services.dask_runner`) sends each shared object to its workers once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class BlockRunner(Protocol):
    """Applies a pure function to blocks, wherever it runs them."""

    def map(
        self, function: Callable[..., Any], shared: tuple[Any, ...], items: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        """``function(*shared, *item)`` for every item, yielded in the items' order."""
        ...


class InProcess:
    """Runs every block here, one after the other (tests, small communities, ``DASK_WORKERS=0``)."""

    def map(
        self, function: Callable[..., Any], shared: tuple[Any, ...], items: Iterable[tuple[Any, ...]]
    ) -> Iterator[Any]:
        """``function(*shared, *item)`` for every item, lazily."""
        for item in items:
            yield function(*shared, *item)


IN_PROCESS = InProcess()
