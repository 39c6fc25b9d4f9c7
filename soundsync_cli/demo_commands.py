"""``soundsync demo``: a synthetic community imported, reclustered and matched, end to end.

It needs no Discord or Spotify credentials and writes to its own database (``soundsync_demo``
on the configured or embedded server, recreated on every run), never to the real one.
"""

from __future__ import annotations

import argparse
import asyncio

import asyncpg

from soundsync_cli.errors import UsageError
from soundsync_cli.progress import Progress
from soundsync_cli.render import render_match_table, render_tribes
from soundsync_cli.runtime import configure_logging, database_url, open_pool
from soundsync_core.db.databases import side_database
from soundsync_core.db.urls import mask_url
from soundsync_core.repositories import members
from soundsync_core.services.community_views import guild_tribes
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.matches import matches_for
from soundsync_core.services.recluster import recluster
from soundsync_core.settings import Settings
from soundsync_synthetic import generate_community, jsonl_lines

DEMO_DATABASE = "soundsync_demo"


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("demo", help="import, recluster and match a synthetic community")
    cmd.add_argument("--members", type=int, default=600, help="community size (default 600)")
    cmd.add_argument("--seed", type=int, default=7)
    cmd.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    if args.members < 10:
        raise UsageError("demo: --members must be at least 10")
    with database_url(settings) as server:
        asyncio.run(_demo(settings, server, args.members, args.seed))
    return 0


async def _demo(settings: Settings, server: str, members: int, seed: int) -> None:
    print(f"SoundSync demo: {members} synthetic members, no Discord or Spotify needed.")
    url = await side_database(server, DEMO_DATABASE, fresh=True)
    print(f"database: {mask_url(url)}")
    community = generate_community(members, seed=seed)
    async with open_pool(settings, url) as pool:
        report = await import_profiles(pool, jsonl_lines(community.profiles))
        print(f"1. import-profiles: {report.summary()}")
        summary = await recluster(pool, progress=Progress("2. recluster"))
        print(f"2. recluster: {summary.text()}")
        guild = await _busiest_guild(pool)
        print(f"\n3. tribes of guild {guild}:")
        print(render_tribes(await guild_tribes(pool, guild)))
        member = next(p for p in community.profiles if guild in p.guild_ids)
        print(f"\n4. matches of {member.display_name} ({member.user_id}) in guild {guild}:")
        print(render_match_table(await matches_for(pool, member.user_id, guild, limit=5)))
    print(
        "\nTry: soundsync matches USER_ID --guild ID, soundsync tribes --guild ID "
        f"(with DATABASE_URL pointing at the {DEMO_DATABASE} database shown above)."
    )


async def _busiest_guild(pool: asyncpg.Pool) -> int:
    guild = await members.largest_guild(pool)
    if guild is None:
        raise RuntimeError("the demo community has no guild members")
    return guild
