"""The CLI's progress bar: drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io

from soundsync_cli.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_stages(progress: Progress) -> None:
    progress("vectors", 0, 1)
    progress("vectors", 1, 1)
    for done in range(0, 301, 100):
        progress("matching", done, 300)


def test_each_stage_is_drawn_to_its_total_on_a_terminal() -> None:
    terminal = _Terminal()
    _run_stages(Progress("recluster", stream=terminal))
    text = terminal.getvalue()
    assert "recluster: vectors" in text
    assert "1/1" in text
    assert "recluster: matching" in text
    assert "300/300" in text


def test_nothing_is_written_when_stderr_is_not_a_terminal() -> None:
    pipe = io.StringIO()
    _run_stages(Progress("recluster", stream=pipe))
    assert pipe.getvalue() == ""
