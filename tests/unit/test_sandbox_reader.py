"""The sandbox terminal's line reader on standard input redirected from a file."""

from __future__ import annotations

from pathlib import Path

from soundsync_cli.sandbox_repl import LineReader


async def test_a_redirected_file_is_read_line_by_line_with_its_lines_echoed(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("as bob\n/matches ✓\nquit", encoding="utf-8")  # no newline at the end
    shown: list[str] = []
    with script.open(encoding="utf-8") as stdin:
        read = LineReader(stdin, shown.append)
        lines = [await read("> ") for _ in range(4)]
    assert lines == ["as bob", "/matches ✓", "quit", None]
    assert "".join(shown) == "> as bob\n> /matches ✓\n> quit\n> \n"
