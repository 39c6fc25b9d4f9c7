"""A progress bar on stderr when it is a terminal; silence otherwise (logs, CI, pipes)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``Progress("recluster")(stage, done, total)`` redraws one status line."""

    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.width = width
        self._started = time.monotonic()
        self._last_draw = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last_draw < 0.1:
            return  # redrawing more than ten times a second only costs time
        self._last_draw = now
        fraction = done / total if total else 1.0
        filled = int(self.width * fraction)
        bar = "█" * filled + "·" * (self.width - filled)
        elapsed = now - self._started
        self.stream.write(
            f"\r{self.label}: {stage:<12} [{bar}] {done}/{total} {elapsed:5.1f}s\033[K"
        )
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
