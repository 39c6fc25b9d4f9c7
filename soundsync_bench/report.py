"""Keep BENCHMARKS.md up to date: each bench owns one marked section and rewrites only it.

A section looks like::

    <!-- bench:quality -->
    ## Title
    _Measured 2026-11-24 on Linux-…, 2 CPUs, Python 3.11.9._

    body
    <!-- /bench:quality -->
"""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

_HEADER = "# SoundSync benchmarks\n\nEach section is rewritten by the command named in its title.\n"


def machine_summary() -> str:
    """Platform, CPU count and the versions that matter for the numbers."""
    return (
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"numpy {_version('numpy')}, scikit-learn {_version('scikit-learn')}"
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def render_section(name: str, title: str, body: str, *, when: datetime | None = None) -> str:
    """The marked section text for bench ``name`` (markers included, trailing newline)."""
    day = (when or datetime.now(UTC)).date().isoformat()
    return (
        f"<!-- bench:{name} -->\n## {title}\n\n"
        f"_Measured {day} on {machine_summary()}._\n\n"
        f"{body.rstrip()}\n<!-- /bench:{name} -->\n"
    )


def update_section(text: str, name: str, section: str) -> str:
    """``text`` with bench ``name``'s section replaced by ``section`` (appended if absent)."""
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n?", re.DOTALL
    )
    if pattern.search(text):
        # A function replacement: the section may contain backslashes re.sub would interpret.
        return pattern.sub(lambda _: section, text, count=1)
    return f"{text.rstrip()}\n\n{section}" if text.strip() else section


def write_section(
    path: Path | str, name: str, title: str, body: str, *, when: datetime | None = None
) -> None:
    """Insert or replace bench ``name``'s section in the markdown file at ``path``."""
    target = Path(path)
    text = target.read_text(encoding="utf-8") if target.exists() else _HEADER
    target.write_text(
        update_section(text, name, render_section(name, title, body, when=when)), encoding="utf-8"
    )
