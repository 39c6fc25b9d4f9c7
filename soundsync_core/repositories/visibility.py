"""Who may see whom, written once as SQL fragments every member-listing query embeds.

The rule: a member is never listed to themself; a ``hidden`` member is never listed; in the
global scope (:data:`~soundsync_core.taste.community.GLOBAL_SCOPE`) only ``global`` members are
listed, in a guild's scope only members of that guild; and two members of whom one asked never
to see the other ("already friends", "not interested") are never listed to each other, in
either direction. The recluster applies the same rule to the pairs it ranks
(:class:`~soundsync_core.taste.neighbours.Exclusions`).

The fragments take SQL expressions, not values: an alias, an alias's column, a ``$n``
parameter or a number, chosen by the calling query (anything else is refused, so no value can
reach the SQL text). They are plain boolean expressions (not a SQL function), so the planner
sees through them on the ``/matches`` hot path.
"""

from __future__ import annotations

import re

_EXPRESSION = re.compile(r"(\$\d+(::bigint)?|\d+|[a-z_][a-z0-9_]*(\.[a-z_]+)?)")


def _checked(*expressions: str) -> None:
    for expression in expressions:
        if not _EXPRESSION.fullmatch(expression):
            raise ValueError(f"not an alias, column, parameter or number: {expression!r}")


def shown_in_scope(member: str, scope: str) -> str:
    """``member`` (a ``members`` row alias) may appear in scope ``scope`` (a bigint expression)."""
    _checked(member, scope)
    return f"""({member}.visibility <> 'hidden'
        AND ({scope} = 0 AND {member}.visibility = 'global'
             OR {scope} <> 0 AND EXISTS (SELECT 1 FROM guild_members vis_g
                                         WHERE vis_g.guild_id = {scope}
                                           AND vis_g.user_id = {member}.user_id)))"""  # noqa: S608 (checked expressions)


def no_exclusion_between(viewer: str, other: str) -> str:
    """Neither member asked never to see the other (both are bigint expressions)."""
    _checked(viewer, other)
    # Two NOT EXISTS rather than one with OR: each becomes an anti-join on the primary key.
    return f"""(NOT EXISTS (SELECT 1 FROM match_exclusions vis_x
                    WHERE vis_x.user_id = {viewer} AND vis_x.other_id = {other})
        AND NOT EXISTS (SELECT 1 FROM match_exclusions vis_y
                        WHERE vis_y.user_id = {other} AND vis_y.other_id = {viewer}))"""  # noqa: S608 (checked expressions)


def listed_to(viewer: str, other: str, scope: str) -> str:
    """``other`` (a ``members`` row alias) may be listed to member ``viewer`` in ``scope``."""
    return (
        f"({other}.user_id <> {viewer} AND {shown_in_scope(other, scope)}"
        f" AND {no_exclusion_between(viewer, other + '.user_id')})"
    )
