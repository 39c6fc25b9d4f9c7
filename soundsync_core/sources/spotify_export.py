"""Spotify's privacy data export (a ZIP or one of its JSON files) → ranked artists and tracks.

Two kinds of export hold a streaming history (DESIGN §2, "Spotify data export"):

- **Account data** (about a year, ready in days): ``StreamingHistory_music_N.json`` (older
  exports: ``StreamingHistoryN.json``) with ``endTime``, ``artistName``, ``trackName``,
  ``msPlayed``. Names only: no ids.
- **Extended streaming history** (all time, ready in weeks): ``Streaming_History_Audio_*.json``
  (older exports: ``endsong_N.json``) with ``ts``, ``ms_played``,
  ``master_metadata_track_name``, ``master_metadata_album_artist_name``, ``spotify_track_uri``.

Only those files are read; everything else in the ZIP (identity, payments, search queries …)
is never opened. Pure: no Discord, no database, no network. CPU-heavy — call it from an executor.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from soundsync_core.db.text import storable
from soundsync_core.errors import MemberFacingError

# Discord lets bots receive attachments of 25 MB or more depending on the server's boost level;
# 25 MB holds a typical extended history ZIP (≈ 10:1 compressed JSON).
MAX_EXPORT_BYTES = 25 * 1024 * 1024
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024  # Spotify splits histories into files of ~12 MB at most
MAX_ZIP_MEMBERS = 2000
MIN_PLAY_MS = 30_000  # Spotify's own rule: a stream counts after 30 seconds
WINDOW_MONTHS = 12
TOP_ARTISTS = 150
TOP_TRACKS = 150
MAX_NAME_CHARS = 300  # longer "names" are junk, not music metadata
MAX_PLAY_MS = 24 * 3600 * 1000  # a longer "play" is junk (and would outweigh everything else)

EXTENDED = "extended"
ACCOUNT = "account"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_EXTENDED_FILE = re.compile(r"(Streaming_History_Audio_.*|endsong_\d+)\.json", re.IGNORECASE)
_ACCOUNT_FILE = re.compile(r"StreamingHistory(_music_)?\d+\.json", re.IGNORECASE)
_TRACK_URI = re.compile(r"spotify:track:([0-9A-Za-z]{22})")
_CHUNK = 1024 * 1024
# A damaged archive fails in zipfile's own ways, not only BadZipFile: bad offsets (ValueError),
# a made-up format version (NotImplementedError), bad deflate data (zlib.error).
_DAMAGED_ZIP = (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError, zlib.error)
_MB = 1024 * 1024
_FILES_WANTED = (
    "the ZIP Spotify emailed you (my_spotify_data.zip) or one of its "
    "StreamingHistory_music_*.json / Streaming_History_Audio_*.json files"
)


class ExportFormatError(MemberFacingError, ValueError):
    """The upload is not a usable Spotify export; the message says what to do (safe to show)."""


@dataclass(frozen=True)
class ExportArtist:
    """An artist of the export, ranked by listening time."""

    name: str
    ms_played: int
    plays: int


@dataclass(frozen=True)
class ExportTrack:
    """A track of the export; ``spotify_id`` only comes with the extended history."""

    name: str
    artist_name: str
    spotify_id: str | None
    ms_played: int
    plays: int


@dataclass(frozen=True)
class ExportHistory:
    """Top artists and tracks of the last :data:`WINDOW_MONTHS` months of the export.

    The window is the 12 calendar months up to the newest play in the data (not up to today,
    so an export requested a while ago still describes its owner). ``first_play`` and
    ``last_play`` bound the plays that were counted.
    """

    kind: str
    artists: tuple[ExportArtist, ...]
    tracks: tuple[ExportTrack, ...]
    plays_counted: int
    first_play: datetime
    last_play: datetime


class _Play(NamedTuple):
    at: datetime
    ms: int
    artist: str
    track: str
    track_id: str | None


def normalise_name(name: str) -> str:
    """The form names are compared in: whitespace collapsed, lower case."""
    return " ".join(name.split()).lower()


def check_export_size(size: int) -> None:
    """Refuse an upload by its size alone (before downloading it, when the size is known)."""
    if size <= 0:
        raise ExportFormatError("The file is empty. Upload " + _FILES_WANTED + ".")
    if size > MAX_EXPORT_BYTES:
        raise ExportFormatError(
            f"The file is {size / _MB:.1f} MB; SoundSync reads exports up to "
            f"{MAX_EXPORT_BYTES // _MB} MB. Upload only the StreamingHistory / "
            "Streaming_History_Audio JSON files (zipped together, or the largest one alone)."
        )


def parse_export(data: bytes, filename: str = "") -> ExportHistory:
    """Read an export ZIP or a single history JSON file; :class:`ExportFormatError` if unusable.

    A play counts when it lasted at least 30 s. Artists and tracks are ranked by total listening
    time, then play count, over the last 12 months of the data; the top 150 of each are kept.
    When a ZIP holds both kinds of history, only the extended one is read (it contains the
    other, with track ids).
    """
    check_export_size(len(data))
    tally = _Tally()
    if data[:4] in _ZIP_MAGIC:
        kind = _read_zip(data, tally)
    elif data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"[", b"{"):
        kind = _read_document(filename or "The file", data, tally)
    else:
        raise ExportFormatError("This is not a Spotify data export. Upload " + _FILES_WANTED + ".")
    return tally.history(kind)


def _read_zip(data: bytes, tally: _Tally) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _DAMAGED_ZIP as exc:
        raise ExportFormatError("This ZIP file is damaged; download it from Spotify again.") from exc
    with archive:
        members = _history_members(archive)
        kind = EXTENDED if any(_is_extended(m.filename) for m in members) else ACCOUNT
        budget = [MAX_UNPACKED_BYTES]  # bytes left to inflate, shared by every member
        for member in members:
            if _is_extended(member.filename) == (kind == EXTENDED):
                name = _basename(member.filename)
                _read_document(name, _unpack(archive, member, budget), tally)
    return kind


def _history_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The streaming-history members, after refusing archives no Spotify export looks like."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ExportFormatError(
            f"This ZIP holds {len(infos)} files; a Spotify export holds a few dozen. "
            "Upload the ZIP exactly as Spotify sent it."
        )
    for info in infos:
        if _unsafe_name(info.filename):
            raise ExportFormatError(
                "This ZIP contains unsafe file paths, so SoundSync will not read it. "
                "Upload the ZIP exactly as Spotify sent it."
            )
    members = [i for i in infos if not i.is_dir() and _is_history(_basename(i.filename))]
    if not members:
        raise ExportFormatError(
            "This ZIP has no listening history in it (no StreamingHistory_music_*.json or "
            "Streaming_History_Audio_*.json). In Spotify's privacy settings, request "
            "'Account data' or 'Extended streaming history', then upload that ZIP."
        )
    if any(i.flag_bits & 0x1 for i in members):
        raise ExportFormatError("This ZIP is password-protected; upload the ZIP Spotify sent you.")
    return members


def _unsafe_name(name: str) -> bool:
    # Nothing is ever extracted to disk, but no real export has such names: refuse the archive.
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _is_history(basename: str) -> bool:
    return bool(_EXTENDED_FILE.fullmatch(basename) or _ACCOUNT_FILE.fullmatch(basename))


def _is_extended(name: str) -> bool:
    return bool(_EXTENDED_FILE.fullmatch(_basename(name)))


def _unpack(archive: zipfile.ZipFile, member: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """A member's bytes, counted as they inflate: declared sizes can lie (zip bombs)."""
    chunks: list[bytes] = []
    name, size = _basename(member.filename), 0
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                budget[0] -= len(chunk)
                size += len(chunk)
                chunks.append(chunk)
                if budget[0] < 0:
                    raise ExportFormatError(
                        f"The history in this ZIP unpacks to more than {MAX_UNPACKED_BYTES // _MB} "
                        "MB, more than SoundSync reads. Upload the files of the last few years only."
                    )
                if size > MAX_FILE_BYTES:
                    raise ExportFormatError(
                        f"{name} unpacks to more than {MAX_FILE_BYTES // _MB} MB; no Spotify "
                        "history file is that large. Upload the ZIP exactly as Spotify sent it."
                    )
    except ExportFormatError:
        raise  # a ValueError too, but already the right answer
    except _DAMAGED_ZIP as exc:
        raise ExportFormatError(
            f"{name} in this ZIP is damaged; download the export again."
        ) from exc
    return b"".join(chunks)


def _read_document(name: str, raw: bytes, tally: _Tally) -> str:
    """Parse one history file into the tally; returns its kind."""
    try:
        document = json.loads(raw, object_pairs_hook=_record)
    except (ValueError, RecursionError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ExportFormatError(f"{name} is not valid JSON{where}; download the export again.") from exc
    if not isinstance(document, list) or not all(isinstance(r, _Recognised) for r in document):
        raise ExportFormatError(f"{name} is not a Spotify streaming history. Upload " + _FILES_WANTED + ".")
    kinds = {r.kind for r in document if isinstance(r, _Recognised)}
    for record in document:
        if isinstance(record, _Recognised) and record.play is not None:
            tally.add(record.play)
    return EXTENDED if EXTENDED in kinds else ACCOUNT


class _Recognised(NamedTuple):
    """A history record; ``play`` is None when it is no music play (podcast, private, bad)."""

    kind: str
    play: _Play | None


def _record(pairs: list[tuple[str, Any]]) -> _Recognised | None:
    # Called for every JSON object while parsing: keeping a small tuple instead of the full
    # dict keeps a 300 MB history within a few hundred MB of memory.
    record = dict(pairs)
    if "ts" in record and "ms_played" in record:
        return _Recognised(EXTENDED, _extended_play(record))
    if "endTime" in record and "msPlayed" in record:
        return _Recognised(ACCOUNT, _account_play(record))
    return None  # no history record (another file, or an object nested in a record)


def _extended_play(record: dict[str, Any]) -> _Play | None:
    if record.get("incognito_mode") is True:
        return None  # the member listened privately: Spotify leaves these out of taste too
    uri = record.get("spotify_track_uri")
    match = _TRACK_URI.fullmatch(uri) if isinstance(uri, str) else None
    return _play(record.get("ts"), record.get("ms_played"),
                 record.get("master_metadata_album_artist_name"),
                 record.get("master_metadata_track_name"), match.group(1) if match else None)


def _account_play(record: dict[str, Any]) -> _Play | None:
    return _play(record.get("endTime"), record.get("msPlayed"), record.get("artistName"),
                 record.get("trackName"), None)


def _play(when: Any, ms: Any, artist: Any, track: Any, track_id: str | None) -> _Play | None:
    """A music play, or None for podcasts (no track/artist), bad values and junk names."""
    if not (isinstance(artist, str) and isinstance(track, str) and isinstance(when, str)):
        return None
    if type(ms) is not int or not 0 <= ms <= MAX_PLAY_MS:
        return None
    artist, track = " ".join(artist.split()), " ".join(track.split())
    if not artist or not track or max(len(artist), len(track)) > MAX_NAME_CHARS:
        return None
    if not (storable(artist) and storable(track)):
        return None  # a NUL or a lone surrogate: no real name has one, and PostgreSQL refuses it
    try:
        at = datetime.fromisoformat(when)
        # Account-data times carry no zone; Spotify documents them as UTC.
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one beyond year 1…9999 once in UTC
        return None
    return _Play(at, ms, artist, track, track_id)


def _month(at: datetime) -> int:
    return at.year * 12 + at.month - 1


class _Tally:
    """Listening time and plays per (month, track); windowed and ranked at the end."""

    def __init__(self) -> None:
        self.buckets: dict[tuple[int, str], list[int]] = {}
        self.tracks: dict[str, tuple[str, str, str | None]] = {}
        self.artist_names: dict[str, str] = {}
        self.month_bounds: dict[int, tuple[datetime, datetime]] = {}

    def add(self, play: _Play) -> None:
        """Count one play (only plays of 30 s or more count)."""
        if play.ms < MIN_PLAY_MS:
            return
        artist_key = normalise_name(play.artist)
        self.artist_names.setdefault(artist_key, play.artist)
        track_key = play.track_id or f"{artist_key}\x1f{normalise_name(play.track)}"
        self.tracks.setdefault(track_key, (play.track, artist_key, play.track_id))
        bucket = self.buckets.setdefault((_month(play.at), track_key), [0, 0])
        bucket[0] += play.ms
        bucket[1] += 1
        month = _month(play.at)
        low, high = self.month_bounds.get(month, (play.at, play.at))
        self.month_bounds[month] = (min(low, play.at), max(high, play.at))

    def history(self, kind: str) -> ExportHistory:
        """The ranked top lists of the window; :class:`ExportFormatError` when nothing counted."""
        if not self.month_bounds:
            raise ExportFormatError(
                "No music plays of 30 seconds or more were found in this export "
                "(podcasts and private sessions are not counted)."
            )
        newest = max(self.month_bounds)
        window = [m for m in self.month_bounds if m > newest - WINDOW_MONTHS]
        per_track: dict[str, list[int]] = {}
        for (month, track_key), (ms, plays) in self.buckets.items():
            if month > newest - WINDOW_MONTHS:
                total = per_track.setdefault(track_key, [0, 0])
                total[0] += ms
                total[1] += plays
        return ExportHistory(
            kind=kind,
            artists=self._top_artists(per_track),
            tracks=self._top_tracks(per_track),
            plays_counted=sum(plays for _, plays in per_track.values()),
            first_play=min(self.month_bounds[m][0] for m in window),
            last_play=self.month_bounds[newest][1],
        )

    def _top_artists(self, per_track: dict[str, list[int]]) -> tuple[ExportArtist, ...]:
        per_artist: dict[str, list[int]] = {}
        for track_key, (ms, plays) in per_track.items():
            total = per_artist.setdefault(self.tracks[track_key][1], [0, 0])
            total[0] += ms
            total[1] += plays
        ranked = sorted(per_artist.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        return tuple(ExportArtist(self.artist_names[key], ms, plays)
                     for key, (ms, plays) in ranked[:TOP_ARTISTS])

    def _top_tracks(self, per_track: dict[str, list[int]]) -> tuple[ExportTrack, ...]:
        ranked = sorted(per_track.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))
        top = []
        for key, (ms, plays) in ranked[:TOP_TRACKS]:
            name, artist_key, track_id = self.tracks[key]
            top.append(ExportTrack(name, self.artist_names[artist_key], track_id, ms, plays))
        return tuple(top)

