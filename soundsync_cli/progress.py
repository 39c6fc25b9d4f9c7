"""A progress bar on stderr when it is a terminal; silence otherwise (logs, CI, pipes).

tqdm draws it rather than a hand-written line: it fits the terminal's width (a fixed-width line
redrawn with "\\r" breaks into a new line on every redraw in a narrow terminal), shows the rate
and the time left, and switches itself off when stderr is not a terminal.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    """``Progress("recluster")(stage, done, total)``: one bar per stage, redrawn in place."""

    def __init__(self, label: str, *, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self._stage: str | None = None
        self._bar: tqdm | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage or self._bar is None:
            self._finish()
            self._stage = stage
            # disable=None: no bar unless the stream is a terminal.
            self._bar = tqdm(total=total, desc=f"{self.label}: {stage}", file=self.stream,
                             disable=None, mininterval=0.1, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._finish()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
