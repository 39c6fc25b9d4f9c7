"""Merge one member's profiles from several sources into one ranked profile, counts kept.

Rule (one for the whole code base, :func:`soundsync_core.profiles.identity.merge_playcounts`): an
item's play count is the **largest count any one source gives it**, not the sum — members often
scrobble the same plays to Last.fm and ListenBrainz at once, and ListenBrainz imports Spotify and
Last.fm history, so a sum would count one listen two or three times (Last.fm, ListenBrainz and
the Spotify export count plays; a source without counts adds nothing). It stays unknown only
when no source counts it. The merged order is by those plays when every source has counts, else
by reciprocal-rank fusion (a ranks-only source such as Spotify's top lists has no plays); ties
go by fusion score, then by id, so the merge is order-independent. Counts matter to matching:
they carry each member's listening concentration (``taste.vectors``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from soundsync_core.profiles.identity import merge_playcounts
from soundsync_core.taste.profile import RankedArtist, RankedTrack, TasteProfile

Item = TypeVar("Item", RankedArtist, RankedTrack)

# Reciprocal-rank fusion constant: 60 is the value of Cormack et al. (2009); it keeps one
# source's #1 from drowning another source's top ten.
RRF_K = 60


def _counted(items: Sequence[Item]) -> bool:
    return any((item.playcount or 0) > 0 for item in items)


def _fuse(
    lists: Sequence[Sequence[Item]], rerank: Callable[[Item, int, int | None], Item]
) -> tuple:
    if len(lists) == 1:
        return tuple(lists[0])
    score: dict[str, float] = {}
    plays: dict[str, int] = {}
    first: dict[str, Item] = {}
    for items in lists:
        for item in items:
            score[item.id] = score.get(item.id, 0.0) + 1.0 / (RRF_K + item.rank)
            if (item.playcount or 0) > 0:
                plays[item.id] = merge_playcounts([plays.get(item.id), item.playcount]) or 0
            first.setdefault(item.id, item)
    by_plays = all(_counted(items) for items in lists)
    ordered = sorted(
        score, key=lambda i: (-plays.get(i, 0) if by_plays else 0, -score[i], i)
    )
    return tuple(
        rerank(first[item_id], rank, plays.get(item_id)) for rank, item_id in enumerate(ordered, 1)
    )


def merge_profiles(profiles: Sequence[TasteProfile]) -> TasteProfile:
    """One profile from several sources of the same member (see the module's rule)."""
    if not profiles:
        raise ValueError("nothing to merge")
    if len(profiles) == 1:
        return profiles[0]
    ordered = sorted(profiles, key=lambda p: p.sources)
    base = ordered[0]
    artists = _fuse(
        [p.artists for p in ordered],
        lambda a, rank, count: RankedArtist(a.id, rank, a.name, count, a.genres),
    )
    tracks = _fuse(
        [p.tracks for p in ordered if p.tracks],
        lambda t, rank, count: RankedTrack(
            t.id, rank, t.name, t.artist_ids, count, t.audio_features
        ),
    ) if any(p.tracks for p in ordered) else ()
    return TasteProfile(
        user_id=base.user_id,
        artists=artists,
        tracks=tracks,
        display_name=next((p.display_name for p in ordered if p.display_name), ""),
        guild_ids=tuple(sorted({g for p in ordered for g in p.guild_ids})),
        sources=tuple(sorted({s for p in ordered for s in p.sources})),
    )
