"""One rule for artist identity across sources: names, MBIDs, Spotify ids, play counts."""

from __future__ import annotations

import pytest

from soundsync_core.profiles.identity import (
    ArtistIndex,
    CatalogueArtist,
    as_mbid,
    canonical_artist_id,
    canonical_track_id,
    combine_counts,
    evidence_of,
    merge_playcounts,
    normalise_artist_name,
    normalise_title,
    rekey,
)
from soundsync_core.taste.profile import RankedArtist, RankedTrack

QUEEN = "5eecaf18-02ec-47af-a4f2-7831db373419"
SPOTIFY_QUEEN = "1dfeR4HaWDbWqFHLkxsg1d"
UTADA = "b539e453-c4fe-47e3-8a07-8517eac74429"


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["AC/DC", "ACDC", "ac/dc", "AC-DC"], "acdc"),
        (["Beyoncé", "Beyonce", "BEYONCÉ"], "beyonce"),
        (["Sigur Rós", "Sigur Ros", "sigur rós"], "sigur ros"),
        (["MØ", "Mo", "mø"], "mo"),
        (["Tyler, The Creator", "Tyler The Creator", "tyler, the creator"], "tyler the creator"),
        (["The Beatles", "Beatles", "Beatles, The", "the  beatles"], "beatles"),
        (["Simon & Garfunkel", "Simon and Garfunkel"], "simon and garfunkel"),
        (["Machine Gun Kelly feat. blackbear", "Machine Gun Kelly (ft. blackbear)",
          "Machine Gun Kelly featuring blackbear", "Machine Gun Kelly"], "machine gun kelly"),
        (["ＹＵＩ", "YUI", "yui"], "yui"),
        (["Guns N' Roses", "Guns N Roses"], "guns n roses"),
    ],
)
def test_spellings_of_one_artist_share_a_key(spellings: list[str], key: str) -> None:
    assert {normalise_artist_name(s) for s in spellings} == {key}


def test_the_the_keeps_its_name() -> None:
    assert normalise_artist_name("The The") == "the the"
    assert normalise_artist_name("The The") != normalise_artist_name("The")
    assert normalise_artist_name("The") == "the"


def test_cjk_names_are_kept_and_stay_distinct() -> None:
    assert normalise_artist_name("宇多田ヒカル") == "宇多田ヒカル"
    assert normalise_artist_name(" 孫燕姿 ") == "孫燕姿"
    # Voicing marks change the word: ガ and カ must stay apart, as must Hangul syllables.
    assert normalise_artist_name("ガガ") != normalise_artist_name("カカ")
    assert normalise_artist_name("방탄소년단") == "방탄소년단"
    assert normalise_artist_name("ＲＡＤＷＩＭＰＳ feat. 十明") == "radwimps"


def test_names_made_of_punctuation_keep_their_characters() -> None:
    assert normalise_artist_name("!!!") == "!!!"
    assert normalise_artist_name("!!!") != normalise_artist_name("???")


def test_titles_keep_their_article() -> None:
    assert normalise_title("The Less I Know the Better") == "the less i know the better"
    assert normalise_title("Starboy (feat. Daft Punk)") == "starboy"


def test_only_musicbrainz_uuids_are_mbids() -> None:
    assert as_mbid(UTADA.upper()) == UTADA
    # Last.fm fills some "mbid" fields with its own version-3 ids: not MusicBrainz ids.
    assert as_mbid("aa47444c-f2e9-3be0-8005-3c52c32f6a14") is None
    assert as_mbid("") is None
    assert as_mbid("not-a-uuid") is None


def test_canonical_ids_prefer_mbid_then_spotify_then_name() -> None:
    assert canonical_artist_id(QUEEN, "1dfeR4HaWDbWqFHLkxsg1d", "Queen") == f"mbid:{QUEEN}"
    assert canonical_artist_id("", "1dfeR4HaWDbWqFHLkxsg1d", "Queen") == "1dfeR4HaWDbWqFHLkxsg1d"
    assert canonical_artist_id(None, None, "Beyoncé") == "name:beyonce"
    with pytest.raises(ValueError, match="needs"):
        canonical_artist_id(None, None, "  ")
    assert canonical_track_id(None, None, "The Fray", "How to Save a Life") == (
        "name:fray — how to save a life"
    )


def test_the_catalogue_joins_an_mbid_and_a_spotify_id() -> None:
    index = ArtistIndex.of([
        CatalogueArtist("1dfeR4HaWDbWqFHLkxsg1d", "Queen", QUEEN),
        CatalogueArtist("3TVXtAsR1Inumwj472S9r4", "Drake"),
        CatalogueArtist("name:drake", "Drake"),
    ])
    # MBID known to the catalogue: its Spotify id, whatever the spelling.
    assert index.resolve(QUEEN, None, "QUEEN (band)") == "1dfeR4HaWDbWqFHLkxsg1d"
    # Name only, one catalogue artist of that name: the Spotify id (name: rows are no evidence).
    assert index.resolve(None, None, "drake") == "3TVXtAsR1Inumwj472S9r4"
    # An MBID the catalogue does not hold, but one artist of that name without an MBID: joined.
    assert index.resolve("e5712ceb-c37a-4c49-a11c-ccf4e21852d4", None, "Drake") == (
        "3TVXtAsR1Inumwj472S9r4"
    )
    # Unknown everywhere: its own canonical id.
    assert index.resolve(UTADA, None, "宇多田ヒカル") == f"mbid:{UTADA}"


def test_the_catalogue_never_guesses_between_namesakes() -> None:
    index = ArtistIndex.of([
        CatalogueArtist("spotify-nirvana-us", "Nirvana"),
        CatalogueArtist("spotify-nirvana-uk", "Nirvana"),
        CatalogueArtist(f"mbid:{QUEEN}", "Low"),
    ])
    assert index.resolve(None, None, "Nirvana") == "name:nirvana"
    # The only "Low" in the catalogue has another MBID: another band called Low.
    other_low = "e7f6b8ac-9f0c-4d53-9b3b-2ba5d7e1b0a1"
    assert index.resolve(other_low, None, "Low") == f"mbid:{other_low}"
    assert index.resolve_all({"x": (None, None, "Low")}) == {"x": f"mbid:{QUEEN}"}


def test_play_counts_merge_by_maximum_and_add_within_a_source() -> None:
    assert merge_playcounts([120, None, 300]) == 300
    assert merge_playcounts([None, None]) is None
    assert combine_counts(3, 4) == 7
    assert combine_counts(None, 4) == 4
    assert combine_counts(5, None) == 5


def test_rekeying_merges_artists_that_turn_out_to_be_one() -> None:
    artists = (RankedArtist(f"mbid:{QUEEN}", 1, "Queen", 10), RankedArtist("x", 2, "Other", 3),
               RankedArtist("name:queen", 3, "Queen", 5))
    tracks = (RankedTrack("t", 1, "Innuendo", ("name:queen", f"mbid:{QUEEN}")),)
    merged_artists, merged_tracks = rekey(
        artists, tracks, {f"mbid:{QUEEN}": SPOTIFY_QUEEN, "name:queen": SPOTIFY_QUEEN}
    )
    assert [(a.id, a.rank, a.playcount) for a in merged_artists] == [(SPOTIFY_QUEEN, 1, 15), ("x", 2, 3)]
    assert merged_tracks[0].artist_ids == (SPOTIFY_QUEEN,)


def test_evidence_is_read_back_from_canonical_ids() -> None:
    assert evidence_of(RankedArtist(f"mbid:{QUEEN}", 1, "Queen")) == (QUEEN, None, "Queen")
    assert evidence_of(RankedArtist(SPOTIFY_QUEEN, 1, "Queen")) == (None, SPOTIFY_QUEEN, "Queen")
    assert evidence_of(RankedArtist("name:queen", 1, "Queen")) == (None, None, "Queen")


def test_a_spotify_id_joins_the_artist_another_source_brought_first() -> None:
    index = ArtistIndex.of([
        CatalogueArtist(f"mbid:{QUEEN}", "Queen", QUEEN),
        CatalogueArtist("name:monk", "Monk"),
        CatalogueArtist("spotify-nirvana-us", "Nirvana"),
        CatalogueArtist("4Z8W4fKeB5YxbusRsdQVPb", "Radiohead"),
        CatalogueArtist("name:radiohead", "Radiohead"),
    ])
    assert index.resolve(None, "1dfeR4HaWDbWqFHLkxsg1d", "Queen") == f"mbid:{QUEEN}"
    assert index.resolve(None, "4Z8W4fKeB5YxbusRsdQVPc", "Thelonious Monk") == (
        "4Z8W4fKeB5YxbusRsdQVPc"
    )
    assert index.resolve(None, "monk-spotify", "Monk") == "name:monk"
    # Another Spotify artist of that name is a namesake: Spotify tells them apart.
    assert index.resolve(None, "spotify-nirvana-uk", "Nirvana") == "spotify-nirvana-uk"
    # A Spotify id the catalogue holds keeps itself.
    assert index.resolve(None, "4Z8W4fKeB5YxbusRsdQVPb", "Radiohead") == "4Z8W4fKeB5YxbusRsdQVPb"
