"""README stays true: every setting documented, the commands it promises exist."""

from __future__ import annotations

from pathlib import Path

from soundsync_cli.main import build_parser
from soundsync_core.profiles import jsonl
from soundsync_core.settings import describe_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name, _, _ in describe_settings() if f"| `{name}` |" not in text]
    assert missing == []


def test_readme_commands_exist() -> None:
    text = README.read_text(encoding="utf-8")
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    for line in text.splitlines():
        if line.startswith("| `soundsync "):
            name = line.split("`")[1].split()[1]
            assert name in commands, name


def test_the_import_format_documents_the_parsers_limits() -> None:
    text = (README.parent / "docs" / "import-format.md").read_text(encoding="utf-8")
    cells = ([c.strip() for c in line.strip("|").split(" | ")] for line in text.splitlines()
             if line.startswith("| "))
    rows = {row[0]: row[1] for row in cells if len(row) == 2}
    assert rows["characters in an artist or track id (and in `artist_ids` entries)"] == (
        f"{jsonl.MAX_ID_CHARS:,}")
    assert rows["characters in an artist or track name"] == f"{jsonl.MAX_NAME_CHARS:,}"
    assert rows["characters in `display_name`"] == f"{jsonl.MAX_DISPLAY_NAME_CHARS:,}"
    assert rows["artists in `top_artists`, tracks in `top_tracks`"] == f"{jsonl.MAX_ITEMS:,}"
    assert rows["ids in `guild_ids`"] == f"{jsonl.MAX_GUILDS:,}"
    assert rows["genres of an artist"] == f"{jsonl.MAX_GENRES:,}"
    assert rows["characters in a genre"] == f"{jsonl.MAX_GENRE_CHARS:,}"
    assert rows["artist ids of a track"] == f"{jsonl.MAX_TRACK_ARTISTS:,}"
    assert rows["largest `rank` and `playcount`"] == f"{jsonl.INT32_MAX:,}"
    assert rows["bytes in a line"] == f"{jsonl.MAX_LINE_BYTES // 2**20} MiB"


def test_readme_links_the_import_format_and_its_sample() -> None:
    text = README.read_text(encoding="utf-8")
    for target in ("docs/import-format.md", "docs/sample-profiles.jsonl"):
        assert f"]({target})" in text
        assert (README.parent / target).is_file()
