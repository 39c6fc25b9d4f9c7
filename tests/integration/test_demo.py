"""``soundsync demo`` as a newcomer runs it: tribes named from real artists, two PNGs, Try lines that work."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from matplotlib import image

from soundsync_cli.demo_commands import DEMO_DATABASE
from soundsync_core.db.databases import drop_database
from soundsync_synthetic._artists import curated_artists, scene_genres


def _run(argv: list[str], server_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env["DATABASE_URL"] = server_url
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def demo_output(server_url: str, tmp_path: Path) -> Iterator[str]:
    result = _run([sys.executable, "-m", "soundsync_cli", "demo", "--members", "150"], server_url, tmp_path)
    assert result.returncode == 0, result.stderr
    yield result.stdout
    asyncio.run(drop_database(server_url, DEMO_DATABASE))


def _section(text: str, start: str, end: str) -> list[str]:
    return text.split(start, 1)[1].split(end, 1)[0].strip().splitlines()


def test_demo_writes_two_pngs_names_tribes_from_real_artists_and_its_try_lines_run(
    demo_output: str, server_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "soundsync-demo"
    assert f"5. charts in {folder.resolve()}:" in demo_output
    for name in ("profile.png", "taste-map.png"):
        pixels = image.imread(folder / name)
        assert pixels.ndim == 3
        assert min(pixels.shape[:2]) > 100

    listed = {artist for artists in curated_artists().values() for artist in artists}
    tribes = [line for line in _section(demo_output, "3. tribes of guild", "4. matches")[1:]
              if not line.startswith(" ")]
    assert len(tribes) >= 2
    named = [line.split("  (")[0].split(" · ") for line in tribes]
    assert all(genre.endswith((*scene_genres(), "pop")) for genre, *_ in named), tribes
    # A small tribe may be told apart best by invented long-tail artists; most name real ones.
    assert sum(bool(set(artists) & listed) for _, *artists in named) >= len(named) / 2, tribes

    try_lines = _section(demo_output, f"Try (these read the demo's database, {DEMO_DATABASE}):", "\0")
    assert len(try_lines) == 3
    answers = [_run(shlex.split(line), server_url, tmp_path) for line in try_lines]
    for line, answer in zip(try_lines, answers, strict=True):
        assert answer.returncode == 0, (line, answer.stderr)
    matches, tribes_again, export = (a.stdout for a in answers)
    assert "%" in matches
    assert tribes_again.splitlines()[0] == tribes[0]
    assert export.count('"user_id"') >= 3
