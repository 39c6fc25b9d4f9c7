"""The Dask runner: results in order, shared objects kept few, lost shared data scattered again."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from distributed import Client, LocalCluster

from soundsync_core.services import dask_runner
from soundsync_core.services.dask_runner import DaskRunner


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                           dashboard_address=None, silence_logs=logging.CRITICAL)
    with Client(cluster) as made:
        yield made
    cluster.close()


def _scaled(factor: int, offset: int, value: int) -> int:
    return factor * value + offset


def test_results_come_in_the_items_order(client: Client) -> None:
    runner = DaskRunner(client)
    assert list(runner.map(_scaled, (3, 1), ((v,) for v in range(50)))) == [3 * v + 1 for v in range(50)]


def test_only_the_most_recently_used_shared_objects_are_kept(client: Client) -> None:
    runner = DaskRunner(client)
    factor = 2
    for offset in range(1000, 1000 + dask_runner.SHARED_KEPT + 3):
        assert list(runner.map(_scaled, (factor, offset), [(1,)])) == [2 + offset]
    assert len(runner._shared) == dask_runner.SHARED_KEPT
    assert factor in [obj for obj, _ in runner._shared.values()]  # used by every map: kept


def test_shared_data_lost_on_the_cluster_is_scattered_again(client: Client) -> None:
    runner = DaskRunner(client)
    factor = 7
    assert list(runner.map(_scaled, (factor, 0), [(1,)])) == [7]
    # What a dead worker holding the last copy does: the scheduler forgets the data, and the
    # tasks that need it are cancelled.
    for _, future in runner._shared.values():
        client.cancel(future)
    assert list(runner.map(_scaled, (factor, 0), ((v,) for v in range(10)))) == [7 * v for v in range(10)]


def _sum(*values: int) -> int:
    return sum(values)


def test_a_map_sharing_more_objects_than_are_kept_keeps_them_all_meanwhile(client: Client) -> None:
    runner = DaskRunner(client)
    shared = tuple(range(2000, 2000 + dask_runner.SHARED_KEPT + 2))
    assert list(runner.map(_sum, shared, ((v,) for v in range(5)))) == [sum(shared) + v for v in range(5)]
