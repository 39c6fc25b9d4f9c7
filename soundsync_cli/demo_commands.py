"""``soundsync demo``: a synthetic community imported, reclustered and matched, end to end.

It needs no Discord or Spotify credentials and writes to its own database (``soundsync_demo``
on the configured or embedded server, recreated on every run), never to the real one. It draws a
member's profile chart and the guild's taste map as PNGs into a folder (``./soundsync-demo``) and
ends with commands to try that read the demo's database, printed so they run as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from soundsync_cli.errors import UsageError
from soundsync_cli.progress import Progress
from soundsync_cli.render import render_match_table, render_tribes
from soundsync_cli.runtime import configure_logging, database_url, open_pool
from soundsync_core import charts
from soundsync_core.db.databases import side_database
from soundsync_core.db.urls import mask_url
from soundsync_core.repositories import members
from soundsync_core.services.community_views import guild_tribes
from soundsync_core.services.importer import import_profiles
from soundsync_core.services.matches import matches_for
from soundsync_core.services.member_views import profile_view, taste_map
from soundsync_core.services.recluster import recluster
from soundsync_core.settings import Settings
from soundsync_synthetic import generate_community, jsonl_lines

DEMO_DATABASE = "soundsync_demo"
DEMO_FOLDER = Path("soundsync-demo")


def register(sub: argparse._SubParsersAction) -> None:
    cmd = sub.add_parser("demo", help="import, recluster and match a synthetic community")
    cmd.add_argument("--members", type=int, default=600, help="community size (default 600)")
    cmd.add_argument("--seed", type=int, default=7,
                     help="random seed of the synthetic community (default 7)")
    cmd.add_argument("--out", type=Path, default=DEMO_FOLDER,
                     help=f"folder for the two PNG charts (default ./{DEMO_FOLDER})")
    cmd.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    if args.members < 10:
        raise UsageError("demo: --members must be at least 10")
    with database_url(settings) as server:
        shown = asyncio.run(_demo(settings, server, args.members, args.seed))
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"\n5. charts in {args.out.resolve()}:")
    for name, png in shown.charts.items():
        (args.out / name).write_bytes(png)
        print(f"   {name}")
    program, database = _program(), f"--database {DEMO_DATABASE}"
    print(f"\nTry (these read the demo's database, {DEMO_DATABASE}):")
    print(f"  {program} matches {shown.user_id} --guild {shown.guild} {database}")
    print(f"  {program} tribes --guild {shown.guild} {database}")
    print(f"  {program} export-matches --guild {shown.guild} --limit 3 {database}")
    return 0


@dataclass(frozen=True)
class Shown:
    """The member and guild the demo showed, and their charts (file name → PNG)."""

    user_id: int
    guild: int
    charts: dict[str, bytes]


async def _demo(settings: Settings, server: str, members: int, seed: int) -> Shown:
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
        return Shown(member.user_id, guild, await _charts(pool, member.user_id, guild))


async def _charts(pool: asyncpg.Pool, user_id: int, guild: int) -> dict[str, bytes]:
    """The member's profile chart and the guild's taste map, drawn as the bot draws them."""
    view = await profile_view(pool, user_id, user_id, guild)
    points = await taste_map(pool, guild)
    profile, tribes = await asyncio.gather(
        asyncio.to_thread(charts.profile_chart, f"{view.display_name}'s sound", view.audio,
                          view.genre_mix, view.top_artists),
        asyncio.to_thread(charts.taste_map_chart, f"Taste map of guild {guild}", points.points,
                          points.tribe_names),
    )
    return {"profile.png": profile, "taste-map.png": tribes}


def _program() -> str:
    """How ``soundsync`` was started, so the printed commands run as they are."""
    started = Path(sys.argv[0])
    if started.name == "__main__.py":
        return f"{shlex.quote(sys.executable)} -m soundsync_cli"
    on_path = shutil.which(started.name)
    if on_path and Path(on_path).resolve() == started.resolve():
        return started.name
    return shlex.quote(str(started))


async def _busiest_guild(pool: asyncpg.Pool) -> int:
    guild = await members.largest_guild(pool)
    if guild is None:
        raise RuntimeError("the demo community has no guild members")
    return guild
