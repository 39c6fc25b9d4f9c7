"""Fixtures shared by the integration tests of the link flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tests.integration.link_harness import LinkHarness, link_harness


@pytest.fixture
async def h(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[LinkHarness]:
    """The whole link flow on loopback: fake Spotify, the real web app, a real database."""
    async with link_harness(pool, tmp_path) as harness:
        yield harness
