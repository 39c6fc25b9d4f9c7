"""The layering rules hold: the core stays pure, nobody but the settings reads the environment."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_CORE = (
    "discord",
    "aiohttp.web",
    "bot",
    "web",
    "soundsync_cli",
    "soundsync_fakes",
    "soundsync_bench",
    "soundsync_synthetic",
)


def _imports(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            if node.module == "aiohttp":
                yield from (f"aiohttp.{alias.name}" for alias in node.names)


def _forbidden(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FORBIDDEN_IN_CORE)


def test_core_never_imports_discord_aiohttp_web_bot_web_or_the_tools() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "soundsync_core").rglob("*.py")
        for module in _imports(path)
        if _forbidden(module)
    ]
    assert offenders == []


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = []
    for folder in ("soundsync_core", "soundsync_cli", "bot", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "settings.py" and folder == "soundsync_core":
                continue
            text = path.read_text(encoding="utf-8")
            if "os.environ" in text or "os.getenv" in text:
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from aiohttp import web\nimport discord.ext.commands\n")
    assert [m for m in _imports(sample) if _forbidden(m)] == ["aiohttp.web", "discord.ext.commands"]
