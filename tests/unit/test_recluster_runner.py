"""The composition root's local Dask cluster: threads of this process, or processes that keep
freed memory for the next block."""

from __future__ import annotations

import os

from soundsync_cli.bootstrap import WORKER_MALLOC, recluster_runner
from soundsync_core.services.dask_runner import DaskRunner
from soundsync_core.settings import Settings
from soundsync_core.taste.blocks import IN_PROCESS


def _environ(names: list[str]) -> dict[str, str | None]:
    return {name: os.environ.get(name) for name in names}


def test_local_workers_get_the_allocator_settings_and_one_blas_thread(monkeypatch) -> None:
    # As in a fresh process: a nanny copies its settings into the environment of the process it
    # runs in (an earlier test's cluster may have), and a value found there wins over the config.
    for name in WORKER_MALLOC:
        monkeypatch.delenv(name, raising=False)
    names = [*WORKER_MALLOC, "OPENBLAS_NUM_THREADS"]
    settings = Settings(dask_scheduler_address=None, dask_worker_processes=True)
    with recluster_runner(settings, workers=1) as runner:
        assert isinstance(runner, DaskRunner)
        [seen] = list(runner.map(_environ, (), [(names,)]))
    assert seen == {**WORKER_MALLOC, "OPENBLAS_NUM_THREADS": "1"}


def test_no_workers_runs_in_this_process() -> None:
    with recluster_runner(Settings(dask_scheduler_address=None), workers=0) as runner:
        assert runner is IN_PROCESS


def test_local_workers_are_threads_of_this_process_by_default() -> None:
    with recluster_runner(Settings(dask_scheduler_address=None), workers=2) as runner:
        assert isinstance(runner, DaskRunner)
        assert runner.workers == 2
        assert set(runner.map(os.getpid, (), [(), (), ()])) == {os.getpid()}
