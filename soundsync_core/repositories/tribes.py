"""A run's tribes and who is in which (``cluster_centers``, ``user_clusters``): read only.

Written by the recluster (:mod:`~soundsync_core.repositories.runs`); callers pass a run id
they got from ``live_runs``, so they never read a half-written run.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from soundsync_core.repositories.visibility import shown_in_scope

Executor = asyncpg.Pool | asyncpg.Connection


async def tribe_centres(conn: Executor, run_id: int) -> list[asyncpg.Record]:
    """``cluster``, ``name`` and ``artist_weights`` of every tribe of the run."""
    return await conn.fetch(
        "SELECT cluster, name, artist_weights FROM cluster_centers WHERE run_id = $1", run_id
    )


async def tribe_names(conn: Executor, run_id: int) -> dict[int, str]:
    """Tribe id → name, for the run."""
    rows = await conn.fetch("SELECT cluster, name FROM cluster_centers WHERE run_id = $1", run_id)
    return {r["cluster"]: r["name"] for r in rows}


async def tribe_name_of(conn: Executor, run_id: int, user_id: int) -> str | None:
    """The name of the member's tribe in the run (None: the member is not in it)."""
    return await conn.fetchval(
        """SELECT c.name FROM user_clusters u
           JOIN cluster_centers c ON c.run_id = u.run_id AND c.cluster = u.cluster
           WHERE u.run_id = $1 AND u.user_id = $2""",
        run_id, user_id,
    )


async def tribe_members_among(
    conn: Executor, run_id: int, cluster: int, user_ids: Sequence[int]
) -> list[int]:
    """Which of ``user_ids`` are in tribe ``cluster`` of the run."""
    rows = await conn.fetch(
        """SELECT user_id FROM user_clusters
           WHERE run_id = $1 AND cluster = $2 AND user_id = ANY($3::bigint[])""",
        run_id, cluster, list(user_ids),
    )
    return [r["user_id"] for r in rows]


async def guild_tribe_sizes(conn: Executor, run_id: int, guild_id: int) -> list[asyncpg.Record]:
    """Every tribe of the run (``cluster``, ``name``, ``size``, ``top_artists``, ``top_genres``)
    with ``in_guild``, how many of the guild's members it holds; most of them first."""
    return await conn.fetch(
        """SELECT c.cluster, c.name, c.size, c.top_artists, c.top_genres,
                  count(g.user_id) AS in_guild
           FROM cluster_centers c
           LEFT JOIN user_clusters u ON u.run_id = c.run_id AND u.cluster = c.cluster
           LEFT JOIN guild_members g ON g.user_id = u.user_id AND g.guild_id = $2
           WHERE c.run_id = $1
           GROUP BY c.cluster, c.name, c.size, c.top_artists, c.top_genres
           ORDER BY in_guild DESC, c.cluster""",
        run_id, guild_id,
    )


async def guild_members_in_run(conn: Executor, run_id: int, guild_id: int) -> list[int]:
    """The guild's members the run placed in a tribe, by id."""
    rows = await conn.fetch(
        """SELECT u.user_id FROM user_clusters u
           JOIN guild_members g ON g.user_id = u.user_id AND g.guild_id = $2
           WHERE u.run_id = $1 ORDER BY u.user_id""",
        run_id, guild_id,
    )
    return [r["user_id"] for r in rows]


_MAP_POINTS = f"""SELECT u.map_x, u.map_y, u.cluster FROM user_clusters u
    JOIN members m ON m.user_id = u.user_id
    WHERE u.run_id = $1 AND {shown_in_scope("m", "$2::bigint")}
      AND u.map_x IS NOT NULL AND u.map_y IS NOT NULL"""  # noqa: S608 (a constant fragment)


async def map_points(conn: Executor, run_id: int, guild_id: int) -> list[tuple[float, float, int]]:
    """``(x, y, tribe)`` on the run's taste map of each guild member who may be shown there."""
    rows = await conn.fetch(_MAP_POINTS, run_id, guild_id)
    return [(float(r["map_x"]), float(r["map_y"]), int(r["cluster"])) for r in rows]
