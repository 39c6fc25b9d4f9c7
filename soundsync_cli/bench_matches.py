"""``soundsync bench matches``: concurrent ``/matches`` through the real bot over the fake Discord.

The bot runs in this process exactly as ``soundsync bot`` runs it (:func:`soundsync_cli.bootstrap.serve` on a
pool of the default size). The fake Discord runs in a child process of its own and takes the
times there — when it sends INTERACTION_CREATE, when the bot's callback and followup reach its
REST routes — so its own work is not charged to the bot's event loop, as with the real Discord.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.bot import SoundSyncBot
from bot.errors import ERROR_EVENT
from soundsync_bench.matches_latency import (
    BENCH_DATABASE,
    Asker,
    MatchesBenchReport,
    Sample,
    dataset_ready,
    format_markdown,
    live_match_rows,
    pick_askers,
    prepare_dataset,
    rounds_of,
)
from soundsync_bench.report import write_section
from soundsync_cli import bootstrap
from soundsync_cli.args import positive
from soundsync_cli.progress import Progress
from soundsync_cli.runtime import configure_logging, database_url, open_connection, open_pool
from soundsync_core.db.databases import side_database
from soundsync_core.settings import Settings

# Generous: a late answer is measured, only a missing one is an error.
ANSWER_TIMEOUT = 10.0
GATEWAY_TIMEOUT = 30.0


def register_matches_bench(benches: argparse._SubParsersAction) -> None:
    """Add ``matches`` to ``soundsync bench``."""
    cmd = benches.add_parser(
        "matches", help="latency of concurrent /matches through the bot against the fake Discord"
    )
    cmd.add_argument("--members", type=positive, default=100_000, help="members in the database (100000)")
    cmd.add_argument("--concurrency", type=positive, default=50, help="/matches at once (50)")
    cmd.add_argument("--rounds", type=positive, default=10, help="measured rounds (10)")
    cmd.add_argument("--reuse", action="store_true",
                     help="keep the bench database when it already holds --members members and a live run")
    cmd.add_argument("--write", type=Path, metavar="BENCHMARKS.md", help="also update this markdown file")
    cmd.set_defaults(handler=run_matches_bench_command)


def run_matches_bench_command(args: argparse.Namespace, settings: Settings) -> int:
    """Prepare (or reuse) the database, run the rounds, print the table, maybe write it."""
    configure_logging(settings)
    with database_url(settings) as server:
        report = asyncio.run(run_matches_bench(
            settings, server, members=args.members, concurrency=args.concurrency,
            rounds=args.rounds, reuse=args.reuse,
        ))
    table = format_markdown(report)
    print(table, end="")
    if args.write is not None:
        title = (f"`/matches` latency (`soundsync bench matches`, {report.members:,} members, "
                 f"{report.concurrency} concurrent)")
        write_section(args.write, "matches", title, table)
        print(f"updated {args.write}", file=sys.stderr)
    return 0 if report.passed else 1


def _say(text: str) -> None:
    print(f"… {text}", file=sys.stderr, flush=True)


async def run_matches_bench(
    settings: Settings, server: str, *, members: int, concurrency: int, rounds: int, reuse: bool
) -> MatchesBenchReport:
    """One warm-up round, then ``rounds`` measured rounds of ``concurrency`` concurrent /matches."""
    url = await _bench_database(settings, server, members, reuse=reuse)
    async with open_pool(settings, url) as pool:
        async with pool.acquire() as conn:
            askers = await pick_askers(conn, concurrency * (rounds + 1))
            report = MatchesBenchReport(members, await live_match_rows(conn), concurrency, rounds,
                                        pool.get_max_size())
        batches = rounds_of(askers, concurrency, rounds + 1)
        async with _fake_discord(askers) as (fake, overrides):
            local = settings.model_copy(update=overrides)
            serving = bootstrap.serve(local, pool, with_web=False)
            running = await anext(serving)
            try:
                report.bot_errors = await _drive(running.bot, fake, batches, report)
            finally:
                await serving.aclose()
    return report


async def _drive(
    bot: SoundSyncBot, fake: Connection, batches: list[list[Asker]], report: MatchesBenchReport
) -> int:
    """Send the rounds to the fake; returns how many errors the bot's handler reported."""
    errors: list[Exception] = []

    async def record(interaction: Any, error: Exception, expected: bool) -> None:
        errors.append(error)

    bot.add_listener(record, f"on_{ERROR_EVENT}")
    cpu = 0.0
    for number, batch in enumerate(batches):
        started = time.process_time()
        samples = await _round(fake, batch)
        if number > 0:  # round 0 warms the pool's prepared statements and the caches
            report.samples.extend(samples)
            cpu += time.process_time() - started
        _say(f"round {number}{' (warm-up)' if number == 0 else ''}: "
             f"{sum(s.error is None for s in samples)}/{len(samples)} answered")
    report.bot_cpu_ms = cpu * 1000 / max(len(report.samples), 1)
    for asker in batches[1 % len(batches)]:
        report.alone.extend(await _round(fake, [asker]))
    return len(errors)


async def _round(fake: Connection, batch: list[Asker]) -> list[Sample]:
    fake.send([(a.user_id, a.guild_id) for a in batch])
    return await asyncio.get_running_loop().run_in_executor(None, fake.recv)


async def _bench_database(settings: Settings, server: str, members: int, *, reuse: bool) -> str:
    if reuse:
        url = await side_database(server, BENCH_DATABASE, fresh=False)
        async with open_connection(settings, url) as conn:
            if await dataset_ready(conn, members):
                _say(f"reusing {BENCH_DATABASE} ({members} members, live run)")
                return url
    url = await side_database(server, BENCH_DATABASE, fresh=True)
    async with open_pool(settings, url) as pool:
        await prepare_dataset(pool, members, say=_say, progress=Progress("recluster"))
    return url


@asynccontextmanager
async def _fake_discord(askers: list[Asker]) -> AsyncIterator[tuple[Connection, dict[str, Any]]]:
    """The fake Discord in a child process; yields the pipe to it and the settings to use it."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    people = [(a.user_id, a.guild_id, a.display_name) for a in askers]
    process = context.Process(target=_serve_fake_discord, args=(theirs, people), daemon=True)
    process.start()
    loop = asyncio.get_running_loop()
    try:
        urls = await loop.run_in_executor(None, ours.recv)
        yield ours, {"discord_api_url": urls["api"], "discord_gateway_url": urls["gateway"],
                     "discord_token": SecretStr(urls["token"])}
    finally:
        ours.send(None)
        await loop.run_in_executor(None, process.join, 10)


def _serve_fake_discord(pipe: Connection, people: list[tuple[int, int, str]]) -> None:
    """Child process: the fake Discord knowing the askers and their guilds, serving rounds."""
    asyncio.run(_fake_main(pipe, people))


async def _fake_main(pipe: Connection, people: list[tuple[int, int, str]]) -> None:
    from soundsync_fakes.discord import FakeDiscord

    async with FakeDiscord() as fake:
        _seed(fake, people)
        pipe.send({"api": fake.api_url, "gateway": fake.gateway_url, "token": fake.bot_token})
        loop = asyncio.get_running_loop()
        while (batch := await loop.run_in_executor(None, pipe.recv)) is not None:
            await fake.wait_gateway_live(GATEWAY_TIMEOUT)
            pipe.send(await asyncio.gather(*(_one_matches(fake, user, guild) for user, guild in batch)))


def _seed(fake: Any, people: list[tuple[int, int, str]]) -> None:
    """Guilds and users with the database's ids (the fake's own factory would invent new ones)."""
    from soundsync_fakes.discord_state import EVERYONE_PERMISSIONS, FakeGuild, FakeRole, FakeUser

    world = fake.world
    for user_id, guild_id, name in people:
        if guild_id not in world.guilds:
            guild = FakeGuild(guild_id, f"Guild {guild_id % 1000}", world.bot.id)
            guild.roles[guild_id] = FakeRole(guild_id, "@everyone", EVERYONE_PERMISSIONS)
            world.guilds[guild_id] = guild
            world.add_member(guild_id, world.bot.id)
            world.add_text_channel(guild_id, "general")
        world.users.setdefault(user_id, FakeUser(user_id, name, global_name=name.title()))
        world.add_member(guild_id, user_id)


async def _one_matches(fake: Any, user_id: int, guild_id: int) -> Sample:
    """Send one /matches and time the callback and the matches message from the send."""
    interaction = await fake.slash_command(user_id, guild_id, "matches")
    try:
        await interaction.response(ANSWER_TIMEOUT)
    except TimeoutError:
        return Sample(None, None, "no interaction callback")
    first = (time.monotonic() - interaction.created) * 1000
    try:
        message = await interaction.next_followup(ANSWER_TIMEOUT)
    except TimeoutError:
        return Sample(first, None, "no followup")
    done = (time.monotonic() - interaction.created) * 1000
    if not message.embeds or not message.embeds[0].get("title", "").endswith("% match"):
        return Sample(first, done, f"not a matches page: {message.content[:80]!r}")
    return Sample(first, done)
