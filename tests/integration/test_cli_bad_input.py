"""Bad input to the ``soundsync`` command as a user meets it: one clear line, the right exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from cryptography.fernet import Fernet

from soundsync_core.services.importer import import_profiles
from soundsync_core.services.recluster import recluster
from tests.integration.bad_import_lines import BAD_LINES
from tests.integration.community_data import community_lines

ROOT = Path(__file__).resolve().parents[2]


def _run(
    args: list[str], cwd: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    return subprocess.run(
        [sys.executable, "-m", "soundsync_cli", *args], env={**base, **env}, cwd=cwd, input=stdin,
        capture_output=True, text=True, timeout=120, check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_refused_lines_are_reported_then_the_summary_and_exit_1(db_url: str, tmp_path: Path) -> None:
    # Every line that was a traceback (issue #13), each between two good lines.
    cases = sorted(BAD_LINES.items())
    lines: list[bytes] = []
    for user_id, (_, (bad, _)) in enumerate(cases):
        good = json.dumps({"user_id": str(1000 + user_id), "top_artists": [{"id": "a", "rank": 1}]})
        lines += [good.encode(), bad if isinstance(bad, bytes) else bad.encode("utf-8", "surrogatepass")]
    lines.append(json.dumps({"user_id": "999", "top_artists": [{"id": "a", "rank": 1}]}).encode())
    (tmp_path / "members.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result = _run(["import-profiles", "members.jsonl"], tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    refused = result.stderr.strip().splitlines()
    assert len(refused) == len(cases)
    for line_number, (text, (_, (_, reason))) in enumerate(zip(refused, cases, strict=True)):
        assert text.startswith(f"line {2 * line_number + 2}: ")
        assert reason in text
        assert text.endswith("(refused)")
        assert len(text) < 300
    assert result.stdout.strip() == f"imported {len(cases) + 1} profile(s), rejected {len(cases)} line(s)"


def test_a_file_of_good_lines_exits_0(db_url: str, tmp_path: Path) -> None:
    sample = ROOT / "docs" / "sample-profiles.jsonl"
    from_file = _run(["import-profiles", str(sample)], tmp_path, DATABASE_URL=db_url)
    from_stdin = _run(["import-profiles", "-"], tmp_path, stdin=sample.read_text(encoding="utf-8"),
                      DATABASE_URL=db_url)
    for result in (from_file, from_stdin):
        assert (result.returncode, result.stderr) == (0, "")
        assert result.stdout.strip() == "imported 3 profile(s), rejected 0 line(s)"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("picture.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "is not UTF-8 text (binary data"),
        ("utf16.jsonl", '{"user_id": "1"}\n'.encode("utf-16"), "is not UTF-8 text (it is UTF-16)"),
        ("folder", None, "is a directory"),
        ("missing.jsonl", ..., "no such file"),
    ],
)
def test_a_file_that_is_not_jsonl_text_is_one_line_and_exit_2(
    tmp_path: Path, name: str, content: bytes | None, expected: str
) -> None:
    if content is None:
        (tmp_path / name).mkdir()
    elif content is not ...:
        (tmp_path / name).write_bytes(content)
    # No database is needed to refuse the file: it is judged before one is opened.
    result = _run(["import-profiles", name], tmp_path, DATABASE_URL="postgresql://127.0.0.1:9/none")
    assert result.returncode == 2
    assert expected in _one_line(result)
    assert result.stdout == ""


@pytest.mark.parametrize("argv", [["0"], ["--", "-5"], [str(2**63)], ["1", "--guild", str(2**64)]])
def test_link_url_refuses_an_id_no_discord_user_can_have(
    db_url: str, tmp_path: Path, argv: list[str]
) -> None:
    result = _run(["link-url", *argv], tmp_path, DATABASE_URL=db_url,
                  SOUNDSYNC_SECRET_KEY=Fernet.generate_key().decode())
    assert result.returncode == 2
    assert "must be a Discord id" in _one_line(result)


async def test_link_url_stores_no_state_for_a_refused_id(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "SOUNDSYNC_SECRET_KEY": Fernet.generate_key().decode()}
    assert _run(["link-url", "0"], tmp_path, **env).returncode == 2
    assert _run(["link-url", "7"], tmp_path, **env).returncode == 0
    conn = await asyncpg.connect(db_url)
    try:
        assert [r["user_id"] for r in await conn.fetch("SELECT user_id FROM oauth_states")] == [7]
    finally:
        await conn.close()


async def test_tribes_of_a_guild_without_members_after_a_recluster(
    pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    await import_profiles(pool, community_lines(per_group=4, guild=1))
    await recluster(pool)
    result = _run(["tribes", "--guild", "5"], tmp_path, DATABASE_URL=db_url)
    assert result.returncode == 1
    assert _one_line(result) == (
        "soundsync: guild 5 has no linked members yet, so it has no tribes or matches"
    )
    assert _run(["tribes", "--guild", "1"], tmp_path, DATABASE_URL=db_url).returncode == 0


def test_bot_with_env_example_copied_says_the_token_is_not_set(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"),
                                   encoding="utf-8")
    result = _run(["bot"], tmp_path)
    assert result.returncode == 2
    assert _one_line(result) == (
        "soundsync: configuration error: DISCORD_TOKEN is not set (required for this command)"
    )


def test_web_on_a_port_in_use_is_one_line_before_the_database_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        # No DATABASE_URL and a data dir that does not exist: had the database been started
        # first, the embedded server would have been created there.
        result = _run(["web", "--host", "127.0.0.1"], tmp_path, PORT=str(port),
                      SPOTIFY_CLIENT_ID="app", SOUNDSYNC_SECRET_KEY=Fernet.generate_key().decode(),
                      SOUNDSYNC_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in _one_line(result)
    assert not (tmp_path / "data").exists()


def test_a_malformed_secret_key_is_one_line_and_exit_2_before_anything_starts(tmp_path: Path) -> None:
    result = _run(["web"], tmp_path, SPOTIFY_CLIENT_ID="app", SOUNDSYNC_SECRET_KEY="not-a-key",
                  SOUNDSYNC_DATA_DIR=str(tmp_path / "data"))
    assert result.returncode == 2
    assert "SOUNDSYNC_SECRET_KEY" in _one_line(result)
    assert "not a Fernet key" in _one_line(result)
    assert not (tmp_path / "data").exists()
