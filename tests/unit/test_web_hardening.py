"""What the web app writes to its logs and headers, whatever the request held."""

from __future__ import annotations

import pytest

from web.hardening import content_security_policy, printable


@pytest.mark.parametrize(("raw", "logged"), [
    ("/callback", "/callback"),
    ("/x\r\n127.0.0.1 fake line", "/x\\x0d\\x0a127.0.0.1 fake line"),
    ("/nul\x00esc\x1b[2J", "/nul\\x00esc\\x1b[2J"),
    ("/del\x7fc1\x85", "/del\\x7fc1\\x85"),
    ("/line\u2028sep\u202eltr", "/line\\u2028sep\\u202eltr"),
    ("/already\\x0a", "/already\\\\x0a"),  # a literal backslash can't pass for an escape
    ("/café-ünïcode", "/café-ünïcode"),
])
def test_printable_escapes_what_could_forge_or_hide_a_log_line(raw: str, logged: str) -> None:
    assert printable(raw) == logged
    assert printable(raw).isprintable()


def test_csp_lets_forms_reach_only_us_and_the_provider() -> None:
    csp = content_security_policy("'sha256-abc'", ("https://accounts.spotify.com",))
    parts = [part.strip() for part in csp.split(";")]
    assert "form-action 'self' https://accounts.spotify.com" in parts
    assert "style-src 'sha256-abc'" in parts
    assert "frame-ancestors 'none'" in parts
