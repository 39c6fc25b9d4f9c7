"""PNG charts of taste: a member's profile and a guild's taste map (pure, headless).

Figures are built with matplotlib's object API on the Agg canvas — never pyplot, whose global
state is not safe in the worker threads these functions run in.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Loudness is in dB (about −60…0); the others are already 0…1.
LOUDNESS_FLOOR_DB = -60.0
_PALETTE = ("#1DB954", "#5865F2", "#F47B67", "#FAA61A", "#9B59B6", "#3BA55C", "#EB459E",
            "#00B0F4", "#ED4245", "#95A5A6")


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def unit_feature(name: str, value: float) -> float:
    """A feature on a 0…1 scale (loudness mapped from −60…0 dB), clipped."""
    if name == "loudness":
        value = (value - LOUDNESS_FLOOR_DB) / -LOUDNESS_FLOOR_DB
    return min(1.0, max(0.0, value))


def audio_profile_chart(title: str, audio: Mapping[str, float]) -> bytes:
    """Horizontal bars of the member's mean audio features on a 0…1 scale."""
    names = list(audio)
    figure = Figure(figsize=(6, 3.2))
    axes = figure.add_subplot()
    axes.barh(names, [unit_feature(n, audio[n]) for n in names], color=_PALETTE[0])
    axes.set_xlim(0, 1)
    axes.invert_yaxis()
    axes.set_title(title)
    figure.tight_layout()
    return _png(figure)


def mix_chart(title: str, mix: Sequence[tuple[str, float]]) -> bytes:
    """Horizontal bars of a genre (or artist) mix given as (label, share 0…1)."""
    figure = Figure(figsize=(6, 3.2))
    axes = figure.add_subplot()
    labels = [label for label, _ in mix] or ["(no data)"]
    shares = [share * 100 for _, share in mix] or [0.0]
    axes.barh(labels, shares, color=_PALETTE[1])
    axes.invert_yaxis()
    axes.set_xlabel("share of listening, %")
    axes.set_title(title)
    figure.tight_layout()
    return _png(figure)


def taste_map_chart(
    title: str, points: Sequence[tuple[float, float, int]], tribe_names: Mapping[int, str]
) -> bytes:
    """Every member as a dot on the 2-D taste map, coloured by tribe, with a legend of names."""
    figure = Figure(figsize=(6.5, 5))
    axes = figure.add_subplot()
    for tribe in sorted({p[2] for p in points}):
        xs = [x for x, _, t in points if t == tribe]
        ys = [y for _, y, t in points if t == tribe]
        colour = _PALETTE[tribe % len(_PALETTE)]
        axes.scatter(xs, ys, s=24, color=colour, label=tribe_names.get(tribe, f"tribe {tribe}"))
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title)
    if points:
        axes.legend(loc="best", fontsize="small")
    figure.tight_layout()
    return _png(figure)


def profile_chart(
    title: str,
    audio: Mapping[str, float] | None,
    genre_mix: Sequence[tuple[str, float]],
    top_artists: Sequence[str],
) -> bytes:
    """The member's chart: audio features when known, else the genre mix, else the artist mix."""
    if audio:
        return audio_profile_chart(title, audio)
    if genre_mix:
        return mix_chart(title, genre_mix)
    # Rank-weighted shares (1/rank), like the genre mix, so the favourite stands out.
    weights = [1.0 / rank for rank in range(1, len(top_artists) + 1)]
    total = sum(weights) or 1.0
    return mix_chart(title, [(a, w / total) for a, w in zip(top_artists, weights, strict=True)])
