"""One-time OAuth states: random, stored hashed, bound to a member, valid ten minutes, once.

A state also gets a form token (:func:`continue_token`): the web ``/link`` page puts it in its
Continue form, and ``POST /link/continue`` accepts only that state's token, so another site
cannot send a member's browser on to the provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from soundsync_core.errors import MemberFacingError
from soundsync_core.repositories import oauth_states
from soundsync_core.security.vault import TokenVault

STATE_LIFETIME = timedelta(minutes=10)
# HKDF "info": the form key is independent of the Fernet key it is derived from.
_FORM_KEY_PURPOSE = b"soundsync link-continue form token v1"


class StateError(MemberFacingError):
    """The state is missing, unknown (or tampered with), expired or already used."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"this link is {reason}")


@dataclass(frozen=True)
class LinkRequest:
    """What a valid state stands for."""

    user_id: int
    guild_id: int | None
    code_verifier: str
    member_name: str | None = None  # Discord display name when the link was asked for
    source: str = "spotify"  # the listening source this link is for

    def __repr__(self) -> str:
        return f"LinkRequest(user_id={self.user_id}, guild_id={self.guild_id})"


def _hash(state: str) -> bytes:
    return hashlib.sha256(state.encode()).digest()


def form_key(secret_key: SecretStr) -> bytes:
    """The key of :func:`continue_token`, derived from ``SOUNDSYNC_SECRET_KEY``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FORM_KEY_PURPOSE)
    return hkdf.derive(secret_key.get_secret_value().encode())


def continue_token(key: bytes, state: str) -> str:
    """The Continue form's token for ``state`` (an HMAC: nothing to store)."""
    digest = hmac.new(key, state.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def continue_token_matches(key: bytes, state: str, token: str) -> bool:
    """Whether ``token`` is ``state``'s form token (compared in constant time)."""
    return hmac.compare_digest(continue_token(key, state).encode(), token.encode())


async def create_state(
    conn: asyncpg.Connection,
    vault: TokenVault,
    user_id: int,
    guild_id: int | None,
    code_verifier: str,
    member_name: str | None = None,
    source: str = "spotify",
) -> str:
    """Store a new state for the member's link to ``source``; returns it (only its hash is kept)."""
    state = secrets.token_urlsafe(32)
    await oauth_states.insert_state(
        conn, _hash(state), user_id, guild_id, vault.encrypt(code_verifier), STATE_LIFETIME,
        member_name or None, source,
    )
    return state


async def consume_state(conn: asyncpg.Connection, vault: TokenVault, state: str | None) -> LinkRequest:
    """Mark the state used and return its request; :class:`StateError` says why it cannot be."""
    if not state:
        raise StateError("missing its state")
    row = await oauth_states.use_state(conn, _hash(state))
    if row is not None:
        return LinkRequest(row["user_id"], row["guild_id"], vault.decrypt(row["code_verifier_enc"]),
                           row["member_name"], row["source"])
    used = await oauth_states.state_was_used(conn, _hash(state))
    if used is None:
        raise StateError("unknown (or was altered)")
    raise StateError("already used" if used else "expired")


async def release_state(conn: asyncpg.Connection, state: str) -> None:
    """Make a consumed state usable again (the token exchange failed: let the member retry)."""
    await oauth_states.release_state(conn, _hash(state))
