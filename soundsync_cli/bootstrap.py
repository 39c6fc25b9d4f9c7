"""The composition root: every SoundSync process's object graph is built here and only here.

``soundsync bot``, ``web``, ``run``, the sandbox and the benches all start what they need
through these functions: the pool, the token vault, the listening sources
(the one registry that names them), the Spotify gateway and its worker processes, the bot,
the web app and the scheduler with its weekly refresh. Nothing below this package builds
any of them; bot/ and web/ receive what they use.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import multiprocessing
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp
import asyncpg
import dask
import discord
import yarl
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from distributed import Client, LocalCluster

from bot.bot import ShardingRequiredError, SoundSyncBot
from bot.dm_sender import DiscordDMSender
from soundsync_cli.errors import CommandError
from soundsync_cli.runtime import WEB_GC_THRESHOLDS, tune_gc_for_serving
from soundsync_core.repositories.artist_catalogue import ArtistTagsTable
from soundsync_core.security.vault import TokenVault
from soundsync_core.services.dask_runner import DaskRunner
from soundsync_core.services.export_import import SPOTIFY_EXPORT
from soundsync_core.services.importer import PROFILE_IMPORT
from soundsync_core.services.ingestion import refresh_stale_profiles
from soundsync_core.services.scheduler import WeeklyJobs, start_scheduler
from soundsync_core.services.source_linking import LastfmLinking
from soundsync_core.settings import Settings
from soundsync_core.sources.base import SourceRegistry
from soundsync_core.sources.lastfm import LastfmSource
from soundsync_core.sources.lastfm_client import LastfmClient
from soundsync_core.sources.listenbrainz import ListenBrainzSource
from soundsync_core.sources.listenbrainz_client import ListenBrainzClient
from soundsync_core.sources.pacing import user_agent
from soundsync_core.sources.spotify_gateway import SpotifyGateway, warm_worker, worker_initializer
from soundsync_core.sources.spotify_source import SpotifySource
from soundsync_core.taste.blocks import IN_PROCESS, BlockRunner
from web.app import PathOnlyAccessLogger, create_app

log = logging.getLogger(__name__)
# Platforms route $PORT from outside the container: listen on every interface by default.
DEFAULT_HOST = "0.0.0.0"  # noqa: S104


# --- checks that must come before anything slow starts --------------------------------------


def check_port_free(host: str, port: int) -> None:
    """Refuse, in one line, a port another program holds — before the database or workers start."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(f"port {port} on {host} is already in use: stop the other "
                                   "program or set PORT") from None
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


# --- the Spotify gateway and the listening sources -------------------------------------------


@contextlib.contextmanager
def spotify_gateway(settings: Settings) -> Iterator[SpotifyGateway]:
    """The gateway, with Spotify calls in ``SPOTIFY_WORKERS`` processes (0: threads).

    spotipy's request and JSON work allocates heavily; in threads it holds the GIL and its
    garbage triggers collections that pause the event loop (``soundsync bench link``). In worker
    processes neither touches the loop. The workers are started (and import spotipy) before
    the server takes requests, and are shut down on exit.
    """
    if settings.spotify_workers == 0:
        yield SpotifyGateway(settings)
        return
    workers = ProcessPoolExecutor(
        settings.spotify_workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=worker_initializer,
    )
    try:
        _start_workers(workers, settings.spotify_workers)
        yield SpotifyGateway(settings, executor=workers)
    finally:
        workers.shutdown(wait=True, cancel_futures=True)


def _start_workers(workers: Executor, count: int) -> None:
    wait([workers.submit(warm_worker) for _ in range(count)])


@contextlib.contextmanager
def recluster_runner(settings: Settings, workers: int | None = None) -> Iterator[BlockRunner]:
    """Where one recluster's heavy blocks run: the cluster at ``DASK_SCHEDULER_ADDRESS``, else
    a local cluster of ``workers`` (default ``DASK_WORKERS``) threads of this process (processes
    with ``DASK_WORKER_PROCESSES``), else (0) this process, one block after the other.

    A local cluster lives for one recluster only: the bot does not keep idle workers all week.
    """
    if settings.dask_scheduler_address:
        with _client(settings.dask_scheduler_address) as runner:
            yield runner
        return
    count = settings.dask_workers if workers is None else workers
    if count == 0:
        yield IN_PROCESS
        return
    if not settings.dask_worker_processes:
        # The blocks' loops let go of the interpreter (numba, scipy, numpy), so threads use every
        # core; they share this process's copy of the run's vectors and start at once. At 100k
        # members on 2 cores the matching took 8.2 s on 2 worker processes, 5.8 s on 2 threads.
        # No memory limit: the worker would measure (and pause for) the whole SoundSync process.
        with (
            LocalCluster(n_workers=1, threads_per_worker=count, processes=False, memory_limit=0,
                         dashboard_address=None, silence_logs=logging.WARNING) as cluster,
            _client(cluster) as runner,
        ):
            yield runner
        return
    # One thread per worker process (BLAS too: the nanny sets OMP_NUM_THREADS=1), no dashboard
    # (its port could clash with another process on the machine), and glibc's allocator told to
    # keep the memory a block frees for the next block (WORKER_MALLOC). The nanny sets these in
    # the environment the workers are spawned with; a value already in this process's
    # environment wins (an operator's own setting, or what an earlier cluster left there).
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ"), **WORKER_MALLOC}
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                     dashboard_address=None, silence_logs=logging.WARNING) as cluster,
        _client(cluster) as runner,
    ):
        yield runner


# Every block allocates and frees arrays of tens of MB. The nanny's default (trim the heap above
# 64 KB) and glibc's (mmap anything above 32 MB) hand them back to the kernel each time, and the
# next block faults them in again: at 100,000 members the exact blocks of the small guilds took
# 5.0 s on 2 workers with the defaults and 3.4 s with these (the same blocks in one process: 3.4 s).
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": str(4 << 30), "MALLOC_MMAP_THRESHOLD_": str(4 << 30),
                 "MALLOC_TOP_PAD_": str(256 << 20)}


@contextlib.contextmanager
def _client(address: str | LocalCluster) -> Iterator[DaskRunner]:
    # Not `with Client(…)`: that sets a context variable, and the recluster opens and closes
    # its runner in different executor threads.
    client = Client(address, set_as_default=False)
    try:
        yield DaskRunner(client)
    finally:
        client.close()


def build_sources(
    pool: asyncpg.Pool, gateway: SpotifyGateway | None, settings: Settings | None = None,
    http: aiohttp.ClientSession | None = None,
) -> SourceRegistry:
    """Every listening source this process knows: one line each (Last.fm and ListenBrainz
    need the settings and the process's HTTP session)."""
    sources = SourceRegistry([SPOTIFY_EXPORT, PROFILE_IMPORT])
    if gateway is not None:
        sources.add(SpotifySource(pool, gateway))
    else:
        sources.add_missing("Spotify", "SPOTIFY_CLIENT_ID")
    if settings is None or http is None:
        return sources
    # Last.fm and ListenBrainz ask clients for a contact: the bot's public page.
    agent = user_agent(str(settings.public_base_url).rstrip("/"))
    if settings.lastfm_api_key and settings.lastfm_api_secret:
        sources.add(LastfmSource(LastfmClient(
            http, api_url=str(settings.lastfm_api_url),
            api_key=settings.lastfm_api_key.get_secret_value(),
            api_secret=settings.lastfm_api_secret.get_secret_value(), user_agent=agent,
        ), ArtistTagsTable(pool)))
    else:
        sources.add_missing("Last.fm", "LASTFM_API_KEY and LASTFM_API_SECRET")
    sources.add(ListenBrainzSource(ListenBrainzClient(
        http, api_url=str(settings.listenbrainz_api_url), user_agent=agent)))
    return sources


def lastfm_linking(
    settings: Settings, pool: asyncpg.Pool, sources: SourceRegistry
) -> LastfmLinking | None:
    """The Last.fm web-auth link the web app serves, when Last.fm is among the sources."""
    vault = vault_of(settings)
    if "lastfm" not in sources or vault is None:
        return None
    source = sources.get("lastfm")
    assert isinstance(source, LastfmSource)
    return LastfmLinking(settings, pool, vault, source)


def log_sources(sources: SourceRegistry) -> None:
    """Say at start which sources are on, and why the others are off."""
    log.info("listening sources: %s", ", ".join(s.label for s in sources))
    for label, missing in sources.missing.items():
        log.info("%s is off: %s not set", label, missing)


def vault_of(settings: Settings) -> TokenVault | None:
    """The token vault, or None when ``SOUNDSYNC_SECRET_KEY`` is unset (nothing is stored then)."""
    key = settings.soundsync_secret_key
    return TokenVault(key) if key else None


# --- the web app -----------------------------------------------------------------------------


async def listen(app: web.Application, host: str, port: int, **options: Any) -> web.AppRunner:
    """Serve ``app`` on ``host:port`` (0: a free port); the caller cleans the runner up."""
    runner = web.AppRunner(app, **options)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    log.info("web listening on %s:%d", *runner.addresses[0][:2])
    return runner


async def start_web(
    settings: Settings, pool: asyncpg.Pool, gateway: SpotifyGateway, host: str, port: int,
    *, sources: SourceRegistry | None = None, **options: Any,
) -> web.AppRunner:
    """The web app as every command serves it (access log without query strings by default);
    ``sources`` gives it the Last.fm link when Last.fm is among them."""
    options.setdefault("access_log_class", PathOnlyAccessLogger)
    lastfm = lastfm_linking(settings, pool, sources) if sources is not None else None
    return await listen(create_app(settings, pool, gateway=gateway, lastfm=lastfm), host, port,
                        **options)


async def serve_web_on_free_port(
    settings: Settings, pool: asyncpg.Pool
) -> tuple[str, Callable[[], Awaitable[None]]]:
    """The web app as ``soundsync web`` runs it (Spotify workers, GC tuning), on a free port.

    Returns its base URL and the coroutine function that stops it and its workers.
    """
    with contextlib.ExitStack() as stack:
        gateway = stack.enter_context(spotify_gateway(settings))
        runner = await start_web(settings, pool, gateway, "127.0.0.1", 0, access_log=None)
        workers = stack.pop_all()
    tune_gc_for_serving(WEB_GC_THRESHOLDS)
    host, port = runner.addresses[0][:2]

    async def stop() -> None:
        await runner.cleanup()
        workers.close()

    return f"http://{host}:{port}", stop


# --- the bot and the scheduler ---------------------------------------------------------------


def point_discord_py_at(settings: Settings) -> None:
    """Every external URL is a setting: discord.py's REST base and gateway are process-wide."""
    discord.http.Route.BASE = str(settings.discord_api_url).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


@dataclass
class Running:
    """What a serving process built, for the sandbox and the tests to drive."""

    bot: SoundSyncBot
    sources: SourceRegistry
    jobs: WeeklyJobs
    scheduler: AsyncIOScheduler


def weekly_jobs(
    pool: asyncpg.Pool, settings: Settings, bot: SoundSyncBot, sources: SourceRegistry,
    vault: TokenVault | None,
) -> WeeklyJobs:
    """The scheduled work: the refresh of every refreshable source, then the recluster; digests."""
    refresh = None
    if vault is None:
        log.warning("SOUNDSYNC_SECRET_KEY is unset: stored logins cannot be read, so the weekly "
                    "refresh fetches nothing (reclusters still run)")
    elif sources.refreshed():
        refresh = partial(refresh_stale_profiles, pool, sources, vault)
    return WeeklyJobs(pool, settings, DiscordDMSender(bot), refresh=refresh,
                      runner=partial(recluster_runner, settings))


def build_bot(settings: Settings, pool: asyncpg.Pool, **options: Any) -> SoundSyncBot:
    """The bot, running the shards the settings name (unset: Discord's recommended count)."""
    shard_ids = list(settings.shard_ids) if settings.shard_ids is not None else None
    return SoundSyncBot(pool=pool, settings=settings, vault=vault_of(settings),
                        shard_count=settings.shard_count, shard_ids=shard_ids,
                        recluster_runner=partial(recluster_runner, settings), **options)


async def sync_commands(settings: Settings, pool: asyncpg.Pool) -> None:
    """Send the slash commands to Discord now, over REST only (no gateway connection)."""
    assert settings.discord_token is not None  # checked by the command
    point_discord_py_at(settings)
    async with build_bot(settings, pool, force_command_sync=True) as bot:
        await bot.login(settings.discord_token.get_secret_value())


async def serve(
    settings: Settings, pool: asyncpg.Pool, *, with_web: bool, host: str = DEFAULT_HOST
) -> AsyncIterator[Running]:
    """Start the bot (and the web app), then the scheduler; yields once everything is up."""
    assert settings.discord_token is not None  # checked by the commands
    point_discord_py_at(settings)
    vault = vault_of(settings)
    async with contextlib.AsyncExitStack() as stack:
        # Spotify needs its app credentials; without them the bot serves the other sources.
        gateway = (stack.enter_context(spotify_gateway(settings))
                   if settings.spotify_client_id else None)
        # One HTTP session for the Last.fm and ListenBrainz clients, closed on the way out.
        http = await stack.enter_async_context(aiohttp.ClientSession())
        sources = build_sources(pool, gateway, settings, http)
        log_sources(sources)
        bot = build_bot(settings, pool, sources=sources)
        await stack.enter_async_context(bot)
        task = asyncio.create_task(_run_bot(bot, settings.discord_token.get_secret_value()))
        stack.push_async_callback(_stop_bot, bot, task)
        await _ready(bot, task)
        if with_web:
            if gateway is None:
                settings.require("spotify_client_id")
            runner = await start_web(settings, pool, gateway, host, settings.port, sources=sources)
            stack.push_async_callback(runner.cleanup)
        jobs = weekly_jobs(pool, settings, bot, sources, vault)
        scheduler = await start_scheduler(jobs, settings)
        stack.push_async_callback(jobs.stop, scheduler)
        log.info("SoundSync is up (%s)", "bot + web + scheduler" if with_web else "bot + scheduler")
        tune_gc_for_serving()
        yield Running(bot, sources, jobs, scheduler)


async def _run_bot(bot: SoundSyncBot, token: str) -> None:
    try:
        await bot.start(token)
    except ShardingRequiredError as exc:
        raise CommandError(str(exc)) from None


async def _ready(bot: SoundSyncBot, task: asyncio.Task[None]) -> None:
    ready = asyncio.ensure_future(bot.wait_until_ready())
    await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # re-raise why the bot stopped (bad token, Discord unreachable)
        raise RuntimeError("the bot stopped before it was ready")


async def _stop_bot(bot: SoundSyncBot, task: asyncio.Task[None]) -> None:
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task
