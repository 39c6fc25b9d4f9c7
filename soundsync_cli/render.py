"""Plain-text and JSON renderings of matches and tribes for the terminal."""

from __future__ import annotations

from typing import Any

from soundsync_core.services.community_views import TribeView
from soundsync_core.services.matches import MatchList


def _reason_line(reasons: dict[str, Any]) -> str:
    shared = [a.get("name") or a.get("id") for a in reasons.get("shared_artists", [])[:3]]
    genres = [g.get("name", g) if isinstance(g, dict) else g
              for g in reasons.get("shared_genres", [])[:2]]
    parts = []
    if shared:
        parts.append("artists: " + ", ".join(str(s) for s in shared))
    if genres:
        parts.append("genres: " + ", ".join(str(g) for g in genres))
    return "; ".join(parts) or "similar overall taste"


def render_match_table(result: MatchList) -> str:
    if not result.matches:
        return "no matches yet (nobody else in this scope has a profile, or all are hidden)"
    lines = [f"{'#':>2}  {'member':<24} {'match':>6}  why"]
    for rank, match in enumerate(result.matches, 1):
        lines.append(
            f"{rank:>2}  {match.display_name[:24]:<24} {match.score * 100:5.0f}%  "
            f"{_reason_line(match.reasons)}"
        )
    if result.scored_live:
        lines.append("(scored live: this member joined after the last recluster)")
    return "\n".join(lines)


def match_list_json(user_id: int, result: MatchList) -> dict[str, Any]:
    return {
        "user_id": str(user_id),
        "scope": "global" if result.scope_id == 0 else str(result.scope_id),
        "run_id": result.run_id,
        "scored_live": result.scored_live,
        "matches": [
            {"user_id": str(m.user_id), "display_name": m.display_name,
             "score": round(m.score, 4), "reasons": m.reasons}
            for m in result.matches
        ],
    }


def render_tribes(tribes: list[TribeView]) -> str:
    if not tribes:
        return "no tribes in this guild yet"
    lines = []
    for tribe in tribes:
        lines.append(f"{tribe.name}  ({tribe.members_in_guild} here, {tribe.size} in all)")
        if tribe.top_artists:
            lines.append("   artists: " + ", ".join(tribe.top_artists[:5]))
        if tribe.top_genres:
            lines.append("   genres:  " + ", ".join(tribe.top_genres[:5]))
    return "\n".join(lines)
