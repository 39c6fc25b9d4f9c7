"""The community of ``soundsync bench scale``: simple, fast to make at a million members, COPYed.

Every member lists :data:`TOP_ITEMS` artists drawn from a Zipf popularity over about ``N/5``
artists, and one track of each of those artists (:data:`TRACKS_PER_ARTIST` per artist in the
catalogue). Guilds have Zipf-like sizes, one of them holds :data:`BIG_GUILD_SHARE` of everyone,
and every member is in 1–3 guilds. Rows are written with binary COPY built by numpy alone:
every identifier has a fixed width, so every row of a table has the same layout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import asyncpg
import numpy as np

TOP_ITEMS = 50
TRACKS_PER_ARTIST = 10
BIG_GUILD_SHARE = 0.2
BIG_GUILD = 1
MEMBERS_PER_GUILD = 500  # guilds = members / this, at least MIN_GUILDS
# With fewer guilds the biggest of the Zipf-like ones would outgrow the one with a fifth.
MIN_GUILDS = 60
ZIPF_EXPONENT = 1.0
LOAD_CHUNK = 50_000
TEXT_OID = 25
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)


@dataclass(frozen=True)
class ScaleGuilds:
    """Guild membership as parallel (guild, member row) arrays."""

    guild_of: np.ndarray
    member_of: np.ndarray

    def scope_members(self, guild_id: int) -> np.ndarray:
        """Member rows of one guild, ascending."""
        return np.sort(self.member_of[self.guild_of == guild_id])


@dataclass(frozen=True)
class ScaleCommunity:
    """Members ``1…N`` (row ``i`` is user ``i + 1``), their artists (code order = rank), their
    tracks, and their guilds."""

    artists: np.ndarray  # members × TOP_ITEMS artist numbers
    tracks: np.ndarray  # members × TOP_ITEMS track numbers
    n_artists: int
    guilds: ScaleGuilds

    @property
    def members(self) -> int:
        """Number of members."""
        return len(self.artists)


def generate_scale_community(members: int, *, seed: int = 1) -> ScaleCommunity:
    """The bench's community of ``members`` members (same for the same seed)."""
    rng = np.random.default_rng(seed)
    n_artists = max(members // 5, 4 * TOP_ITEMS)
    artists = _distinct_zipf(rng, members, n_artists, TOP_ITEMS)
    tracks = artists * TRACKS_PER_ARTIST + rng.integers(0, TRACKS_PER_ARTIST, artists.shape)
    guild_of, member_of = _guilds(rng, members)
    return ScaleCommunity(artists, tracks, n_artists, ScaleGuilds(guild_of, member_of))


def _zipf_cdf(size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** ZIPF_EXPONENT
    return np.cumsum(weights) / weights.sum()


def _distinct_zipf(rng: np.random.Generator, rows: int, size: int, count: int) -> np.ndarray:
    """``count`` distinct Zipf draws per row, in the order first drawn."""
    cdf = _zipf_cdf(size)
    out = np.empty((rows, count), dtype=np.int64)
    todo = np.arange(rows)
    draws = 3 * count
    while len(todo):
        drawn = np.minimum(np.searchsorted(cdf, rng.random((len(todo), draws))), size - 1)
        # First occurrence of each value in a row, kept in drawing order.
        order = np.lexsort((np.arange(draws)[None, :].repeat(len(todo), 0), drawn), axis=1)
        ranked = np.take_along_axis(drawn, order, axis=1)
        first = np.ones_like(ranked, dtype=bool)
        first[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
        position = np.where(first, order, draws)  # a repeat sorts after every first occurrence
        position.sort(axis=1)
        enough = (position[:, count - 1] < draws)
        picked = np.take_along_axis(drawn, np.minimum(position[:, :count], draws - 1), axis=1)
        out[todo[enough]] = picked[enough]
        todo = todo[~enough]
        draws *= 2
    return out


def _guilds(rng: np.random.Generator, members: int) -> tuple[np.ndarray, np.ndarray]:
    """(guild id, member row) pairs: 1–3 guilds each, guild 1 with a fifth of everyone."""
    n_guilds = max(MIN_GUILDS, members // MEMBERS_PER_GUILD)
    in_big = rng.permutation(members) < round(BIG_GUILD_SHARE * members)
    slots = rng.integers(1, 4, members) - in_big
    # Other guilds' sizes fall like 1/(rank + 2): the biggest stays below guild 1's fifth.
    weights = 1.0 / (np.arange(1, n_guilds) + 2.0)
    cdf = np.cumsum(weights) / weights.sum()
    member_of = np.repeat(np.arange(members), slots)
    guild_of = BIG_GUILD + 1 + np.minimum(np.searchsorted(cdf, rng.random(len(member_of))), n_guilds - 2)
    member_of = np.concatenate([member_of, np.flatnonzero(in_big)])
    guild_of = np.concatenate([guild_of, np.full(int(in_big.sum()), BIG_GUILD)])
    pairs = np.unique(np.stack([guild_of, member_of], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


# --- binary COPY, fixed-width rows --------------------------------------------------------------


def _be(values: np.ndarray | int, dtype: str, rows: int) -> np.ndarray:
    """Big-endian bytes of a per-row value, as a rows × size uint8 block."""
    array = np.broadcast_to(np.asarray(values, dtype=dtype), (rows,))
    return np.ascontiguousarray(array).view(np.uint8).reshape(rows, -1)


def _text(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded ``numbers`` (any shape) as uint8 rows of fixed width."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (numbers[..., None] // powers % 10 + ord("0")).astype(np.uint8)
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (*numbers.shape, len(prefix)))
    return np.concatenate([head, digits], axis=-1)


def _field(data: np.ndarray) -> list[np.ndarray]:
    """A field of fixed size per row: its length, then its bytes (rows × size uint8)."""
    return [_be(data.shape[1], ">i4", len(data)), data]


def _text_array(elements: np.ndarray) -> list[np.ndarray]:
    """A ``text[]`` field from rows × count × width uint8 elements."""
    rows, count, width = elements.shape
    header = np.hstack([_be(v, ">i4", rows) for v in (1, 0, TEXT_OID, count, 1)])
    lengths = np.broadcast_to(np.array([width], dtype=">i4").view(np.uint8), (rows, count, 4))
    body = np.concatenate([lengths, elements], axis=2).reshape(rows, -1)
    return _field(np.hstack([header, body]))


def _copy_bytes(fields: list[list[np.ndarray]]) -> bytes:
    rows = len(fields[0][0])
    blocks = [_be(len(fields), ">i2", rows)] + [part for field in fields for part in field]
    return _HEADER + np.hstack(blocks).tobytes() + _TRAILER


async def load_scale_community(conn: asyncpg.Connection, community: ScaleCommunity) -> None:
    """COPY the catalogue, members, guilds and one ``import`` profile per member."""
    n, user_ids = community.members, np.arange(1, community.members + 1)
    artists = np.arange(community.n_artists)
    await _copy(conn, "artists", ("artist_id", "name"), [
        _field(_text("ar", artists, 8)), _field(_text("Artist ", artists, 8))])
    tracks = np.arange(community.n_artists * TRACKS_PER_ARTIST)
    for start in range(0, len(tracks), 4 * LOAD_CHUNK):
        part = tracks[start : start + 4 * LOAD_CHUNK]
        await _copy(conn, "tracks", ("track_id", "name", "artist_ids"), [
            _field(_text("tr", part, 9)), _field(_text("Track ", part, 9)),
            _text_array(_text("ar", part[:, None] // TRACKS_PER_ARTIST, 8))])
    guilds = np.unique(community.guilds.guild_of)
    await _copy(conn, "guilds", ("guild_id", "name"), [
        _field(_be(guilds, ">i8", len(guilds))), _field(_text("Guild ", guilds, 6))])
    for start in range(0, n, LOAD_CHUNK):
        rows = user_ids[start : start + LOAD_CHUNK]
        await _copy(conn, "members", ("user_id", "display_name"), [
            _field(_be(rows, ">i8", len(rows))), _field(_text("Member ", rows, 8))])
    await _copy(conn, "guild_members", ("guild_id", "user_id"), [
        _field(_be(community.guilds.guild_of, ">i8", len(community.guilds.guild_of))),
        _field(_be(community.guilds.member_of + 1, ">i8", len(community.guilds.member_of)))])
    for start in range(0, n, LOAD_CHUNK):
        rows = user_ids[start : start + LOAD_CHUNK]
        end = start + len(rows)
        await _copy(conn, "profiles", ("user_id", "source", "artist_ids", "track_ids"), [
            _field(_be(rows, ">i8", len(rows))),
            _field(np.broadcast_to(np.frombuffer(b"import", dtype=np.uint8), (len(rows), 6))),
            _text_array(_text("ar", community.artists[start:end], 8)),
            _text_array(_text("tr", community.tracks[start:end], 9))])


async def _copy(
    conn: asyncpg.Connection, table: str, columns: tuple[str, ...], fields: list[list[np.ndarray]]
) -> None:
    await conn.copy_to_table(table, source=io.BytesIO(_copy_bytes(fields)), columns=list(columns),
                             format="binary")
