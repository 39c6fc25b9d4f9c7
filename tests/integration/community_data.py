"""A small hand-made community with three planted taste groups, as import lines."""

from __future__ import annotations

import json
import random

GROUPS = {
    "metal": [f"metal{i}" for i in range(12)],
    "jazz": [f"jazz{i}" for i in range(12)],
    "kpop": [f"kpop{i}" for i in range(12)],
}
POPULAR = [f"pop{i}" for i in range(5)]


def member_line(user_id: int, group: str, guilds: list[int], rng: random.Random) -> str:
    own = rng.sample(GROUPS[group], 8)
    artists = own[:4] + rng.sample(POPULAR, 2) + own[4:]
    record = {
        "user_id": str(user_id),
        "display_name": f"{group}-{user_id}",
        "guild_ids": [str(g) for g in guilds],
        "top_artists": [
            {"id": a, "name": a.title(), "rank": r, "genres": [a.rstrip("0123456789")]}
            for r, a in enumerate(artists, 1)
        ],
    }
    return json.dumps(record)


def community_lines(per_group: int = 10, *, guild: int = 1, first_id: int = 1000,
                    seed: int = 7) -> list[str]:
    """``per_group`` members of each group, all in ``guild``; ids from ``first_id`` upward."""
    rng = random.Random(seed)
    lines = []
    user_id = first_id
    for group in GROUPS:
        for _ in range(per_group):
            lines.append(member_line(user_id, group, [guild], rng))
            user_id += 1
    return lines


def group_of(user_id: int, per_group: int = 10, first_id: int = 1000) -> str:
    return list(GROUPS)[(user_id - first_id) // per_group]
