"""Hypothesis strategies for the import tests: JSON values, nearly right profile lines and
Spotify export histories (valid three times in four, so the checks behind a field are reached)."""

from __future__ import annotations

from hypothesis import strategies as st

scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
           | st.sampled_from(["1", "0", "-1", "a\x00b", "\ud800", "9" * 30, "x" * 600]))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def mostly(valid: st.SearchStrategy, junk: st.SearchStrategy) -> st.SearchStrategy:
    """Valid values three times in four, so the checks behind a field are reached too."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda ok: valid if ok else junk)


# Nearly right records: the right keys, mostly right values, and anything now and then.
ids = mostly(st.text(min_size=1, max_size=12),
             st.sampled_from(["", " ", "x" * 201, "a\x00", "\udfff"]) | json_values)
names = mostly(st.text(max_size=12), st.sampled_from(["n" * 501, "\x00", "\ud800x"]) | json_values)
numbers = mostly(st.integers(0, 10_000),
                 st.integers() | st.floats() | st.sampled_from([2**31, 10**400, 1e308, -1e39]))
features = st.dictionaries(st.sampled_from(["energy", "loudness", "tempo", "key"]),
                           mostly(st.floats(-60, 250), numbers | json_values))


@st.composite
def ranked(draw: st.DrawFn, extra: dict[str, st.SearchStrategy]) -> list[dict]:
    count = draw(st.integers(0, 4))
    ranks = draw(mostly(st.permutations(range(1, count + 1)), st.lists(numbers, min_size=count,
                                                                       max_size=count)))
    optional = st.fixed_dictionaries({}, optional={"name": names, "playcount": numbers, **extra})
    return [{"id": draw(ids), "rank": rank, **draw(optional)} for rank in ranks]


snowflakes = mostly(st.integers(1, 2**63 - 1).map(str),
                    st.integers().map(str) | st.just(str(2**63)) | json_values)
records = st.fixed_dictionaries(
    {"user_id": snowflakes,
     "top_artists": mostly(ranked({"genres": st.lists(names, max_size=3)}), json_values)},
    optional={
        "display_name": names,
        "guild_ids": mostly(st.lists(snowflakes, max_size=3), json_values),
        "top_tracks": mostly(ranked({"artist_ids": st.lists(ids, max_size=3),
                                     "audio_features": mostly(features, json_values)}),
                             json_values),
    },
)


times = mostly(st.datetimes().map(lambda t: t.isoformat() + "Z"),
               st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "x"])
               | scalars)
plays = st.fixed_dictionaries(
    {"ts": times, "ms_played": mostly(st.integers(30_000, 600_000), st.integers() | scalars)},
    optional={"master_metadata_album_artist_name": names, "master_metadata_track_name": names,
              "spotify_track_uri": mostly(st.just("spotify:track:" + "a" * 22), scalars),
              "incognito_mode": st.booleans()},
)
account_plays = st.fixed_dictionaries(
    {"endTime": mostly(st.datetimes().map(lambda t: t.strftime("%Y-%m-%d %H:%M")), scalars),
     "msPlayed": mostly(st.integers(30_000, 600_000), st.integers() | scalars),
     "artistName": names, "trackName": names},
)
documents = mostly(st.lists(mostly(plays | account_plays, json_values), max_size=6), json_values)
