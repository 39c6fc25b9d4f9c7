"""HTTP plumbing of the fake Discord: JSON bodies, multipart parsing, errors and fault injection.

discord.py compares ``Content-Type`` with ``application/json`` for equality, so every JSON answer
is built by :func:`discord_json` (aiohttp's ``json_response`` would add ``; charset=utf-8``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from aiohttp import web

from soundsync_fakes.discord_messages import UploadedFile
from soundsync_fakes.fakelog import LOGGED_REQUEST

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODY = web.RequestKey("discord_body", object)
FILES = web.RequestKey("discord_files", list[UploadedFile])
# Routes reached without the bot token, as on Discord (the interaction token authenticates).
_TOKENLESS_PREFIXES = ("/interactions/", "/webhooks/", "/gateway")


def discord_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json``."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def discord_error(status: int, code: int, message: str) -> web.Response:
    """Discord's plain error body ``{"message", "code"}``."""
    return discord_json({"message": message, "code": code}, status)


def body_of(request: web.Request) -> Any:
    """The parsed JSON body (or multipart ``payload_json``) of a request."""
    return request.get(BODY)


def files_of(request: web.Request) -> list[UploadedFile]:
    """The uploaded ``files[n]`` parts of a multipart request."""
    return list(request.get(FILES, []))


def parse_multipart(body: bytes, content_type_header: str) -> tuple[Any, list[UploadedFile]]:
    """Split a multipart/form-data body into its ``payload_json`` and its files, byte-exact."""
    header = Message()
    header["content-type"] = content_type_header
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str):
        raise ValueError("multipart body without a boundary")
    payload: Any = None
    files: list[UploadedFile] = []
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break  # the closing delimiter
        raw_headers, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = Message()
        for line in raw_headers.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        content = content.removesuffix(b"\r\n")
        field = headers.get_param("name", header="content-disposition")
        if field == "payload_json":
            payload = json.loads(content)
        elif isinstance(field, str):
            filename = headers.get_filename() or field
            kind = headers.get_content_type()
            files.append(UploadedFile(field, filename, content, kind))
    return payload, files


async def _parse_body(request: web.Request) -> None:
    raw = await request.read()
    if request.content_type.startswith("multipart/"):
        payload, files = parse_multipart(raw, request.headers["Content-Type"])
        request[BODY] = payload
        request[FILES] = files
        request[LOGGED_REQUEST] = {
            "payload_json": payload,
            "files": [f.filename for f in files],
        }
    elif raw:
        request[BODY] = json.loads(raw)


def body_middleware(api_prefix: str, bot_token: str) -> Any:
    """Parse bodies once (JSON or multipart), check the bot token, and answer Discord's 404/405."""

    @web.middleware
    async def parse(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            await _parse_body(request)
        except ValueError:
            return discord_json({"message": "400: Bad Request", "code": 50109}, 400)
        path = request.path.removeprefix(api_prefix)
        needs_token = request.path.startswith(api_prefix) and not path.startswith(_TOKENLESS_PREFIXES)
        if needs_token and request.headers.get("Authorization") != f"Bot {bot_token}":
            return discord_error(401, 0, "401: Unauthorized")
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return discord_error(404, 0, "404: Not Found")
        except web.HTTPMethodNotAllowed:
            return discord_error(405, 0, "405: Method Not Allowed")

    return parse


@dataclass
class RateLimitRule:
    """Answer 429 to the next ``remaining`` requests of one route (``METHOD /path/{param}``)."""

    method: str
    route: str
    remaining: int
    retry_after: float
    is_global: bool = False


class FaultInjector:
    """Rate limits the tests ask for, applied before the route handler runs."""

    def __init__(self, api_prefix: str) -> None:
        self.api_prefix = api_prefix
        self.rules: list[RateLimitRule] = []
        self.rate_limited: list[str] = []

    def rate_limit(
        self,
        method: str,
        route: str,
        count: int = 1,
        retry_after: float = 0.05,
        *,
        is_global: bool = False,
    ) -> RateLimitRule:
        """Answer 429 to the next ``count`` requests to ``route`` (``/channels/{channel_id}``)."""
        rule = RateLimitRule(method.upper(), route, count, retry_after, is_global)
        self.rules.append(rule)
        return rule

    def _match(self, request: web.Request) -> RateLimitRule | None:
        resource = request.match_info.route.resource
        canonical = resource.canonical.removeprefix(self.api_prefix) if resource else ""
        for rule in self.rules:
            if rule.remaining > 0 and rule.method == request.method and rule.route == canonical:
                return rule
        return None

    def middleware(self) -> Any:
        """The aiohttp middleware that answers 429 while a rule has requests left."""

        @web.middleware
        async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
            rule = self._match(request)
            if rule is None:
                return await handler(request)
            rule.remaining -= 1
            self.rate_limited.append(f"{request.method} {request.path}")
            return _too_many_requests(rule)

        return inject


def _too_many_requests(rule: RateLimitRule) -> web.Response:
    body = {
        "message": "You are being rate limited.",
        "retry_after": rule.retry_after,
        "global": rule.is_global,
    }
    headers = {
        "Retry-After": str(max(1, round(rule.retry_after))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + rule.retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{rule.retry_after:.3f}",
        "X-RateLimit-Bucket": f"fake-{abs(hash(rule.route)):x}",
        "X-RateLimit-Scope": "global" if rule.is_global else "user",
        # discord.py only retries a 429 that came through Discord's proxy (Cloudflare bans lack it).
        "Via": "1.1 google",
    }
    if rule.is_global:
        headers["X-RateLimit-Global"] = "true"
    return discord_json(body, 429, headers)
