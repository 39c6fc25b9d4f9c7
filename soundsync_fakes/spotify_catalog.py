"""The fake Spotify's in-memory catalogue (artists, tracks, users) and its JSON renderings.

Shapes follow the Spotify Web API OpenAPI schema (ArtistObject, TrackObject with its
SimplifiedAlbumObject, PrivateUserObject, AudioFeaturesObject) and the ReccoBeats
audio-features item. ``full`` renders what an extended-quota app sees; ``full=False`` renders
what a development-mode app sees (fields removed since 2026-02).
"""

from __future__ import annotations

import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

TIME_RANGES: tuple[str, ...] = ("short_term", "medium_term", "long_term")
_BASE62 = string.digits + string.ascii_letters
_GENRES = (
    "indie rock", "art pop", "shoegaze", "dream pop", "techno", "house", "jazz", "soul",
    "hip hop", "trap", "metal", "post-punk", "folk", "ambient", "k-pop", "synthwave",
)
_IMAGE_SIZES = (640, 300, 64)


def new_spotify_id(rng: random.Random) -> str:
    """A Spotify-shaped id: 22 base62 characters."""
    return "".join(rng.choice(_BASE62) for _ in range(22))


@dataclass
class FakeArtist:
    """One artist of the catalogue."""

    id: str
    name: str
    genres: tuple[str, ...]
    popularity: int
    followers: int


@dataclass
class FakeTrack:
    """One track; ``features`` None = no provider knows it; ``in_reccobeats`` = ReccoBeats does."""

    id: str
    name: str
    artist_ids: tuple[str, ...]
    album_id: str
    duration_ms: int
    features: dict[str, float] | None
    in_reccobeats: bool
    reccobeats_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class FakeUser:
    """A Spotify account with its top lists per time range."""

    id: str
    account_id: str
    display_name: str
    top_artists: dict[str, list[str]]
    top_tracks: dict[str, list[str]]
    allowlisted: bool = False
    country: str = "SE"
    product: str = "premium"


def random_features(rng: random.Random) -> dict[str, float]:
    """Plausible audio features (loudness in dB, tempo in BPM, the rest in 0…1)."""
    return {
        "acousticness": round(rng.random(), 4),
        "danceability": round(rng.random(), 4),
        "energy": round(rng.random(), 4),
        "instrumentalness": round(rng.random() ** 3, 4),
        "liveness": round(rng.random() * 0.5, 4),
        "loudness": round(-rng.uniform(2.0, 25.0), 3),
        "speechiness": round(rng.random() * 0.4, 4),
        "tempo": round(rng.uniform(60.0, 190.0), 3),
        "valence": round(rng.random(), 4),
        "key": float(rng.randrange(12)),
        "mode": float(rng.randrange(2)),
        "time_signature": 4.0,
    }


class Catalog:
    """Artists, tracks and users, seeded through Python (tests, sandbox, demo)."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.artists: dict[str, FakeArtist] = {}
        self.tracks: dict[str, FakeTrack] = {}
        self.users: dict[str, FakeUser] = {}

    def add_artist(self, name: str, genres: tuple[str, ...] | list[str] | None = None) -> str:
        """Add an artist (random genres when none are given); returns its id."""
        chosen = tuple(genres) if genres is not None else tuple(self.rng.sample(_GENRES, 2))
        artist = FakeArtist(
            id=new_spotify_id(self.rng),
            name=name,
            genres=chosen,
            popularity=self.rng.randrange(20, 95),
            followers=self.rng.randrange(1_000, 5_000_000),
        )
        self.artists[artist.id] = artist
        return artist.id

    def add_track(
        self,
        name: str,
        artist_ids: list[str] | tuple[str, ...],
        features: dict[str, float] | None = None,
        *,
        known: bool = True,
        in_reccobeats: bool = True,
    ) -> str:
        """Add a track; ``known=False`` gives it no audio features at any provider."""
        missing = [a for a in artist_ids if a not in self.artists]
        if missing:
            raise KeyError(f"unknown artist ids {missing}")
        track = FakeTrack(
            id=new_spotify_id(self.rng),
            name=name,
            artist_ids=tuple(artist_ids),
            album_id=new_spotify_id(self.rng),
            duration_ms=self.rng.randrange(120_000, 360_000),
            features=(features or random_features(self.rng)) if known else None,
            in_reccobeats=known and in_reccobeats,
        )
        self.tracks[track.id] = track
        return track.id

    def add_user(
        self,
        user_id: str,
        display_name: str,
        top_artists: list[str] | dict[str, list[str]] | None = None,
        top_tracks: list[str] | dict[str, list[str]] | None = None,
        *,
        allowlisted: bool = False,
    ) -> FakeUser:
        """Add a user; a plain list of ids is used for every time range."""
        user = FakeUser(
            id=user_id,
            account_id=new_spotify_id(self.rng),
            display_name=display_name,
            top_artists=self._per_range(top_artists, self.artists),
            top_tracks=self._per_range(top_tracks, self.tracks),
            allowlisted=allowlisted,
        )
        self.users[user_id] = user
        return user

    @staticmethod
    def _per_range(ids: Any, known: dict[str, Any]) -> dict[str, list[str]]:
        by_range = ids if isinstance(ids, dict) else dict.fromkeys(TIME_RANGES, ids or [])
        result = {r: list(by_range.get(r, ())) for r in TIME_RANGES}
        unknown = {i for lst in result.values() for i in lst if i not in known}
        if unknown:
            raise KeyError(f"unknown ids {sorted(unknown)}")
        return result

    def seed_user(
        self, user_id: str, display_name: str, n_artists: int = 30, n_tracks: int = 40,
        *, unknown_share: float = 0.15, allowlisted: bool = False,
    ) -> FakeUser:
        """A user with generated artists/tracks; ``unknown_share`` of tracks lack features."""
        artists = [self.add_artist(f"{display_name} artist {i}") for i in range(n_artists)]
        tracks = [
            self.add_track(
                f"{display_name} song {i}", [self.rng.choice(artists)],
                known=self.rng.random() >= unknown_share,
            )
            for i in range(n_tracks)
        ]
        return self.add_user(
            user_id, display_name,
            {r: self.rng.sample(artists, len(artists)) for r in TIME_RANGES},
            {r: self.rng.sample(tracks, len(tracks)) for r in TIME_RANGES},
            allowlisted=allowlisted,
        )


# --- renderings ------------------------------------------------------------------------------


def _images(kind: str, item_id: str) -> list[dict[str, Any]]:
    return [
        {"url": f"https://i.scdn.co/image/{kind}-{item_id}-{size}", "height": size, "width": size}
        for size in _IMAGE_SIZES
    ]


def _links(api: str, kind: str, item_id: str) -> dict[str, Any]:
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/{kind}/{item_id}"},
        "href": f"{api}/{kind}s/{item_id}",
        "id": item_id,
        "type": kind,
        "uri": f"spotify:{kind}:{item_id}",
    }


def simplified_artist_json(artist: FakeArtist, api: str) -> dict[str, Any]:
    """SimplifiedArtistObject."""
    return {**_links(api, "artist", artist.id), "name": artist.name}


def artist_json(artist: FakeArtist, api: str, *, full: bool) -> dict[str, Any]:
    """ArtistObject; development mode drops genres, popularity and followers."""
    body = {**simplified_artist_json(artist, api), "images": _images("artist", artist.id)}
    if full:
        body["genres"] = list(artist.genres)
        body["popularity"] = artist.popularity
        body["followers"] = {"href": None, "total": artist.followers}
    return body


def _album_json(catalog: Catalog, track: FakeTrack, api: str) -> dict[str, Any]:
    return {
        **_links(api, "album", track.album_id),
        "album_type": "single",
        "total_tracks": 1,
        "available_markets": ["SE", "US", "GB"],
        "images": _images("album", track.album_id),
        "name": f"{track.name} (single)",
        "release_date": "2021-05-14",
        "release_date_precision": "day",
        "artists": [simplified_artist_json(catalog.artists[a], api) for a in track.artist_ids],
    }


def track_json(catalog: Catalog, track: FakeTrack, api: str, *, full: bool) -> dict[str, Any]:
    """TrackObject; development mode drops popularity and available_markets."""
    body: dict[str, Any] = {
        **_links(api, "track", track.id),
        "album": _album_json(catalog, track, api),
        "artists": [simplified_artist_json(catalog.artists[a], api) for a in track.artist_ids],
        "disc_number": 1,
        "duration_ms": track.duration_ms,
        "explicit": False,
        "external_ids": {"isrc": f"SE{track.id[:10].upper()}"},
        "is_local": False,
        "name": track.name,
        "preview_url": None,
        "track_number": 1,
    }
    if full:
        body["popularity"] = 50
        body["available_markets"] = ["SE", "US", "GB"]
    return body


def user_json(user: FakeUser, api: str, *, full: bool) -> dict[str, Any]:
    """PrivateUserObject; development mode drops country, email, product and followers."""
    body: dict[str, Any] = {
        **_links(api, "user", user.id),
        "account_id": user.account_id,
        "display_name": user.display_name,
        "images": _images("user", user.id)[:1],
    }
    if full:
        body["country"] = user.country
        body["email"] = f"{user.id}@example.invalid"
        body["product"] = user.product
        body["followers"] = {"href": None, "total": 3}
        body["explicit_content"] = {"filter_enabled": False, "filter_locked": False}
    return body


def audio_features_json(track: FakeTrack, api: str) -> dict[str, Any] | None:
    """AudioFeaturesObject, or None (Spotify answers null for tracks it has no analysis of)."""
    if track.features is None:
        return None
    values = dict(track.features)
    for integral in ("key", "mode", "time_signature"):
        values[integral] = int(values.get(integral, 0))
    return {
        **values,
        "analysis_url": f"{api}/audio-analysis/{track.id}",
        "duration_ms": track.duration_ms,
        "id": track.id,
        "track_href": f"{api}/tracks/{track.id}",
        "type": "audio_features",
        "uri": f"spotify:track:{track.id}",
    }


def reccobeats_json(track: FakeTrack) -> dict[str, Any]:
    """One ReccoBeats ``content`` item: its own uuid, the Spotify id only inside ``href``."""
    values = dict(track.features or {})
    for integral in ("key", "mode", "time_signature"):
        values.pop(integral, None)
    return {
        "id": track.reccobeats_id,
        "href": f"https://open.spotify.com/track/{track.id}",
        **values,
    }
