"""A run's match rows as the engine hands them to storage: columns, and a source of reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


class ReasonsSource(Protocol):
    """Where a run's reasons come from: made chunk by chunk as the rows are written, so that
    computing them overlaps with PostgreSQL ingesting the rows (CPU: call it off the loop)."""

    def __call__(self, start: int, end: int) -> np.ndarray:
        """:data:`~soundsync_core.taste.bulk_reasons.PACKED` records of rows [start, end)."""
        ...


@dataclass(frozen=True)
class MatchRows:
    """A run's match rows as columns, and where their reasons come from."""

    scope_id: np.ndarray
    user_id: np.ndarray
    rank: np.ndarray
    other_id: np.ndarray
    score: np.ndarray
    reasons: ReasonsSource

    def __len__(self) -> int:
        return len(self.user_id)
