"""Interaction callbacks and the interaction webhook (original response and followups).

These routes carry no bot token on Discord: the interaction token in the path authenticates.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from soundsync_fakes.discord_http import body_of, discord_error, discord_json, files_of
from soundsync_fakes.discord_interactions import (
    APPLICATION_COMMAND,
    FakeInteraction,
    InteractionCallback,
    InteractionFactory,
)
from soundsync_fakes.discord_messages import EPHEMERAL, FakeMessage, MessageStore
from soundsync_fakes.discord_rest import message_body_error, message_error
from soundsync_fakes.discord_state import DiscordWorld

PONG, MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE_RESULT, MODAL = 8, 9
_CALLBACK_TYPES = {
    PONG,
    MESSAGE,
    DEFERRED_MESSAGE,
    DEFERRED_UPDATE,
    UPDATE_MESSAGE,
    AUTOCOMPLETE_RESULT,
    MODAL,
}
LOADING = 1 << 7
CHAT_INPUT_COMMAND_MESSAGE = 20
CONTEXT_MENU_COMMAND_MESSAGE = 23


def _unknown_interaction() -> web.Response:
    return discord_error(404, 10062, "Unknown interaction")


def _unknown_webhook() -> web.Response:
    return discord_error(404, 10015, "Unknown Webhook")


class InteractionRoutes:
    """``/interactions/{id}/{token}/callback`` and ``/webhooks/{app}/{token}/...``."""

    def __init__(self, world: DiscordWorld, store: MessageStore, interactions: InteractionFactory) -> None:
        self.world = world
        self.store = store
        self.interactions = interactions

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """The route table under the API prefix."""
        hook = prefix + "/webhooks/{application_id}/{token}"
        return [
            web.post(prefix + "/interactions/{interaction_id}/{token}/callback", self.callback),
            web.post(hook, self.followup),
            web.get(hook + "/messages/{message_id}", self.get_message),
            web.patch(hook + "/messages/{message_id}", self.edit_message),
            web.delete(hook + "/messages/{message_id}", self.delete_message),
        ]

    async def callback(self, request: web.Request) -> web.Response:
        """Acknowledge an interaction once, within 3 seconds, like Discord."""
        interaction = self.interactions.by_id.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            return _unknown_interaction()
        if interaction.callback is not None:
            return discord_error(400, 40060, "Interaction has already been acknowledged.")
        if interaction.expired(acknowledging=True):
            return _unknown_interaction()
        body = body_of(request) or {}
        kind = body.get("type")
        if kind not in _CALLBACK_TYPES:
            return discord_json(_invalid_type(), 400)
        data = body.get("data") or {}
        if kind in (MESSAGE, UPDATE_MESSAGE):
            error = message_error(data, files_of(request), creating=kind == MESSAGE, nest="data")
            if error is not None:
                return error
        message = self._apply_callback(interaction, kind, data, request)
        original = message.id if message else None
        interaction.acknowledge(InteractionCallback(kind, data, files_of(request), message), original)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        return discord_json(_callback_body(interaction, kind, message))

    def _apply_callback(
        self, interaction: FakeInteraction, kind: int, data: dict[str, Any], request: web.Request
    ) -> FakeMessage | None:
        if kind == MESSAGE:
            return self._create_reply(interaction, data, request)
        if kind == DEFERRED_MESSAGE:
            flags = LOADING | (data.get("flags", 0) & EPHEMERAL)
            return self._create_reply(interaction, {"flags": flags}, None)
        if kind == UPDATE_MESSAGE and interaction.source_message_id is not None:
            return self.store.edit(interaction.source_message_id, data, files_of(request))
        if kind == DEFERRED_UPDATE and interaction.source_message_id is not None:
            return self.store.by_id.get(interaction.source_message_id)
        return None

    def _create_reply(
        self, interaction: FakeInteraction, body: dict[str, Any], request: web.Request | None
    ) -> FakeMessage:
        files = files_of(request) if request is not None else []
        flags = body.get("flags", 0)
        extra = _webhook_extra(self.world, interaction)
        extra["type"] = _reply_type(interaction)
        return self.store.create(interaction.channel_id, body, files, extra, visible=not flags & EPHEMERAL)

    def _interaction_of(self, request: web.Request) -> FakeInteraction | None:
        interaction = self.interactions.by_token.get(request.match_info["token"])
        app_ok = request.match_info["application_id"] == str(self.world.application_id)
        if interaction is None or not app_ok or interaction.expired(acknowledging=False):
            return None
        return interaction

    def _message_id(self, request: web.Request, interaction: FakeInteraction) -> int | None:
        wanted = request.match_info["message_id"]
        if wanted == "@original":
            return interaction.original_message_id
        ids = {interaction.original_message_id, *interaction.followup_ids}
        return int(wanted) if wanted.isdigit() and int(wanted) in ids else None

    async def followup(self, request: web.Request) -> web.Response:
        """``POST /webhooks/{app}/{token}``: a followup message (returned when ``wait=true``)."""
        interaction = self._interaction_of(request)
        if interaction is None:
            return _unknown_webhook()
        if interaction.callback is None:
            return _unknown_webhook()  # Discord refuses followups before the callback
        error = message_body_error(request, creating=True)
        if error is not None:
            return error
        message = self._create_reply(interaction, body_of(request), request)
        interaction.add_followup(message)
        if request.query.get("wait") in ("1", "true", "True"):
            return discord_json(message.data)
        return web.Response(status=204)

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /webhooks/{app}/{token}/messages/{id|@original}``."""
        interaction = self._interaction_of(request)
        message_id = self._message_id(request, interaction) if interaction else None
        if message_id is None or message_id not in self.store.by_id:
            return discord_error(404, 10008, "Unknown Message")
        return discord_json(self.store.by_id[message_id].data)

    async def edit_message(self, request: web.Request) -> web.Response:
        """``PATCH /webhooks/{app}/{token}/messages/{id|@original}``; ends a deferred "thinking"."""
        interaction = self._interaction_of(request)
        if interaction is None:
            return _unknown_webhook()
        message_id = self._message_id(request, interaction)
        if message_id is None or message_id not in self.store.by_id:
            return discord_error(404, 10008, "Unknown Message")
        error = message_body_error(request, creating=False)
        if error is not None:
            return error
        message = self.store.by_id[message_id]
        body = dict(body_of(request))
        # Editing the deferred placeholder replaces it: the loading flag goes away.
        body["flags"] = (message.data.get("flags", 0) & ~LOADING) | body.get("flags", 0)
        return discord_json(self.store.edit(message_id, body, files_of(request)).data)

    async def delete_message(self, request: web.Request) -> web.Response:
        """``DELETE /webhooks/{app}/{token}/messages/{id|@original}``."""
        interaction = self._interaction_of(request)
        message_id = self._message_id(request, interaction) if interaction else None
        if message_id is None or message_id not in self.store.by_id:
            return discord_error(404, 10008, "Unknown Message")
        self.store.delete(message_id)
        return web.Response(status=204)


def _invalid_type() -> dict[str, Any]:
    error = {"code": "BASE_TYPE_CHOICES", "message": "Value must be one of {1, 4, 5, 6, 7, 8, 9}."}
    return {"code": 50035, "message": "Invalid Form Body", "errors": {"type": {"_errors": [error]}}}


def _reply_type(interaction: FakeInteraction) -> int:
    if interaction.payload["type"] != APPLICATION_COMMAND:
        return 0
    if interaction.payload["data"].get("type", 1) == 1:
        return CHAT_INPUT_COMMAND_MESSAGE
    return CONTEXT_MENU_COMMAND_MESSAGE


def _webhook_extra(world: DiscordWorld, interaction: FakeInteraction) -> dict[str, Any]:
    payload = interaction.payload
    user = payload["member"]["user"] if "member" in payload else payload["user"]
    extra: dict[str, Any] = {
        "webhook_id": str(world.application_id),
        "application_id": str(world.application_id),
        "interaction_metadata": {
            "id": str(interaction.id),
            "type": payload["type"],
            "user": user,
            "authorizing_integration_owners": payload["authorizing_integration_owners"],
        },
    }
    if "guild_id" in payload:
        extra["guild_id"] = payload["guild_id"]
    return extra


def _callback_body(interaction: FakeInteraction, kind: int, message: FakeMessage | None) -> dict[str, Any]:
    summary: dict[str, Any] = {"id": str(interaction.id), "type": interaction.payload["type"]}
    body: dict[str, Any] = {"interaction": summary}
    if kind in (MESSAGE, DEFERRED_MESSAGE, UPDATE_MESSAGE) and message is not None:
        summary["response_message_id"] = str(message.id)
        summary["response_message_loading"] = kind == DEFERRED_MESSAGE
        summary["response_message_ephemeral"] = message.ephemeral
        body["resource"] = {"type": kind, "message": message.data}
    return body
