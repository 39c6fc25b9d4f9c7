"""The fakes' request log (DESIGN §8): one JSON object per request/response pair.

With ``SOUNDSYNC_FAKE_LOG=path`` set (read through the settings object), or a path given to a fake's
constructor, every request a fake receives and the response it sends are appended to ``path`` as
``{"service", "method", "path", "status", "request", "response"}``, so a whole test run can be
audited against the official API specs.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from soundsync_core.settings import load_settings

_write_lock = threading.Lock()
# What a handler parsed from the request (e.g. a multipart body's ``payload_json`` and file
# names), logged instead of the raw body.
LOGGED_REQUEST = web.RequestKey("fake_log_request", object)


def _parsed_by_handler(request: web.Request) -> Any:
    return request.get(LOGGED_REQUEST)


def _decode(body: bytes, content_type: str) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def configured_log_path() -> Path | None:
    """``SOUNDSYNC_FAKE_LOG`` from the settings: where fakes built without a path log."""
    return load_settings().soundsync_fake_log


class FakeLog:
    """Appends request/response records to a JSONL file (no-op without a path).

    ``path=None`` means the configured one (``SOUNDSYNC_FAKE_LOG``), if any.
    """

    def __init__(self, service: str, path: str | Path | None = None) -> None:
        self.service = service
        self.path = Path(path) if path else configured_log_path()

    def record(self, request: web.BaseRequest, request_body: Any, response: web.StreamResponse) -> None:
        """Append one record; ``request_body`` is what the fake parsed from the request."""
        if self.path is None:
            return
        body = response.body if isinstance(response, web.Response) else None
        entry = {
            "service": self.service,
            "method": request.method,
            "path": request.path_qs,
            "status": response.status,
            "request": request_body,
            "response": _decode(body if isinstance(body, bytes) else b"", response.content_type),
        }
        line = json.dumps(entry, ensure_ascii=False)
        with _write_lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def middleware(self) -> Any:
        """An aiohttp middleware that logs every request with its (JSON, form or text) body."""

        @web.middleware
        async def log_requests(request: web.Request, handler: Any) -> web.StreamResponse:
            if self.path is None:
                return await handler(request)
            raw = await request.read()
            response = await handler(request)
            parsed = _parsed_by_handler(request)
            if parsed is None:
                parsed = _decode(raw, request.content_type)
            self.record(request, parsed, response)
            return response

        return log_requests
