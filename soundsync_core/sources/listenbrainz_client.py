"""A thin async ListenBrainz client on the shared aiohttp session.

ListenBrainz asks every client to send a User-Agent naming the application and a contact,
never to make more than one call per second, and to follow the rate-limit headers on every
answer: ``X-RateLimit-Remaining`` (calls left in the window) and ``X-RateLimit-Reset-In``
(seconds until it reopens). The :class:`Pacer` spaces calls a second apart and is held until
the window reopens when none are left or a 429 arrives; 5xx answers and timeouts are retried
a couple of times. A user token only ever travels in the ``Authorization: Token …`` header.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from soundsync_core.sources.listenbrainz_errors import (
    DEFAULT_RESET_IN,
    ListenBrainzError,
    ListenBrainzNotReady,
    ListenBrainzRateLimited,
    ListenBrainzTokenInvalid,
    ListenBrainzTokenMismatch,
    ListenBrainzUnavailable,
    ListenBrainzUnknownUser,
)
from soundsync_core.sources.pacing import Pacer

SECONDS_PER_CALL = 1.0
DEFAULT_TIMEOUT = 10.0
ATTEMPTS = 3
ENTITIES = ("artists", "recordings")


@dataclass(frozen=True)
class StatsPage:
    """One statistics answer: the entity rows for one user and range, best first."""

    user_id: str
    range: str
    from_ts: int | None
    to_ts: int | None
    items: tuple[dict[str, Any], ...]


def _seconds(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


class ListenBrainzClient:
    """Calls the ListenBrainz API for SoundSync; one per process (its pacer is per client)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        api_url: str,
        user_agent: str,
        pacer: Pacer | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = ATTEMPTS,
        retry_delay: float = 0.5,
    ) -> None:
        self._http = http
        self._url = api_url.rstrip("/")
        self._headers = {"User-Agent": user_agent}
        self.pacer = pacer or Pacer(SECONDS_PER_CALL, limited=ListenBrainzRateLimited)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._retry_delay = retry_delay

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any] | None:
        """GET ``path`` (below the API root): its JSON, or None for 204 No Content."""
        headers = dict(self._headers)
        if token is not None:
            headers["Authorization"] = f"Token {token}"
        attempt = 1
        while True:
            try:
                return await self._get_once(path, params or {}, headers)
            except (ListenBrainzUnavailable, ListenBrainzRateLimited):
                # A window closed for longer than the pacer waits inline is not retried.
                if attempt >= self._attempts or self.pacer.held_for() > self.pacer.max_wait:
                    raise
            await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
            attempt += 1

    async def _get_once(
        self, path: str, params: Mapping[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any] | None:
        await self.pacer.wait()
        try:
            async with self._http.get(
                self._url + path, params=params, headers=headers, timeout=self._timeout
            ) as response:
                text = await response.text()
                status, answer_headers = response.status, response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ListenBrainzUnavailable(path, 0, type(exc).__name__) from None
        reset_in = _seconds(answer_headers, "X-RateLimit-Reset-In")
        if _seconds(answer_headers, "X-RateLimit-Remaining") == 0 and reset_in is not None:
            self.pacer.hold(reset_in)
        if status == 429:
            self.pacer.hold(reset_in if reset_in is not None else DEFAULT_RESET_IN)
            raise ListenBrainzRateLimited(reset_in if reset_in is not None else DEFAULT_RESET_IN)
        return self._answer(path, status, text)

    @staticmethod
    def _answer(path: str, status: int, text: str) -> dict[str, Any] | None:
        if status == 204:
            return None
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        message = str(body.get("error", "")) if isinstance(body, dict) else text[:200]
        if status >= 500:
            raise ListenBrainzUnavailable(path, status, message)
        if status == 404:
            raise ListenBrainzUnknownUser(path, status, message)
        if status >= 400 or not isinstance(body, dict):
            raise ListenBrainzError(path, status, message or "not a JSON object")
        return body

    # --- the endpoints SoundSync uses ------------------------------------------------------

    async def validate_token(self, token: str) -> str:
        """The ListenBrainz username a user token belongs to; ListenBrainzTokenInvalid if none."""
        body = await self.get("/validate-token", token=token)
        if not body or body.get("valid") is not True or not body.get("user_name"):
            message = str(body.get("message", "")) if body else "no answer"
            raise ListenBrainzTokenInvalid("/validate-token", 200, message)
        return str(body["user_name"])

    async def verify_user(self, username: str, token: str) -> str:
        """Prove the member owns ``username`` with their token; returns the name as ListenBrainz
        spells it. The token is only checked here, never kept (stats are public)."""
        owner = await self.validate_token(token)
        # MusicBrainz usernames are unique regardless of case.
        if owner.casefold() != username.strip().casefold():
            raise ListenBrainzTokenMismatch(
                "/validate-token", 200, "the token belongs to another user"
            )
        return owner

    async def user_stats(self, user: str, entity: str, stats_range: str, count: int) -> StatsPage:
        """``/stats/user/{user}/{entity}``; ListenBrainzNotReady while not computed (204)."""
        if entity not in ENTITIES:
            raise ValueError(f"unknown statistics entity {entity!r}")
        path = f"/stats/user/{quote(user, safe='')}/{entity}"
        body = await self.get(path, {"range": stats_range, "count": count})
        if body is None:
            raise ListenBrainzNotReady(path, 204, f"{entity} for {stats_range} not computed yet")
        payload = body.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get(entity), list):
            raise ListenBrainzError(path, 200, f"answer without payload.{entity}")
        return StatsPage(
            user_id=str(payload.get("user_id") or user),
            range=str(payload.get("range") or stats_range),
            from_ts=_int(payload.get("from_ts")),
            to_ts=_int(payload.get("to_ts")),
            items=tuple(item for item in payload[entity] if isinstance(item, dict)),
        )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
