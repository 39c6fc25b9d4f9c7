"""The fake Discord's REST surface spoken to directly: error bodies, limits, headers and the log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from soundsync_fakes.discord import FakeDiscord


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(log_path=tmp_path / "discord.jsonl") as fake:
        yield fake


@pytest.fixture
async def http(fake: FakeDiscord) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {fake.bot_token}"}
    async with aiohttp.ClientSession(fake.api_url + "/", headers=headers) as session:
        yield session


async def post_json(http: aiohttp.ClientSession, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
    async with http.post(path, json=body) as response:
        return response.status, dict(response.headers), await response.json(content_type=None)


async def test_unknown_route_is_discords_404(http: aiohttp.ClientSession) -> None:
    async with http.get("nothing/here") as response:
        assert response.status == 404
        assert response.headers["Content-Type"] == "application/json"
        assert await response.json() == {"message": "404: Not Found", "code": 0}


async def test_wrong_token_is_401(fake: FakeDiscord) -> None:
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Bot not-the-token"}) as session,
        session.get(fake.api_url + "/users/@me") as response,
    ):
        assert response.status == 401
        assert (await response.json())["message"] == "401: Unauthorized"


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"content": "x" * 2001}, ["content"], "Must be 2000 or fewer in length."),
        ({"embeds": [{"title": "t"}] * 11}, ["embeds"], "Must be 10 or fewer in length."),
        ({"embeds": [{"description": "d" * 4097}]}, ["embeds", "0", "description"], "Must be 4096 or fewer"),
        (
            {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
            ["embeds", "0", "fields", "0", "value"],
            "Must be between 1 and 1024",
        ),
        (
            {"embeds": [{"description": "d" * 4000}, {"description": "d" * 2001}]},
            ["embeds"],
            "Embed size exceeds maximum size of 6000",
        ),
        (
            {"components": [{"type": 1, "components": [{"type": 2, "label": "L" * 81, "custom_id": "a"}]}]},
            ["components", "0", "components", "0", "label"],
            "Must be 80 or fewer",
        ),
        (
            {"components": [{"type": 1, "components": [{"type": 2, "label": "b", "custom_id": "c" * 101}]}]},
            ["components", "0", "components", "0", "custom_id"],
            "Must be 100 or fewer",
        ),
        (
            {"components": [{"type": 1, "components": [{"type": 2, "label": "b", "custom_id": "c"}] * 6}]},
            ["components", "0", "components"],
            "Must be 5 or fewer",
        ),
    ],
)
async def test_message_limits_answer_50035_with_an_errors_tree(
    fake: FakeDiscord, http: aiohttp.ClientSession, body: dict[str, Any], path: list[str], message: str
) -> None:
    world = fake.seed_default_world()
    status, _, answer = await post_json(http, f"channels/{world.channel.id}/messages", body)
    assert status == 400
    assert (answer["code"], answer["message"]) == (50035, "Invalid Form Body")
    node = answer["errors"]
    for part in path:
        node = node[part]
    assert node["_errors"][0]["message"].startswith(message)
    assert fake.messages(world.channel.id) == []


async def test_empty_message_is_50006(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    world = fake.seed_default_world()
    status, _, answer = await post_json(http, f"channels/{world.channel.id}/messages", {"content": ""})
    assert (status, answer["code"]) == (400, 50006)


async def test_invalid_commands_are_refused(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    commands = [
        {"name": "Bad Name", "description": "ok", "type": 1},
        {"name": "fine", "description": "", "type": 1},
        {"name": "Menu", "description": "not allowed", "type": 2},
    ]
    async with http.put(f"applications/{fake.world.application_id}/commands", json=commands) as response:
        answer = await response.json()
    assert (response.status, answer["code"]) == (400, 50035)
    assert answer["errors"]["0"]["name"]["_errors"][0]["code"] == "APPLICATION_COMMAND_INVALID_NAME"
    assert answer["errors"]["1"]["description"]["_errors"][0]["code"] == "BASE_TYPE_BAD_LENGTH"
    assert "description" in answer["errors"]["2"]
    assert fake.commands.global_commands == []


async def test_429_carries_discords_headers(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    world = fake.seed_default_world()
    fake.rate_limit("POST", "/channels/{channel_id}/messages", count=1, retry_after=0.05)
    path = f"channels/{world.channel.id}/messages"
    status, headers, answer = await post_json(http, path, {"content": "hi"})
    assert status == 429
    assert answer == {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
    assert headers["Via"]
    assert headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" in headers
    status, _, _ = await post_json(http, path, {"content": "hi"})
    assert status == 200


async def test_closed_dms_answer_403_50007(fake: FakeDiscord, http: aiohttp.ClientSession) -> None:
    world = fake.seed_default_world()
    status, _, channel = await post_json(
        http, "users/@me/channels", {"recipient_id": str(world.closed_dms_user.id)}
    )
    assert (status, channel["type"]) == (200, 1)
    status, _, answer = await post_json(http, f"channels/{channel['id']}/messages", {"content": "hello"})
    assert (status, answer) == (403, {"message": "Cannot send messages to this user", "code": 50007})


async def test_callback_twice_is_40060_and_multipart_is_logged(
    fake: FakeDiscord, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    world = fake.seed_default_world()
    fake.commands.overwrite([{"name": "ping", "description": "p", "type": 1}])
    interaction = fake.interactions.create(2, world.member.id, world.guild.id, None, {"name": "ping"})
    path = f"interactions/{interaction.id}/{interaction.token}/callback?with_response=1"
    form = aiohttp.FormData(quote_fields=False)
    form.add_field(
        "payload_json", json.dumps({"type": 4, "data": {"content": "chart", "attachments": [{"id": 0}]}})
    )
    form.add_field("files[0]", b"\x89PNG\r\n\x00bytes", filename="chart.png", content_type="image/png")
    async with http.post(path, data=form) as response:
        answer = await response.json()
    assert answer["resource"]["message"]["attachments"][0]["filename"] == "chart.png"
    assert interaction.original is not None
    assert interaction.original.attachments[0].content == b"\x89PNG\r\n\x00bytes"
    status, _, again = await post_json(http, path, {"type": 4, "data": {"content": "again"}})
    assert (status, again["code"]) == (400, 40060)
    logged = [json.loads(line) for line in (tmp_path / "discord.jsonl").read_text().splitlines()]
    first = next(entry for entry in logged if entry["path"].endswith("with_response=1"))
    assert first["request"] == {
        "payload_json": {"type": 4, "data": {"content": "chart", "attachments": [{"id": 0}]}},
        "files": ["chart.png"],
    }
    assert first["status"] == 200


async def test_history_is_newest_first_and_enforced_nonce_is_not_duplicated(
    fake: FakeDiscord, http: aiohttp.ClientSession
) -> None:
    channel = fake.seed_default_world().channel.id
    path = f"channels/{channel}/messages"
    first = await post_json(http, path, {"content": "one", "nonce": "n-1", "enforce_nonce": True})
    again = await post_json(http, path, {"content": "one", "nonce": "n-1", "enforce_nonce": True})
    await post_json(http, path, {"content": "two"})
    assert first[0] == again[0] == 200
    assert again[2]["id"] == first[2]["id"]
    async with http.get(path, params={"limit": "10"}) as response:
        history = await response.json()
    assert [m["content"] for m in history] == ["two", "one"]
    async with http.get(path, params={"limit": "1", "before": history[0]["id"]}) as response:
        assert [m["content"] for m in await response.json()] == ["one"]
    async with http.get(path, params={"limit": "101"}) as response:
        assert response.status == 400
