"""Audio features: Spotify ``/audio-features`` when the app still has it, else ReccoBeats.

Spotify closed ``/audio-features`` to new apps (403) in 2024-11; ReccoBeats answers the same
Spotify track ids (≤ 40 per call, no key), leaves out tracks it does not know and identifies
them only through ``href``. Both are best effort: a track nobody knows simply has no features.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
import spotipy

from soundsync_core.sources.errors import AudioFeaturesForbidden
from soundsync_core.taste.profile import AUDIO_FEATURES

log = logging.getLogger(__name__)

SPOTIFY_BATCH = 100
RECCOBEATS_BATCH = 40
FeatureMap = dict[str, dict[str, float]]


@dataclass
class AudioFeaturesResult:
    """Features per track id, who gave them, and what the caller should remember."""

    features: FeatureMap = field(default_factory=dict)
    provider: dict[str, str] = field(default_factory=dict)
    # True when Spotify answered 403: remember it and stop asking Spotify.
    spotify_forbidden: bool = False
    # False when ReccoBeats failed part-way: the missing tracks are worth asking again later.
    complete: bool = True


def chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    """Consecutive batches of at most ``size`` ids."""
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def known_features(item: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values of the features SoundSync understands."""
    return {
        name: float(item[name])
        for name in AUDIO_FEATURES
        if isinstance(item.get(name), int | float) and not isinstance(item.get(name), bool)
    }


def spotify_features_batch(client: spotipy.Spotify, ids: list[str]) -> FeatureMap:
    """One ``GET /audio-features`` call (≤ 100 ids); nulls (unanalysed tracks) left out. Blocks."""
    items = client.audio_features(ids) or []
    return {item["id"]: known_features(item) for item in items if item and item.get("id")}


def _spotify_id(href: str) -> str:
    return urlparse(href).path.rstrip("/").rsplit("/", 1)[-1]


class ReccoBeatsError(Exception):
    """ReccoBeats refused or failed; ``retry_after`` is set for a 429."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple:
        # Raised in a worker thread or process (see ``ReccoBeatsClient``).
        return type(self), (str(self), self.retry_after)


_local = threading.local()


def _session() -> requests.Session:
    """This thread's (or worker process's) plain session: ReccoBeats is not Spotify."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def reccobeats_features_batch(base_url: str, ids: list[str], timeout: float) -> FeatureMap:
    """One ReccoBeats call (≤ 40 ids), mapped back to Spotify ids through ``href``. Blocks."""
    try:
        response = _session().get(
            f"{base_url}/audio-features", params={"ids": ",".join(ids)}, timeout=timeout
        )
    except requests.RequestException as exc:
        raise ReccoBeatsError(f"ReccoBeats unreachable: {type(exc).__name__}") from None
    if response.status_code == 429:
        retry_after = float(response.headers.get("Retry-After", "5") or 5)
        raise ReccoBeatsError("ReccoBeats rate limited", retry_after)
    if response.status_code >= 400:
        raise ReccoBeatsError(f"ReccoBeats answered HTTP {response.status_code}")
    wanted = set(ids)
    found: FeatureMap = {}
    for item in response.json().get("content", []):
        track_id = _spotify_id(str(item.get("href", "")))
        if track_id in wanted:
            found[track_id] = known_features(item)
    return found


class ReccoBeatsClient:
    """Async access to ReccoBeats: batches in ``executor`` (None: the loop's threads), one
    short wait on a short 429."""

    def __init__(
        self, base_url: str, *, timeout: float, short_wait: float, executor: Executor | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.short_wait = short_wait
        self.executor = executor

    async def _call(self, ids: list[str]) -> FeatureMap:
        return await asyncio.get_running_loop().run_in_executor(
            self.executor, reccobeats_features_batch, self.base_url, ids, self.timeout
        )

    async def _batch(self, ids: list[str]) -> FeatureMap:
        try:
            return await self._call(ids)
        except ReccoBeatsError as exc:
            if exc.retry_after is None or exc.retry_after > self.short_wait:
                raise
            await asyncio.sleep(exc.retry_after)
            return await self._call(ids)

    async def features(self, ids: Sequence[str]) -> tuple[FeatureMap, bool]:
        """Features of the ids ReccoBeats knows, and whether every batch was answered."""
        found: FeatureMap = {}
        for batch in chunks(ids, RECCOBEATS_BATCH):
            try:
                found.update(await self._batch(batch))
            except ReccoBeatsError as exc:
                log.warning("ReccoBeats gave up after %d tracks: %s", len(found), exc)
                return found, False
        return found, True


async def audio_features_chain(
    track_ids: Sequence[str],
    spotify: Callable[[list[str]], Awaitable[FeatureMap]] | None,
    reccobeats: ReccoBeatsClient | None,
) -> AudioFeaturesResult:
    """Spotify (batches of ≤ 100) → on 403 or for what it lacks, ReccoBeats → else nothing.

    ``spotify`` is None when the caller already knows the app has no access. Spotify errors
    other than the 403 (rate limits, outages) propagate: the caller retries later.
    """
    ids = list(dict.fromkeys(track_ids))
    result = AudioFeaturesResult()
    if spotify is not None:
        try:
            for batch in chunks(ids, SPOTIFY_BATCH):
                _record(result, await spotify(batch), "spotify")
        except AudioFeaturesForbidden:
            result.spotify_forbidden = True
    missing = [i for i in ids if i not in result.features]
    if missing and reccobeats is not None:
        found, result.complete = await reccobeats.features(missing)
        _record(result, found, "reccobeats")
    return result


def _record(result: AudioFeaturesResult, found: FeatureMap, provider: str) -> None:
    for track_id, values in found.items():
        if values:
            result.features[track_id] = values
            result.provider[track_id] = provider
