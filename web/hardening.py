"""What every response and every log line of the web app gets, whatever the handler.

- Security headers on every response: pages cannot be framed (clickjacking a Continue button)
  or sniffed into another type, and their CSP allows only the inline style they carry and
  forms that post to us or lead on to the provider.
- Log lines never carry a request's control characters: ``%0D%0A`` in a path decodes to a line
  break that would start a forged log line; NUL, ESC (terminal escapes) and Unicode line or
  direction marks are just as bad.
- A malformed request (an over-long URL above all) is one quiet line: aiohttp would log it at
  ERROR with a traceback quoting its first 100 bytes, which for ``/callback`` is the code.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

# Unicode categories that move the cursor or hide text: controls, format marks, line breaks.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def _escaped(char: str) -> str:
    if char == "\\":
        return "\\\\"  # so a literal "\x0a" in a path never reads as an escaped line break
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with control characters (and backslashes) escaped, safe for one log line."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(
        _escaped(c) if c == "\\" or unicodedata.category(c) in _UNSAFE_CATEGORIES else c
        for c in text
    )


def content_security_policy(style_source: str, form_targets: tuple[str, ...]) -> str:
    """The pages' CSP: nothing loads but their own style; forms go to us or the provider."""
    return "; ".join((
        "default-src 'none'",
        f"style-src {style_source}",
        "form-action " + " ".join(("'self'", *form_targets)),
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ))


def security_headers(csp: str) -> ResponseHook:
    """An ``on_response_prepare`` hook that sets the headers on every response."""
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    return add


class _QuietMalformedRequests(logging.Filter):
    """Turns aiohttp's ERROR + traceback for an unparsable request into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        log.info("refused a malformed request: HTTP %s (%s)", exc.code, type(exc).__name__)
        return False


# The logger aiohttp's connection handler uses for the app (see ``create_app``'s handler_args).
PROTOCOL_LOG = logging.getLogger("web.server")
PROTOCOL_LOG.addFilter(_QuietMalformedRequests())
