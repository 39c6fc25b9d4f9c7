"""README stays true: every setting documented, the commands it promises exist."""

from __future__ import annotations

from pathlib import Path

from soundsync_cli.main import build_parser
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
