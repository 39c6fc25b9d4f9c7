"""Import lines that were tracebacks (issue #13), each with a word its refusal must contain."""

from __future__ import annotations

import json


def member_line(user_id: int, **artist: object) -> str:
    """A member with one artist (and whatever ``artist`` adds to it)."""
    return json.dumps({"user_id": str(user_id), "display_name": f"m{user_id}", "guild_ids": ["1"],
                       "top_artists": [{"id": f"a{user_id}", "rank": 1, **artist}]})


def track_line(user_id: int, **features: object) -> str:
    """A member with one track whose audio features are ``features``."""
    return json.dumps({"user_id": str(user_id), "top_artists": [{"id": "a", "rank": 1}],
                       "top_tracks": [{"id": f"t{user_id}", "rank": 1, "audio_features": features}]})


# Each of these was a traceback that rolled back its whole batch (issue #13).
BAD_LINES = {
    "rank beyond int32": (member_line(2, rank=10**30), "rank"),
    "playcount beyond int32": (member_line(2, playcount=10**30), "playcount"),
    "audio feature beyond float32": (track_line(2, energy=1e308), "energy"),
    "NUL in an artist name": (member_line(2, name="Sig\u0000ur Rós"), "NUL"),
    "NUL in the display name": (json.dumps({"user_id": "2", "display_name": "a\u0000",
                                            "top_artists": [{"id": "a", "rank": 1}]}), "NUL"),
    "lone surrogate in a name": (member_line(2, name="\ud800"), "invalid Unicode"),
    "100,000-character artist id": (
        json.dumps({"user_id": "2", "top_artists": [{"id": "x" * 100_000, "rank": 1}]}), "at most 200"),
    "user id beyond int64": (json.dumps({"user_id": str(2**63), "top_artists": [{"id": "a", "rank": 1}]}),
                             "Discord id"),
    "not UTF-8": (b'{"user_id": "2", "top_artists": [{"id": "\xe9", "rank": 1}]}', "not UTF-8"),
}
