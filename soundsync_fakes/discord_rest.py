"""REST routes of the fake Discord that the bot calls with its bot token.

Users, application, gateway discovery, command sync, DMs and channel messages. Interaction
callbacks and webhooks live in ``discord_webhooks``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from soundsync_fakes.discord_commands import CommandRegistry
from soundsync_fakes.discord_http import body_of, discord_error, discord_json, files_of
from soundsync_fakes.discord_limits import check_commands, check_message, is_empty_message
from soundsync_fakes.discord_messages import MessageStore, UploadedFile
from soundsync_fakes.discord_state import DM_CHANNEL, DiscordWorld

MAX_UPLOAD = 10 * 1024 * 1024


def message_error(
    body: Any, files: list[UploadedFile], *, creating: bool, nest: str | None = None
) -> web.Response | None:
    """The 4xx Discord answers for an over-limit or empty message body, else None.

    ``nest`` puts the errors tree under a key, as for interaction callbacks (``data``).
    """
    if not isinstance(body, dict):
        return discord_json({"code": 50109, "message": "The request body contains invalid JSON."}, 400)
    if creating and is_empty_message(body, len(files)):
        return discord_error(400, 50006, "Cannot send an empty message")
    invalid = check_message(body, len(files))
    if invalid is not None:
        if nest is not None:
            invalid["errors"] = {nest: invalid["errors"]}
        return discord_json(invalid, 400)
    if any(len(f.content) > MAX_UPLOAD for f in files):
        return discord_error(413, 40005, "Request entity too large")
    return None


def message_body_error(request: web.Request, *, creating: bool) -> web.Response | None:
    """:func:`message_error` for a request's own body and files."""
    return message_error(body_of(request), files_of(request), creating=creating)


class DiscordRest:
    """Route handlers over the shared world, command registry and message store."""

    def __init__(
        self,
        world: DiscordWorld,
        commands: CommandRegistry,
        store: MessageStore,
        gateway_url: Callable[[], str],
        recommendation: Callable[[], dict[str, Any]],
    ) -> None:
        self.world = world
        self.commands = commands
        self.store = store
        self.gateway_url = gateway_url
        self.recommendation = recommendation

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """The route table under the API prefix (e.g. ``/api/v10``)."""
        commands = prefix + "/applications/{application_id}/commands"
        guild_commands = prefix + "/applications/{application_id}/guilds/{guild_id}/commands"
        message = prefix + "/channels/{channel_id}/messages/{message_id}"
        return [
            web.get(prefix + "/users/@me", self.get_me),
            web.get(prefix + "/oauth2/applications/@me", self.get_application),
            web.get(prefix + "/gateway", self.get_gateway),
            web.get(prefix + "/gateway/bot", self.get_gateway_bot),
            web.get(commands, self.get_commands),
            web.put(commands, self.put_commands),
            web.get(guild_commands, self.get_commands),
            web.put(guild_commands, self.put_commands),
            web.post(prefix + "/users/@me/channels", self.open_dm),
            web.get(prefix + "/channels/{channel_id}", self.get_channel),
            web.get(prefix + "/channels/{channel_id}/messages", self.get_messages),
            web.post(prefix + "/channels/{channel_id}/messages", self.create_message),
            web.get(message, self.get_message),
            web.patch(message, self.edit_message),
            web.delete(message, self.delete_message),
            web.get(prefix + "/guilds/{guild_id}/members/{user_id}", self.get_member),
            web.get("/attachments/{channel_id}/{attachment_id}/{filename}", self.get_attachment),
        ]

    async def get_me(self, request: web.Request) -> web.Response:
        """``GET /users/@me``: the bot user."""
        return discord_json(self.world.bot.payload() | {"verified": True, "mfa_enabled": False})

    async def get_application(self, request: web.Request) -> web.Response:
        """``GET /oauth2/applications/@me``: the bot's application."""
        return discord_json(self.world.application_payload())

    async def get_gateway(self, request: web.Request) -> web.Response:
        """``GET /gateway``."""
        return discord_json({"url": self.gateway_url()})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """``GET /gateway/bot`` (what AutoShardedBot asks first): URL, shards, session start limits."""
        return discord_json({"url": self.gateway_url()} | self.recommendation())

    def _application_ok(self, request: web.Request) -> bool:
        return request.match_info["application_id"] == str(self.world.application_id)

    def _guild_of(self, request: web.Request) -> int | None:
        guild = request.match_info.get("guild_id")
        return int(guild) if guild is not None else None

    async def get_commands(self, request: web.Request) -> web.Response:
        """List the stored global or guild commands."""
        if not self._application_ok(request):
            return discord_error(403, 50001, "Missing Access")
        return discord_json(self.commands.listing(self._guild_of(request)))

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk-overwrite commands after Discord's validation (50035 with an errors tree)."""
        if not self._application_ok(request):
            return discord_error(403, 50001, "Missing Access")
        guild_id = self._guild_of(request)
        if guild_id is not None and guild_id not in self.world.guilds:
            return discord_error(404, 10004, "Unknown Guild")
        body = body_of(request)
        invalid = check_commands(body)
        if invalid:
            return discord_json(invalid, 400)
        return discord_json(self.commands.overwrite(body, guild_id))

    async def open_dm(self, request: web.Request) -> web.Response:
        """``POST /users/@me/channels`` with ``{"recipient_id"}``: the DM channel (type 1)."""
        body = body_of(request) or {}
        try:
            user_id = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            return discord_json(_required("recipient_id"), 400)
        if user_id not in self.world.users:
            return discord_error(400, 50033, "Invalid Recipient(s)")
        return discord_json(self.world.channel_payload(self.world.open_dm(user_id).id))

    def _channel_or_404(self, request: web.Request) -> int | web.Response:
        channel_id = int(request.match_info["channel_id"])
        if channel_id not in self.world.channels:
            return discord_error(404, 10003, "Unknown Channel")
        return channel_id

    async def get_channel(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}``."""
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        return discord_json(self.world.channel_payload(channel_id))

    async def create_message(self, request: web.Request) -> web.Response:
        """``POST /channels/{id}/messages`` (JSON, or multipart ``payload_json`` + ``files[n]``)."""
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        channel = self.world.channels[channel_id]
        if channel.type == DM_CHANNEL and channel.recipient_id in self.world.closed_dms:
            return discord_error(403, 50007, "Cannot send messages to this user")
        error = message_body_error(request, creating=True)
        if error is not None:
            return error
        body = body_of(request)
        if body.get("enforce_nonce") and body.get("nonce") is not None:
            # Discord answers a repeat with the message the nonce already created (no duplicate).
            earlier = self.store.with_nonce(channel_id, body["nonce"])
            if earlier is not None:
                return discord_json(earlier.data)
        extra = {"guild_id": str(channel.guild_id)} if channel.guild_id else {}
        message = self.store.create(channel_id, body, files_of(request), extra)
        return discord_json(message.data)

    async def get_messages(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages``: newest first, ``limit`` 1–100, ``before``/``after``."""
        channel_id = self._channel_or_404(request)
        if isinstance(channel_id, web.Response):
            return channel_id
        try:
            limit = int(request.query.get("limit", "50"))
            before = int(request.query.get("before", "0")) or None
            after = int(request.query.get("after", "0")) or None
        except ValueError:
            return discord_error(400, 50035, "Invalid Form Body")
        if not 1 <= limit <= 100:
            return discord_error(400, 50035, "Invalid Form Body")
        page = [
            m.data for m in reversed(self.store.in_channel(channel_id))
            if (before is None or m.id < before) and (after is None or m.id > after)
        ]
        return discord_json(page[:limit])

    def _message_or_404(self, request: web.Request) -> int | web.Response:
        message_id = int(request.match_info["message_id"])
        message = self.store.by_id.get(message_id)
        if message is None or str(message.channel_id) != request.match_info["channel_id"]:
            return discord_error(404, 10008, "Unknown Message")
        return message_id

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /channels/{id}/messages/{id}``."""
        message_id = self._message_or_404(request)
        if isinstance(message_id, web.Response):
            return message_id
        return discord_json(self.store.by_id[message_id].data)

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /channels/{id}/messages/{id}``."""
        message_id = self._message_or_404(request)
        if isinstance(message_id, web.Response):
            return message_id
        error = message_body_error(request, creating=False)
        if error is not None:
            return error
        message = self.store.edit(message_id, body_of(request), files_of(request))
        return discord_json(message.data)

    async def delete_message(self, request: web.Request) -> web.Response:
        """``DELETE /channels/{id}/messages/{id}``."""
        message_id = self._message_or_404(request)
        if isinstance(message_id, web.Response):
            return message_id
        self.store.delete(message_id)
        return web.Response(status=204)

    async def get_member(self, request: web.Request) -> web.Response:
        """``GET /guilds/{id}/members/{user}``."""
        guild = self.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            return discord_error(404, 10004, "Unknown Guild")
        user_id = int(request.match_info["user_id"])
        if user_id not in guild.members:
            return discord_error(404, 10007, "Unknown Member")
        payload = self.world.member_payload(guild.id, user_id)
        del payload["permissions"]  # only interactions carry it
        return discord_json(payload)

    async def get_attachment(self, request: web.Request) -> web.Response:
        """The CDN URL of an attachment: its bytes."""
        attachment = self.store.attachment(int(request.match_info["attachment_id"]))
        if attachment is None:
            return discord_error(404, 0, "404: Not Found")
        return web.Response(body=attachment.content, content_type=attachment.content_type)


def _required(field: str) -> dict[str, Any]:
    error = {"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}
    return {"code": 50035, "message": "Invalid Form Body", "errors": {field: {"_errors": [error]}}}
