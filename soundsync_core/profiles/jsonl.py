"""The profile import format (docs/import-format.md): one member per JSON line.

``rank`` is required (1 = top); ``playcount``, ``genres``, ``audio_features`` and ``top_tracks``
are optional. Every defect is reported as a :class:`ProfileFormatError` whose message says what
is wrong, so the importer can name the line and go on with the next. A line that parses is
fully checked against what the database stores (integer and real ranges, text PostgreSQL
accepts, length limits), so storing it cannot fail on its content.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from typing import Any

from soundsync_core.db.text import storable
from soundsync_core.snowflakes import InvalidSnowflakeError, parse_snowflake, shown
from soundsync_core.taste.profile import AUDIO_FEATURES, RankedArtist, RankedTrack, TasteProfile

# Limits (documented in docs/import-format.md).
MAX_ITEMS = 1000  # top_artists, top_tracks
MAX_GUILDS = 200  # Discord lets a member join at most 200 servers
MAX_ID_CHARS = 200  # artist and track ids (Spotify's are 22)
MAX_NAME_CHARS = 500  # artist and track names
MAX_DISPLAY_NAME_CHARS = 100
MAX_GENRES = 50
MAX_GENRE_CHARS = 100
MAX_TRACK_ARTISTS = 50
INT32_MAX = 2**31 - 1  # ranks and play counts (PostgreSQL integer)
FLOAT32_MAX = 3.4028234663852886e38  # audio features (PostgreSQL real)
MAX_LINE_BYTES = 8 * 2**20  # real members' lines are a few kB

_SNIFF_BYTES = 4096
_CHUNK_BYTES = 2**20
_UTF8_BOM = b"\xef\xbb\xbf"
# UTF-32 first: its little-endian mark starts with UTF-16's.
_OTHER_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


class ProfileFormatError(ValueError):
    """A line of the import file is not a valid profile."""


def read_lines(stream: io.BufferedReader) -> Iterator[bytes]:
    """The lines of an import file, for :func:`parse_profile_line`, in constant memory.

    Raises :class:`ProfileFormatError` at once when the file is no UTF-8 text at all (UTF-16,
    an image, an archive …); a single line that is not UTF-8 is left to the parser to refuse.
    A line longer than :data:`MAX_LINE_BYTES` is cut to one byte more than that (the parser
    refuses it) and the rest of it skipped.
    """
    head = stream.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # what one read gave: enough to judge
    _check_text(head)
    if head.startswith(_UTF8_BOM):
        stream.read(len(_UTF8_BOM))  # Windows editors start UTF-8 files with one
    while line := stream.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := stream.readline(_CHUNK_BYTES)) and not rest.endswith(b"\n"):
                pass
        yield line


def _check_text(head: bytes) -> None:
    for bom, encoding in _OTHER_ENCODINGS:
        if head.startswith(bom):
            raise ProfileFormatError(f"not UTF-8 text (it is {encoding}): save it as UTF-8")
    if b"\x00" in head:
        raise ProfileFormatError("not UTF-8 text (binary data: an image, an archive …?)")


def parse_profile_line(line: str | bytes) -> TasteProfile:
    """Parse one JSONL line (text, or UTF-8 bytes) into a :class:`TasteProfile` (source ``import``)."""
    if len(line) > MAX_LINE_BYTES:
        raise ProfileFormatError(f"the line is longer than {MAX_LINE_BYTES // 2**20} MiB")
    if isinstance(line, bytes):
        line = _decode(line)
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ProfileFormatError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ProfileFormatError("not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # a number of over 4300 digits
        raise ProfileFormatError(f"not valid JSON ({str(exc).split(':')[0][:80]})") from None
    if not isinstance(record, dict):
        raise ProfileFormatError("a line must be a JSON object")
    # A decoded string can only hold a NUL or a lone surrogate (text PostgreSQL refuses) when
    # the line has a \u escape or such a character itself: most lines skip the scan.
    return _Parser(scan_text="\\u" in line or not storable(line)).profile(record)


def parse_profile(record: Mapping[str, Any]) -> TasteProfile:
    """Validate one decoded record and build the profile."""
    return _Parser(scan_text=True).profile(record)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileFormatError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
        ) from None


class _Parser:
    """One record's checks; ``scan_text`` says whether strings may hold unstorable characters."""

    def __init__(self, *, scan_text: bool) -> None:
        self.scan_text = scan_text

    def profile(self, record: Mapping[str, Any]) -> TasteProfile:
        """The checked profile of one decoded record."""
        user_id = _snowflake(record.get("user_id"), "user_id")
        guild_ids = record.get("guild_ids", [])
        if not isinstance(guild_ids, list):
            raise ProfileFormatError("guild_ids must be a list")
        if len(guild_ids) > MAX_GUILDS:
            raise ProfileFormatError(f"guild_ids has {len(guild_ids)} ids; at most {MAX_GUILDS}")
        artists = self._artists(record.get("top_artists"))
        tracks = self._tracks(record.get("top_tracks", []))
        display_name = self.text(record.get("display_name") or "", MAX_DISPLAY_NAME_CHARS,
                                 "display_name")
        return TasteProfile(
            user_id=user_id,
            artists=artists,
            tracks=tracks,
            display_name=display_name,
            guild_ids=tuple(_snowflake(g, "guild_ids[]") for g in guild_ids),
            sources=("import",),
        )

    def text(self, value: Any, limit: int, field: str, item: str | None = None) -> str:
        """``value`` as a string PostgreSQL stores, of at most ``limit`` characters.

        Errors name ``field`` (of the artist or track ``item``); the message is only built then.
        """
        if type(value) is str and len(value) <= limit and not self.scan_text:
            return value  # the common case, first: a 100k-member import checks millions
        if item is not None:
            field = f"{field} of {item!r}"
        if not isinstance(value, str):
            raise ProfileFormatError(f"{field} must be a string, got {shown(value)}")
        if len(value) > limit:
            raise ProfileFormatError(f"{field} has {len(value)} characters; at most {limit}")
        if self.scan_text and not storable(value):
            raise ProfileFormatError(
                f"{field} contains a NUL character or invalid Unicode: {shown(value)}"
            )
        return value

    def texts(self, value: Any, count: int, limit: int, field: str, item: str) -> tuple[str, ...]:
        """A list of at most ``count`` strings, each checked by :meth:`text`."""
        if (
            type(value) is list and len(value) <= count and not self.scan_text
            and all(type(entry) is str and len(entry) <= limit for entry in value)
        ):
            return tuple(value)  # the common case, first
        if not isinstance(value, list):
            raise ProfileFormatError(f"{field} of {item!r} must be a list of strings")
        if len(value) > count:
            raise ProfileFormatError(f"{field} of {item!r} has {len(value)} entries; at most {count}")
        return tuple(self.text(entry, limit, field, item) for entry in value)

    def _common(self, item: Mapping[str, Any], field: str, seen: set[str], ranks: set[int]) -> tuple:
        item_id = item.get("id")
        if not isinstance(item_id, str) or not item_id.strip():
            raise ProfileFormatError(f"{field}: every item needs a non-empty string id")
        item_id = self.text(item_id, MAX_ID_CHARS, f"{field} id")
        if item_id in seen:
            raise ProfileFormatError(f"{field}: id {item_id!r} appears twice")
        rank = item.get("rank")
        if type(rank) is not int or not 1 <= rank <= INT32_MAX:
            raise ProfileFormatError(
                f"{field}: {item_id!r} needs a rank from 1 (top) to {INT32_MAX}, got {shown(rank)}"
            )
        if rank in ranks:
            raise ProfileFormatError(f"{field}: rank {rank} is used twice")
        playcount = item.get("playcount")
        if playcount is not None and (type(playcount) is not int or not 0 <= playcount <= INT32_MAX):
            raise ProfileFormatError(
                f"{field}: {item_id!r} playcount must be a whole number from 0 to {INT32_MAX}, "
                f"got {shown(playcount)}"
            )
        name = self.text(item.get("name") or item_id, MAX_NAME_CHARS, f"{field}: name", item_id)
        seen.add(item_id)
        ranks.add(rank)
        return item_id, rank, name, playcount

    def _artists(self, value: Any) -> tuple[RankedArtist, ...]:
        seen: set[str] = set()
        ranks: set[int] = set()
        artists = []
        for item in _items(value, "top_artists", required=True):
            artist_id, rank, name, playcount = self._common(item, "top_artists", seen, ranks)
            genres = self.texts(item.get("genres") or [], MAX_GENRES, MAX_GENRE_CHARS,
                                "top_artists: genres", artist_id)
            artists.append(RankedArtist(artist_id, rank, name, playcount, genres))
        return tuple(sorted(artists, key=lambda a: a.rank))

    def _tracks(self, value: Any) -> tuple[RankedTrack, ...]:
        seen: set[str] = set()
        ranks: set[int] = set()
        tracks = []
        for item in _items(value, "top_tracks", required=False):
            track_id, rank, name, playcount = self._common(item, "top_tracks", seen, ranks)
            artist_ids = self.texts(item.get("artist_ids") or [], MAX_TRACK_ARTISTS, MAX_ID_CHARS,
                                    "top_tracks: artist_ids", track_id)
            features = _features(item.get("audio_features"), track_id)
            tracks.append(RankedTrack(track_id, rank, name, artist_ids, playcount, features))
        return tuple(sorted(tracks, key=lambda t: t.rank))


def _snowflake(value: Any, field: str) -> int:
    try:
        return parse_snowflake(value)
    except InvalidSnowflakeError as exc:
        raise ProfileFormatError(f"{field} {exc}") from None


def _items(value: Any, field: str, *, required: bool) -> list[Mapping[str, Any]]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise ProfileFormatError(f"{field} must be a non-empty list" if required else
                                 f"{field} must be a list")
    if len(value) > MAX_ITEMS:
        raise ProfileFormatError(f"{field} has {len(value)} items; at most {MAX_ITEMS}")
    for position, item in enumerate(value):
        if not isinstance(item, dict):
            raise ProfileFormatError(f"{field}[{position}] must be an object")
    return value


def _features(value: Any, track_id: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProfileFormatError(f"top_tracks: {track_id!r} audio_features must be an object")
    features = {}
    for name, number in value.items():
        if name not in AUDIO_FEATURES:
            continue  # providers add fields (key, mode, …) that the taste model does not use
        # One chained comparison also refuses NaN and ±infinity (every comparison with NaN is
        # false), and compares ints of any size exactly.
        if type(number) not in (int, float) or not -FLOAT32_MAX <= number <= FLOAT32_MAX:
            raise ProfileFormatError(
                f"top_tracks: {track_id!r} {name} must be a finite number between "
                f"{-FLOAT32_MAX:.2g} and {FLOAT32_MAX:.2g}, got {shown(number)}"
            )
        features[name] = float(number)
    return features or None
