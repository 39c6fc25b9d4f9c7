"""The synthetic community generator: shape, realism knobs, determinism, §9 JSONL, scale."""

from __future__ import annotations

import json
import time
from importlib import resources
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

from soundsync_core.taste.profile import AUDIO_FEATURES, TasteProfile
from soundsync_synthetic import (
    SPOTIFY_TOP_LIMIT,
    SyntheticCommunity,
    generate_community,
    jsonl_lines,
    write_jsonl,
)
from soundsync_synthetic._artists import curated_artists, scene_genres


@pytest.fixture(scope="module")
def community() -> SyntheticCommunity:
    return generate_community(600, seed=7)


def test_one_profile_per_member_with_unique_ids(community: SyntheticCommunity) -> None:
    ids = [p.user_id for p in community.profiles]
    assert len(ids) == 600
    assert len(set(ids)) == 600
    assert ids == list(community.user_ids)


def test_ranks_are_1_to_n_and_items_unique(community: SyntheticCommunity) -> None:
    for profile in community.profiles:
        assert [a.rank for a in profile.artists] == list(range(1, len(profile.artists) + 1))
        assert [t.rank for t in profile.tracks] == list(range(1, len(profile.tracks) + 1))
        assert len({a.id for a in profile.artists}) == len(profile.artists)
        assert len({t.id for t in profile.tracks}) == len(profile.tracks)


def test_profile_lengths_vary_like_real_ones(community: SyntheticCommunity) -> None:
    lengths = np.array([len(p.artists) for p in community.profiles])
    assert lengths.min() >= 5
    assert lengths.max() <= 150
    assert (lengths <= 12).any()
    assert (lengths > 100).any()
    assert 0.6 < np.mean((lengths >= 20) & (lengths <= 50)) < 0.95
    assert max(len(p.tracks) for p in community.profiles) <= SPOTIFY_TOP_LIMIT


def test_tracks_come_from_the_members_own_artists(community: SyntheticCommunity) -> None:
    for profile in community.profiles:
        mine = {a.id for a in profile.artists}
        assert all(set(t.artist_ids) <= mine for t in profile.tracks)


def test_playcounts_never_contradict_ranks(community: SyntheticCommunity) -> None:
    for profile in community.profiles:
        for items in (profile.artists, profile.tracks):
            counts = [item.playcount for item in items]
            if counts and counts[0] is not None:
                assert counts == sorted(counts, reverse=True)
                assert min(counts) >= 1


def test_optional_fields_are_partial(community: SyntheticCommunity) -> None:
    profiles = community.profiles
    artists = [a for p in profiles for a in p.artists]
    tracks = [t for p in profiles for t in p.tracks]
    assert 0.1 < np.mean([a.playcount is not None for a in artists]) < 0.9
    assert 0.2 < np.mean([bool(a.genres) for a in artists]) < 0.9
    assert 0.2 < np.mean([t.audio_features is not None for t in tracks]) < 0.8
    assert 0.05 < np.mean([not p.tracks for p in profiles]) < 0.3


def test_audio_features_are_in_provider_units(community: SyntheticCommunity) -> None:
    features = [t.audio_features for p in community.profiles for t in p.tracks if t.audio_features]
    values = {name: np.array([f[name] for f in features]) for name in AUDIO_FEATURES}
    assert values["loudness"].min() >= -60.0
    assert values["loudness"].max() <= 0.0
    assert values["tempo"].min() >= 40.0
    assert values["tempo"].max() <= 220.0
    assert values["tempo"].std() > 10.0  # BPM, not a 0–1 score
    for name in ("acousticness", "instrumentalness", "danceability", "energy", "valence"):
        assert values[name].min() >= 0.0
        assert values[name].max() <= 1.0


def test_audio_features_cluster_around_group_centres(community: SyntheticCommunity) -> None:
    cat = community.catalogue
    group_of_track = np.repeat(cat.group_of_artist(), cat.tracks_per_artist)
    energy = cat.track_features[:, AUDIO_FEATURES.index("energy")]
    groups = range(community.n_groups)
    centres = np.array([energy[group_of_track == g].mean() for g in groups])
    spread_within = np.mean([energy[group_of_track == g].std() for g in groups])
    assert centres.std() > spread_within  # the genre says more than the track-to-track noise


def test_members_have_one_to_three_tastes_and_a_main_one(community: SyntheticCommunity) -> None:
    for uid in community.user_ids:
        weights = community.taste_weights[uid]
        assert 1 <= len(weights) <= 3
        assert sum(weights.values()) == pytest.approx(1.0)
        assert community.groups[uid]
        assert community.groups[uid] <= set(weights)
    assert {len(w) for w in community.taste_weights.values()} == {1, 2, 3}


def test_planted_groups_show_in_shared_artists(community: SyntheticCommunity) -> None:
    def niche(profile: TasteProfile) -> set[str]:
        # Pop stars are shared by everyone, so group structure shows in the rest.
        return {a.id for a in profile.artists if int(a.id[1:]) >= community.catalogue.n_pop}

    artists = {p.user_id: niche(p) for p in community.profiles}
    primary = {uid: max(w, key=w.get) for uid, w in community.taste_weights.items()}
    same, other = [], []
    for u, v in combinations(list(community.user_ids)[:250], 2):
        (same if primary[u] == primary[v] else other).append(len(artists[u] & artists[v]))
    assert np.mean(same) > 5 * np.mean(other)


def test_pop_stars_are_shared_across_groups(community: SyntheticCommunity) -> None:
    top_pop_star = "a0"  # the head of the Zipf law over the shared pop block
    holders = [p.user_id for p in community.profiles if top_pop_star in {a.id for a in p.artists}]
    groups = set().union(*(community.groups[uid] for uid in holders))
    assert len(holders) > 0.3 * community.n_members
    assert len(groups) == community.n_groups


def test_members_are_in_one_or_two_of_several_guilds(community: SyntheticCommunity) -> None:
    sizes = {len(p.guild_ids) for p in community.profiles}
    assert sizes == {1, 2}
    assert len({g for p in community.profiles for g in p.guild_ids}) >= 3
    assert all(len(set(p.guild_ids)) == len(p.guild_ids) for p in community.profiles)


def test_same_seed_same_community_other_seed_other_community() -> None:
    first = list(jsonl_lines(generate_community(150, seed=3).profiles))
    again = list(jsonl_lines(generate_community(150, seed=3).profiles))
    other = list(jsonl_lines(generate_community(150, seed=4).profiles))
    assert first == again
    assert first != other


def test_restricted_app_sees_ranks_only(community: SyntheticCommunity) -> None:
    restricted = community.restricted_app().profiles
    assert [p.user_id for p in restricted] == list(community.user_ids)
    for full, seen in zip(community.profiles, restricted, strict=True):
        assert [a.id for a in seen.artists] == [a.id for a in full.artists][:SPOTIFY_TOP_LIMIT]
        assert [t.id for t in seen.tracks] == [t.id for t in full.tracks][:SPOTIFY_TOP_LIMIT]
        assert all(a.playcount is None and a.genres == () for a in seen.artists)
        assert all(t.playcount is None and t.audio_features is None for t in seen.tracks)


def test_jsonl_follows_design_section_9(community: SyntheticCommunity, tmp_path: Path) -> None:
    path = tmp_path / "profiles.jsonl"
    assert write_jsonl(community.profiles, path) == community.n_members
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == community.n_members
    for line, profile in zip(lines, community.profiles, strict=True):
        record = json.loads(line)
        _check_record(record)
        assert record["user_id"] == str(profile.user_id)
        assert [a["id"] for a in record["top_artists"]] == [a.id for a in profile.artists]


def _check_record(record: dict) -> None:
    assert set(record) <= {"user_id", "display_name", "guild_ids", "top_artists", "top_tracks"}
    assert record["user_id"].isdigit()
    assert isinstance(record["display_name"], str)
    assert all(isinstance(g, str) and g.isdigit() for g in record["guild_ids"])
    for artist in record["top_artists"]:
        assert set(artist) <= {"id", "name", "rank", "playcount", "genres"}
        assert isinstance(artist["id"], str)
        assert isinstance(artist["name"], str)
        assert isinstance(artist["rank"], int)
        assert artist["rank"] >= 1
        assert isinstance(artist.get("playcount", 0), int)
        assert all(isinstance(g, str) for g in artist.get("genres", []))
    for track in record.get("top_tracks", []):
        assert set(track) <= {"id", "name", "artist_ids", "rank", "playcount", "audio_features"}
        assert isinstance(track["rank"], int)
        assert all(isinstance(a, str) for a in track["artist_ids"])
        features = track.get("audio_features", {})
        assert set(features) <= set(AUDIO_FEATURES)
        assert all(isinstance(v, float | int) for v in features.values())


def test_jsonl_omits_unknown_optional_fields() -> None:
    line = next(jsonl_lines([TasteProfile(user_id=5, artists=())]))
    assert json.loads(line) == {"user_id": "5", "display_name": "", "guild_ids": [], "top_artists": []}


def test_twenty_thousand_members_in_a_few_seconds() -> None:
    started = time.perf_counter()
    big = generate_community(20_000, seed=1)
    profiles = big.profiles
    elapsed = time.perf_counter() - started
    assert len(profiles) == 20_000
    assert big.n_groups >= 40
    # ~5 s on a loaded 2-core machine; the bound leaves room for CI noise, not for a 10x regression.
    assert elapsed < 30.0


def test_curated_artists_ship_with_the_package_grouped_by_genre() -> None:
    text = resources.files("soundsync_synthetic").joinpath("data/artists.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")][1:]
    assert all(len(row) == 2 for row in rows)
    names = [artist for _, artist in rows]
    assert 300 <= len(names) == len(set(names))
    curated = curated_artists()
    assert sum(map(len, curated.values())) == len(names)
    assert {"jazz", "metal", "hip hop", "k-pop", "classical", "electronic", "indie rock", "country",
            "latin", "r&b"} <= set(scene_genres())
    assert "Miles Davis" in curated["jazz"]
    assert "Metallica" in curated["metal"]
    assert min(map(len, curated.values())) >= 15


def test_catalogue_names_real_artists_by_genre_and_invents_no_numbered_names(
    community: SyntheticCommunity,
) -> None:
    cat = community.catalogue
    curated = curated_artists()
    assert cat.artist_names[: len(curated["pop"])] == list(curated["pop"])
    for group, genres in enumerate(cat.group_genres):
        assert genres[0] == scene_genres()[group]
        start = cat.n_pop + group * cat.per_group
        head = cat.artist_names[start : start + len(curated[genres[0]])]
        assert head == list(curated[genres[0]])
        assert all(g in ((), (genres[0],)) for g in cat.artist_genres[start : start + len(head)])
    assert len(set(cat.artist_names)) == cat.n_artists
    listed = {name for names in curated.values() for name in names}
    invented = [name for name in cat.artist_names if name not in listed]
    assert not any(char.isdigit() for name in invented for char in name)  # no "Vean Momida 4300"


def test_groups_beyond_the_list_share_a_genre_and_split_its_artists() -> None:
    genres = len(scene_genres())
    big = generate_community(200, seed=2, n_groups=genres + 1, artists_per_group=30)
    cat = big.catalogue
    first, again = 0, genres  # the first genre names two groups
    assert cat.group_genres[first][0] == cat.group_genres[again][0]
    heads = [set(cat.artist_names[cat.n_pop + g * 30 :][:30]) for g in (first, again)]
    listed = set(curated_artists()[cat.group_genres[first][0]])
    assert heads[0] & listed
    assert heads[1] & listed
    assert not heads[0] & heads[1]
