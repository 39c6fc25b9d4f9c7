"""The fake Discord's gateway spoken to directly: the recommended count, and what a shard gets."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from soundsync_fakes.discord import FakeDiscord
from soundsync_fakes.discord_gateway import DISPATCH, HELLO, IDENTIFY, INVALID_SHARD


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
        yield fake


@contextlib.asynccontextmanager
async def identified(fake: FakeDiscord, shard: list[int]) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A raw gateway connection that has sent IDENTIFY for ``shard``."""
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url) as ws:
        assert (await ws.receive_json())["op"] == HELLO
        await ws.send_json({"op": IDENTIFY, "d": {"token": fake.bot_token, "intents": 0,
                                                  "shard": shard, "properties": {}}})
        yield ws


async def events(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    received = []
    while len(received) < count:
        payload = json.loads((await ws.receive(timeout=2)).data)
        if payload["op"] == DISPATCH:
            received.append(payload)
    return received


async def test_gateway_bot_recommends_one_shard_per_thousand_guilds(fake: FakeDiscord) -> None:
    headers = {"Authorization": f"Bot {fake.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(fake.api_url + "/gateway/bot") as response:
            small = await response.json()
        for i in range(2001):
            fake.world.add_guild(f"Guild {i}")
        async with http.get(fake.api_url + "/gateway/bot") as response:
            large = await response.json()
    assert (small["url"], small["shards"], large["shards"]) == (fake.gateway_url, 1, 3)
    assert set(small["session_start_limit"]) == {"total", "remaining", "reset_after", "max_concurrency"}


async def test_a_shard_gets_only_its_guilds_and_says_which_shard_it_is(fake: FakeDiscord) -> None:
    first = fake.world.snowflakes.next() >> 22
    guilds = [fake.world.add_guild(f"Club {i}", guild_id=(first + i) << 22) for i in range(4)]
    async with identified(fake, [1, 2]) as ws:
        ready, *created = await events(ws, 3)
    odd = {str(g.id) for g in guilds if (g.id >> 22) % 2 == 1}
    assert (ready["t"], ready["d"]["shard"]) == ("READY", [1, 2])
    assert {g["id"] for g in ready["d"]["guilds"]} == odd
    assert {e["t"] for e in created} == {"GUILD_CREATE"}
    assert {e["d"]["id"] for e in created} == odd


async def test_a_shard_outside_the_count_is_closed_with_4010(fake: FakeDiscord) -> None:
    async with identified(fake, [2, 2]) as ws:
        message = await ws.receive(timeout=2)
    assert (message.type, ws.close_code) == (aiohttp.WSMsgType.CLOSE, INVALID_SHARD)
    assert fake.gateway.refused == [((2, 2), INVALID_SHARD)]
