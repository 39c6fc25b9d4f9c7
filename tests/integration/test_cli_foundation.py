"""The ``soundsync`` command as a user runs it: migrate twice, db-url, bad configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from soundsync_core.db.migrations import load_migrations


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "soundsync_cli", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env.update(extra)
    return env


def test_migrate_twice_second_run_applies_nothing(db_url: str, tmp_path: Path) -> None:
    # db_url is already migrated by the fixture: the command must say there is nothing to do.
    result = _run(["migrate"], _clean_env(DATABASE_URL=db_url), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "nothing to apply" in result.stdout


def test_migrate_on_empty_database_applies_then_is_a_no_op(
    empty_db_url: str, tmp_path: Path
) -> None:
    env = _clean_env(DATABASE_URL=empty_db_url)
    first = _run(["migrate"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applying 0001_initial" in first.stdout
    second = _run(["migrate"], env, tmp_path)
    assert "nothing to apply" in second.stdout


def test_commands_refuse_a_database_that_was_not_migrated(empty_db_url: str, tmp_path: Path) -> None:
    env = _clean_env(DATABASE_URL=empty_db_url)
    result = _run(["matches", "1", "--guild", "2"], env, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "soundsync: the database is at schema version 0000, this SoundSync needs "
        f"{max(m.version for m in load_migrations()):04d}: run `soundsync migrate` first"
    ]
    assert _run(["migrate"], env, tmp_path).returncode == 0
    assert "schema version" not in _run(["matches", "1", "--guild", "2"], env, tmp_path).stderr


def test_embedded_database_is_started_reused_and_masked(tmp_path: Path) -> None:
    env = _clean_env(SOUNDSYNC_DATA_DIR=str(tmp_path / "data"))
    first = _run(["migrate"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    second = _run(["migrate"], env, tmp_path)
    assert "nothing to apply" in second.stdout
    url = _run(["db-url"], env, tmp_path)
    assert url.returncode == 0, url.stderr
    assert str(tmp_path / "data") in url.stdout
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()


def test_db_url_masks_the_password(tmp_path: Path) -> None:
    env = _clean_env(DATABASE_URL="postgresql://soundsync:hunter2@db.example:5432/soundsync")
    result = _run(["db-url"], env, tmp_path)
    assert result.stdout.strip() == "postgresql://soundsync:***@db.example:5432/soundsync"
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "eighty"),
        ("DATABASE_URL", "mysql://root@localhost/x"),
        ("SPOTIFY_API_URL", "not a url"),
        ("RECLUSTER_CRON", "every monday"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_setting_is_one_clear_line_and_exit_2(
    variable: str, value: str, tmp_path: Path
) -> None:
    result = _run(["db-url"], _clean_env(**{variable: value}), tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_unreachable_database_is_reported_with_masked_url(tmp_path: Path) -> None:
    env = _clean_env(
        DATABASE_URL="postgresql://postgres:topsecret@127.0.0.1:9/postgres", DB_CONNECT_ATTEMPTS="2"
    )
    result = _run(["migrate"], env, tmp_path)
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr
    assert "topsecret" not in result.stderr
    assert "Traceback" not in result.stderr
