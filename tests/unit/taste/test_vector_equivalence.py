"""The taste vectors are exactly what the columnar build gives (golden fingerprints).

The fingerprints below were first recorded with the per-member, object-based build the engine
used before :class:`ProfileTable` existed, and re-recorded once when the weighting changed by
design (see ``GOLDEN``); every view's ids (in column order), weights, ranks, rarity and
presence, and the audio view, must come out the same (up to float rounding). The
communities mix synthetic members with the awkward inputs the old code handled member by member:
tracks-only members (artists derived from tracks), unordered and gapped ranks, an artist listed
twice with other genres, playcounts known for some items only, the per-view cap, duplicate tracks
with other artists, and audio features missing, NaN or infinite on some tracks.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace

import numpy as np
import pytest

from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile
from soundsync_core.taste.similarity import TasteVectors, build_vectors
from soundsync_synthetic import generate_community


def edge_profiles() -> list[TasteProfile]:
    """Synthetic members bent into every awkward shape, plus a few made by hand."""
    out = []
    for i, p in enumerate(generate_community(240, seed=5).profiles):
        if i % 7 == 3:  # tracks only: the artists come from the tracks
            p = replace(p, artists=())
        elif i % 11 == 4:  # listed worst first, ranks with gaps
            p = replace(p, artists=tuple(replace(a, rank=3 * a.rank + 1) for a in reversed(p.artists)))
        elif i % 13 == 5:  # the favourite listed again lower, with other genres and a count
            first = p.artists[0]
            again = replace(first, rank=len(p.artists) + 5, genres=("dup-genre",), playcount=7)
            p = replace(p, artists=(*p.artists, again))
        elif i % 17 == 6:  # some counts known, some not (0 is unknown too)
            counts = [None, 0, 40, 3]
            p = replace(p, artists=tuple(
                replace(a, playcount=counts[k % 4]) for k, a in enumerate(p.artists)
            ))
        out.append(p)
    many = tuple(
        RankedArtist(f"a{k % 700}", k + 1, playcount=(k * 37) % 90 or None, genres=(f"g{k % 9}",))
        for k in range(650)
    )
    odd_audio = (
        RankedTrack("hand-t1", 1, artist_ids=("a1", "a2"), playcount=3,
                    audio_features={"energy": 0.9, "loudness": float("nan"), "tempo": 128.0}),
        RankedTrack("hand-t2", 2, artist_ids=("a2",), audio_features={"valence": float("inf")}),
        RankedTrack("hand-t3", 3, artist_ids=("a3",), audio_features={"danceability": 0.4}),
        RankedTrack("hand-t1", 4, artist_ids=("a9",), playcount=12, audio_features={"energy": 0.1}),
    )
    out += [
        TasteProfile(9_000_001, many, odd_audio),
        TasteProfile(9_000_002, (), odd_audio),  # tracks only, a duplicate track with other artists
        TasteProfile(9_000_003, ()),  # nothing at all
    ]
    return out


def fingerprint(vectors: TasteVectors) -> dict[str, object]:
    """Order-sensitive checksums of every view (a changed weight, rank or column shows up)."""
    out: dict[str, object] = {}
    for name, view in vectors.items.items():
        out[f"{name} ids"] = hashlib.sha256("\n".join(view.ids).encode()).hexdigest()[:12]
        out[f"{name} nnz"] = int(view.matrix.nnz)
        out[f"{name} matrix"] = _checksum(view.matrix)
        out[f"{name} ranks"] = _checksum(view.ranks)
        out[f"{name} rarity"] = float(view.rarity.astype(float) @ (np.arange(len(view.rarity)) % 89 + 1))
        out[f"{name} present"] = int(np.flatnonzero(view.present).sum())
    audio = vectors.audio
    grid = (np.arange(audio.vectors.size) % 83 + 1).reshape(audio.vectors.shape)
    out["audio vectors"] = float((audio.vectors.astype(float) * grid).sum())
    out["audio present"] = int(np.flatnonzero(audio.present).sum())
    natural = np.nan_to_num(audio.natural_means, nan=-7.0)
    out["audio natural"] = float((natural * (np.arange(natural.size) % 79 + 1).reshape(natural.shape)).sum())
    out["baselines"] = [round(vectors.baselines[v], 9) for v in ("genres", "audio")]
    return out


def _checksum(matrix: object) -> float:
    coo = matrix.tocoo()  # type: ignore[attr-defined]
    return float((coo.data.astype(float) * ((coo.row * 31 + coo.col * 17) % 97 + 1)).sum())


COMMUNITIES = {
    "synthetic": lambda: generate_community(300, seed=1).profiles,
    "restricted app": lambda: generate_community(300, seed=2).restricted_app().profiles,
    "edge cases": edge_profiles,
}

# Recorded with the object-based build (seed 3). Re-recorded deliberately when the scoring became
# the rarity-weighted inner product (issue #11): weights (plays ** 0.75 or rank weight, normalised
# per member, × df ** -0.3, views on a common scale), the rarity column and the chance levels
# changed; ids, ranks, nnz, presence and audio did not, except the edge cases' artists, whose
# tracks-only members derive their artist order from the (new) track weights.
GOLDEN: dict[str, dict[str, object]] = {   'edge cases': {   'artists ids': 'bd6ce4b49878',
                      'artists nnz': 9245,
                      'artists matrix': 58422.52999264328,
                      'artists ranks': 19719696.0,
                      'artists rarity': 80265.10499598086,
                      'artists present': 28126,
                      'tracks ids': '0e41851836c0',
                      'tracks nnz': 6708,
                      'tracks matrix': 49631.98564417474,
                      'tracks ranks': 6426958.0,
                      'tracks rarity': 170726.5276787579,
                      'tracks present': 24784,
                      'genres ids': '440f653b1483',
                      'genres nnz': 2218,
                      'genres matrix': 24709.304160957225,
                      'genres ranks': 2464859.0,
                      'genres rarity': 328.20981165766716,
                      'genres present': 24891,
                      'audio vectors': -265.4742885967571,
                      'audio present': 12048,
                      'audio natural': 106790.40635019669,
                      'baselines': [0.287409902, 0.003610148]},
    'restricted app': {   'artists ids': 'cb1a01024ad6',
                          'artists nnz': 10344,
                          'artists matrix': 72489.67807521299,
                          'artists ranks': 10332215.0,
                          'artists rarity': 104516.3687017411,
                          'artists present': 44850,
                          'tracks ids': '363f0ea02040',
                          'tracks nnz': 8424,
                          'tracks matrix': 61146.172786394134,
                          'tracks ranks': 8113867.0,
                          'tracks rarity': 210116.98166635633,
                          'tracks present': 37910,
                          'genres ids': 'e3b0c44298fc',
                          'genres nnz': 0,
                          'genres matrix': 0.0,
                          'genres ranks': 0.0,
                          'genres rarity': 0.0,
                          'genres present': 0,
                          'audio vectors': 0.0,
                          'audio present': 0,
                          'audio natural': -752815.0,
                          'baselines': [0.0, 0.0]},
    'synthetic': {   'artists ids': '603efb4ec759',
                     'artists nnz': 11760,
                     'artists matrix': 74971.2923907116,
                     'artists ranks': 17020930.0,
                     'artists rarity': 104466.66979265213,
                     'artists present': 44850,
                     'tracks ids': '0ebd1cdf8e3a',
                     'tracks nnz': 7838,
                     'tracks matrix': 58525.857379671186,
                     'tracks ranks': 7224097.0,
                     'tracks rarity': 195574.17933495343,
                     'tracks present': 37103,
                     'genres ids': '9792800f4589',
                     'genres nnz': 3353,
                     'genres matrix': 35513.55468681734,
                     'genres ranks': 3255813.0,
                     'genres rarity': 102.27369996905327,
                     'genres present': 44850,
                     'audio vectors': 801.4117576681601,
                     'audio present': 17214,
                     'audio natural': 152669.01414762103,
                     'baselines': [0.2832008, -0.001359447]}}


@pytest.mark.parametrize("name", sorted(COMMUNITIES))
def test_vectors_equal_the_object_build(name: str) -> None:
    got = fingerprint(build_vectors(COMMUNITIES[name](), seed=3))
    want = GOLDEN[name]
    assert got.keys() == want.keys()
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-6), key
        else:
            assert got[key] == value, key


def test_edge_cases_have_the_shapes_they_test() -> None:
    profiles = edge_profiles()
    assert any(not p.artists and p.tracks for p in profiles)
    assert any(len(p.artists) > 500 for p in profiles)
    assert any(math.isnan(t.audio_features.get("loudness", 0.0)) for p in profiles for t in p.tracks
               if t.audio_features)
