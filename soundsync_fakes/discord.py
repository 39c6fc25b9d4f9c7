"""A fake Discord (REST + gateway websocket) on 127.0.0.1 for end-to-end tests of the real bot.

Point discord.py at it with ``discord.http.Route.BASE = fake.api_url`` and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)``, log in with
``fake.bot_token``, then drive the bot with ``await fake.slash_command(...)`` and read what it
sent with ``fake.messages(channel_id)`` / ``await fake.next_message(channel_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from soundsync_fakes.discord_commands import (
    CHAT_INPUT,
    USER_COMMAND,
    CommandRegistry,
    add_resolved_user,
    chat_input_options,
    resolved_for,
)
from soundsync_fakes.discord_gateway import RECONNECTABLE_CLOSE, FakeGateway
from soundsync_fakes.discord_http import (
    FaultInjector,
    RateLimitRule,
    body_middleware,
)
from soundsync_fakes.discord_interactions import (
    APPLICATION_COMMAND,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    FakeInteraction,
    InteractionCallback,
    InteractionFactory,
)
from soundsync_fakes.discord_messages import FakeAttachment, FakeMessage, MessageStore
from soundsync_fakes.discord_rest import DiscordRest
from soundsync_fakes.discord_state import DefaultWorld, DiscordWorld, seed_default_world
from soundsync_fakes.discord_webhooks import MODAL as MODAL_CALLBACK
from soundsync_fakes.discord_webhooks import InteractionRoutes
from soundsync_fakes.fakelog import FakeLog

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
RESUME_PATH = "/gateway/resume"


class FakeDiscord:
    """The fake Discord server; seed ``world`` (users, guilds, channels) before the bot starts."""

    def __init__(
        self,
        log_path: str | Path | None = None,
        *,
        bot_name: str = "SoundSync",
        heartbeat_interval_ms: int = 41_250,
    ) -> None:
        self.world = DiscordWorld(bot_name)
        self.store = MessageStore(self.world)
        self.commands = CommandRegistry(self.world)
        self.interactions = InteractionFactory(self.world, self.store)
        self.gateway = FakeGateway(self.world, lambda: self.base_ws_url + RESUME_PATH, heartbeat_interval_ms)
        self.faults = FaultInjector(API_PREFIX)
        self.log = FakeLog("discord", log_path)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application (also usable with aiohttp's test client)."""
        middlewares = [
            self.log.middleware(),
            body_middleware(API_PREFIX, self.world.bot_token),
            self.faults.middleware(),
        ]
        app = web.Application(middlewares=middlewares)
        rest = DiscordRest(self.world, self.commands, self.store, lambda: self.base_ws_url + GATEWAY_PATH,
                           self.gateway.recommendation)
        app.add_routes(rest.routes(API_PREFIX))
        app.add_routes(InteractionRoutes(self.world, self.store, self.interactions).routes(API_PREFIX))
        app.add_routes(
            [web.get(GATEWAY_PATH, self.gateway.handle), web.get(RESUME_PATH, self.gateway.handle)]
        )
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0 picks a free one)."""
        # No access log: request paths carry interaction and webhook tokens.
        self._runner = web.AppRunner(self.make_app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        self.store.base_url = self.base_url

    async def stop(self) -> None:
        """Close websockets and stop listening."""
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_ws_url(self) -> str:
        """``ws://host:port``."""
        return self.base_url.replace("http://", "ws://", 1)

    @property
    def api_url(self) -> str:
        """The REST base to put in ``discord.http.Route.BASE``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The websocket URL to put in ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return self.base_ws_url + GATEWAY_PATH

    @property
    def bot_token(self) -> str:
        """The only token the fake accepts (generated at run time)."""
        return self.world.bot_token

    # -- seeding and faults ------------------------------------------------------------------

    def seed_default_world(self) -> DefaultWorld:
        """One guild, #general, an admin, a member and a member with closed DMs."""
        return seed_default_world(self.world)

    def close_dms(self, user_id: int) -> None:
        """Messages to this user's DM answer 403 50007, as when they block server DMs."""
        self.world.closed_dms.add(user_id)

    def rate_limit(
        self,
        method: str,
        route: str,
        count: int = 1,
        retry_after: float = 0.05,
        *,
        is_global: bool = False,
    ) -> RateLimitRule:
        """429 (with ``Via``) for the next ``count`` requests to a route.

        ``route`` is the path template after the API prefix: ``/channels/{channel_id}/messages``.
        """
        return self.faults.rate_limit(method, route, count, retry_after, is_global=is_global)

    async def drop_gateway(self, code: int = RECONNECTABLE_CLOSE, shard_id: int = 0) -> None:
        """Close a shard's websocket from the server; discord.py should RESUME."""
        await self.gateway.drop(code, shard_id)

    async def wait_gateway_live(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109 - per-call deadline for tests
        """Wait until the bot is connected (identified or resumed)."""
        await self.gateway.wait_live(timeout)

    # -- interactions --------------------------------------------------------------------------

    async def slash_command(
        self,
        user_id: int,
        guild_id: int | None,
        name: str,
        options: Mapping[str, Any] | None = None,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        """Invoke ``/name`` (``"group sub"`` for subcommands) as ``user_id``; no guild: their DM.

        Option values are typed from the registered schema (users by id).
        """
        top, *path = name.split()
        command = self.commands.find(top, CHAT_INPUT, guild_id)
        built = chat_input_options(command, path, options or {})
        data: dict[str, Any] = {
            "id": command["id"],
            "name": top,
            "type": CHAT_INPUT,
            "options": built,
        }
        uploads = {str(i): self._upload_payload(a) for i, a in self.store.uploads.items()}
        resolved = resolved_for(self.world, built, guild_id, uploads)
        if resolved:
            data["resolved"] = resolved
        return await self._send(APPLICATION_COMMAND, user_id, guild_id, channel_id, data)

    def upload(
        self, filename: str, content: bytes, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """A file a user attaches to a command: pass the returned payload as the option's value.

        Its URL serves the bytes (``Attachment.read()`` works); uploaded before any interaction
        exists, its URL carries channel 0 where Discord puts the interaction's channel.
        """
        return self._upload_payload(self.store.upload(filename, content, content_type))

    def _upload_payload(self, attachment: FakeAttachment) -> dict[str, Any]:
        return attachment.payload(self.base_url, 0)

    async def user_context_menu(
        self,
        user_id: int,
        guild_id: int | None,
        name: str,
        target_user_id: int,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        """Invoke the user command ``name`` on ``target_user_id``."""
        command = self.commands.find(name, USER_COMMAND, guild_id)
        resolved: dict[str, dict[str, Any]] = {}
        add_resolved_user(self.world, resolved, target_user_id, guild_id)
        data = {
            "id": command["id"],
            "name": name,
            "type": USER_COMMAND,
            "target_id": str(target_user_id),
            "resolved": resolved,
        }
        return await self._send(APPLICATION_COMMAND, user_id, guild_id, channel_id, data)

    async def click_button(self, user_id: int, message: FakeMessage, custom_id: str) -> FakeInteraction:
        """Click a button of a message the bot sent."""
        return await self.use_component(user_id, message, custom_id)

    async def use_component(
        self, user_id: int, message: FakeMessage, custom_id: str, values: list[str] | None = None
    ) -> FakeInteraction:
        """Use a component (button, or select menu with ``values``) of a bot message."""
        component = _find_component(message, custom_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        channel = self.world.channels[message.channel_id]
        current = self.store.by_id[message.id]
        return await self._send(MESSAGE_COMPONENT, user_id, channel.guild_id, channel.id, data, current)

    async def submit_modal(self, opened_by: FakeInteraction, values: Mapping[str, str]) -> FakeInteraction:
        """Submit the modal the bot opened in answer to ``opened_by``; ``values`` by text-input custom_id."""
        callback = opened_by.callback
        if callback is None or callback.type != MODAL_CALLBACK:
            raise LookupError(f"interaction {opened_by.id} was not answered with a modal")
        rows = [
            {"type": 1, "components": [{"type": 4, "custom_id": custom_id, "value": value}]}
            for custom_id, value in values.items()
        ]
        data = {"custom_id": callback.data["custom_id"], "components": rows}
        guild_id, channel_id = opened_by.guild_id, opened_by.channel_id
        return await self._send(MODAL_SUBMIT, opened_by.user_id, guild_id, channel_id, data)

    async def _send(
        self,
        kind: int,
        user_id: int,
        guild_id: int | None,
        channel_id: int | None,
        data: dict[str, Any],
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        if guild_id is not None and user_id not in self.world.guilds[guild_id].members:
            raise LookupError(f"user {user_id} is not a member of guild {guild_id}")
        interaction = self.interactions.create(kind, user_id, guild_id, channel_id, data, message)
        await self.gateway.dispatch("INTERACTION_CREATE", interaction.payload)
        return interaction

    async def wait_for_callback(
        self,
        interaction_id: int,
        timeout: float = 2.0,  # noqa: ASYNC109 - per-call deadline for tests
    ) -> InteractionCallback:
        """The bot's callback to an interaction (waits for it)."""
        return await self.interactions.by_id[interaction_id].response(timeout)

    # -- reading what the bot sent ------------------------------------------------------------

    def message(self, message_id: int) -> FakeMessage:
        """A stored message by id (as it is now)."""
        return self.store.by_id[message_id]

    def messages(self, channel_id: int) -> list[FakeMessage]:
        """Every message in a channel (ephemeral replies excluded), oldest first."""
        return self.store.in_channel(channel_id)

    async def next_message(self, channel_id: int, timeout: float = 2.0) -> FakeMessage:  # noqa: ASYNC109 - per-call deadline for tests
        """The next channel message not yet returned by this method (waits for it)."""
        return await self.store.next_in_channel(channel_id, timeout)

    async def wait_for_edit(self, message_id: int, edits: int = 1, timeout: float = 2.0) -> FakeMessage:  # noqa: ASYNC109
        """Wait until a message has been edited at least ``edits`` times."""
        return await self.store.wait_for_edit(message_id, edits, timeout)

    def dm_messages(self, user_id: int) -> list[FakeMessage]:
        """Every message the bot sent to a user's DM."""
        channel = self.world.dm_channel_of(user_id)
        return self.store.in_channel(channel.id) if channel else []

    async def next_dm(self, user_id: int, timeout: float = 2.0) -> FakeMessage:  # noqa: ASYNC109 - per-call deadline for tests
        """The next DM to a user not yet returned by this method (waits for it)."""
        return await self.store.next_in_channel(self.world.open_dm(user_id).id, timeout)


def _find_component(message: FakeMessage, custom_id: str) -> dict[str, Any]:
    for row in message.components:
        for child in row.get("components", []):
            if child.get("custom_id") == custom_id:
                return child
    raise LookupError(f"message {message.id} has no component {custom_id!r}")
