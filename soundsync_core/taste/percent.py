"""The compatibility % a member reads: how close the other member comes to their identical twin.

``percent(u → v) = clip(raw(u, v) / twin(u), 0, 1)`` where ``twin(u)`` is the score ``u`` would
have with an exact copy of themself (:func:`similarity.twin_scores`). 100 % means "listens like
you" (same artists and tracks, same weights), 0 % "nothing in common"; a real friend typically
reads 20–60 %. Matches are still *ranked* by the symmetric score ``raw``; the percentage is per
reader and **not symmetric** — ``u`` may read 40 % of ``v`` while ``v`` reads 25 % of ``u``, when
what they share is a bigger part of ``u``'s listening than of ``v``'s. For one reader it only
grows with ``raw``, so it decreases down their list.

It depends only on the two profiles and on how rare their shared items are in the population,
so the same pair with unchanged data reads the same number after every recluster (no random
sample is involved), and a member who links between reclusters is scored the same way.

README note (paste-ready):

    *Compatibility %* — how close the other member's listening comes to yours: 100 % would be
    someone who lists your artists and tracks with your weights (an identical twin), 0 % someone
    with nothing in common. Shared rare artists count far more than ones everybody lists. It is
    read from your side, so it is not symmetric; unchanged profiles show the same % after every
    recluster.
"""

from __future__ import annotations

import numpy as np

# The one line /matches and /compare show under a match.
MEANING = ("% = how close their listening comes to yours (100 % = your identical twin); "
           "read from your side, so theirs of you may differ")


def reader_percent(raw: np.ndarray | float, twin: np.ndarray | float) -> np.ndarray:
    """``clip(raw / twin, 0, 1)`` element-wise; 0 where the reader's twin score is not positive."""
    raw = np.asarray(raw, dtype=np.float64)
    twin = np.broadcast_to(np.asarray(twin, dtype=np.float64), raw.shape)
    ratio = np.divide(raw, twin, out=np.zeros(raw.shape), where=twin > 0)
    return np.clip(ratio, 0.0, 1.0)
