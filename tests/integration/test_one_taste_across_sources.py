"""One taste across sources: members who love the same artists share them whatever source each
used (Spotify ids, Last.fm names and MBIDs, ListenBrainz MBIDs), through ingestion's store
path → recluster → matches."""

from __future__ import annotations

import json

import asyncpg
import pytest

from soundsync_core.services.importer import import_profiles
from soundsync_core.services.ingestion import store_listening
from soundsync_core.services.matches import matches_for
from soundsync_core.services.recluster import recluster
from soundsync_core.sources.base import Listening
from soundsync_core.taste.profile import RankedArtist

GUILD = 7
AMBIENT = ["Nils Frahm", "Ólafur Arnalds", "Max Richter", "Jóhann Jóhannsson", "Hania Rani",
           "Brian Eno", "Stars of the Lid", "Grouper"]
MBIDS = {name: f"{i:08d}-0000-4000-8000-000000000000" for i, name in enumerate(AMBIENT, 1)}
OTHERS = {
    101: ["Coltrane", "Monk", "Mingus", "Davis", "Evans", "Hancock", "Shorter", "Rollins"],
    102: ["Monk", "Mingus", "Davis", "Evans", "Coltrane", "Rollins", "Hancock", "Shorter"],
    103: ["Opeth", "Mastodon", "Gojira", "Tool", "Meshuggah", "Isis", "Neurosis", "Cult of Luna"],
    104: ["Mastodon", "Gojira", "Tool", "Opeth", "Isis", "Meshuggah", "Cult of Luna", "Neurosis"],
    105: ["Robyn", "Dua Lipa", "Lorde", "Charli XCX", "Carly Rae Jepsen", "Lizzo", "SZA", "Kesha"],
}
SPOTIFY_MEMBER, LASTFM_MEMBER, LISTENBRAINZ_MEMBER = 1, 2, 3


def _spotify_id(name: str) -> str:
    return "sp" + "".join(c for c in name.encode("ascii", "ignore").decode() if c.isalnum())


def _listening(ids: list[str], names: list[str], counts: bool) -> Listening:
    artists = tuple(RankedArtist(i, rank, n, (100 - rank) if counts else None)
                    for rank, (i, n) in enumerate(zip(ids, names, strict=True), 1))
    return Listening(account_id="x", display_name="x", artists=artists)


@pytest.mark.parametrize("order", [(1, 2, 3), (3, 2, 1), (2, 1, 3)])
async def test_members_share_artists_whatever_source_each_used(
    pool: asyncpg.Pool, order: tuple[int, ...]
) -> None:
    lines = [json.dumps({
        "user_id": str(uid), "display_name": f"m{uid}", "guild_ids": [str(GUILD)],
        "top_artists": [{"id": n.lower(), "name": n, "rank": r} for r, n in enumerate(names, 1)],
    }) for uid, names in OTHERS.items()]
    assert (await import_profiles(pool, lines)).imported == len(OTHERS)
    rotated = AMBIENT[2:] + AMBIENT[:2]
    by_member = {
        # Spotify knows its own ids; Last.fm an MBID for some artists and names (other
        # spellings) for the rest; ListenBrainz MBIDs only.
        SPOTIFY_MEMBER: _listening([_spotify_id(n) for n in AMBIENT], AMBIENT, counts=False),
        LASTFM_MEMBER: _listening(
            [f"mbid:{MBIDS[n]}" if i % 2 else f"name:{n.lower()}" for i, n in enumerate(rotated)],
            [n.upper() for n in rotated], counts=True),
        LISTENBRAINZ_MEMBER: _listening([f"mbid:{MBIDS[n]}" for n in AMBIENT], AMBIENT,
                                        counts=True),
    }
    source = {SPOTIFY_MEMBER: "spotify", LASTFM_MEMBER: "lastfm", LISTENBRAINZ_MEMBER: "listenbrainz"}
    for member in order:
        async with pool.acquire() as conn, conn.transaction():
            await store_listening(conn, member, GUILD, source[member], by_member[member])
    await recluster(pool, guild_id=GUILD)

    trio = {SPOTIFY_MEMBER, LASTFM_MEMBER, LISTENBRAINZ_MEMBER}
    for member in trio:
        found = (await matches_for(pool, member, GUILD, limit=2)).matches
        assert {m.user_id for m in found} == trio - {member}
        for match in found:
            shared = {a["name"].casefold() for a in match.reasons["shared_artists"]}
            assert shared, f"{member} and {match.user_id} share no artist"
            assert shared <= {n.casefold() for n in AMBIENT}
