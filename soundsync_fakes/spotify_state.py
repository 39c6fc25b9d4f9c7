"""The fake Spotify's mutable state: the registered app, OAuth grants, tokens and modes."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from soundsync_fakes.spotify_catalog import Catalog

TIERS = ("full", "development")
FAULTS = ("rate_limited", "quota_exceeded", "server_error")
MODES = (*TIERS, *FAULTS, "expired_refresh")
ACCESS_TOKEN_SECONDS = 3600
CODE_SECONDS = 600
# Refresh tokens die six months after the user authorised; refreshing does not extend them.
REFRESH_TOKEN_SECONDS = 182 * 24 * 3600
DEVELOPMENT_ALLOWLIST_CAP = 5


@dataclass
class AppRegistration:
    """The one Spotify app the fake knows: its credentials and its exact redirect URI."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str


@dataclass
class CodeGrant:
    """An authorization code waiting to be exchanged (single use, ten minutes)."""

    user_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class TokenGrant:
    """What an access or refresh token stands for."""

    user_id: str
    scope: str
    expires_at: float


class TokenStore:
    """Codes, access tokens and refresh tokens, all generated with ``secrets``."""

    def __init__(self) -> None:
        self.codes: dict[str, CodeGrant] = {}
        self.access: dict[str, TokenGrant] = {}
        self.refresh: dict[str, TokenGrant] = {}

    def issue_code(
        self, user_id: str, redirect_uri: str, scope: str, challenge: str | None
    ) -> str:
        """A fresh authorization code for an approved consent."""
        code = secrets.token_urlsafe(48)
        self.codes[code] = CodeGrant(
            user_id, redirect_uri, scope, challenge, time.time() + CODE_SECONDS
        )
        return code

    def issue_access(self, user_id: str, scope: str) -> str:
        """A fresh bearer token valid for an hour."""
        token = secrets.token_urlsafe(48)
        self.access[token] = TokenGrant(user_id, scope, time.time() + ACCESS_TOKEN_SECONDS)
        return token

    def issue_refresh(self, user_id: str, scope: str, expires_at: float) -> str:
        """A refresh token whose life ends at ``expires_at`` (fixed at authorisation)."""
        token = secrets.token_urlsafe(48)
        self.refresh[token] = TokenGrant(user_id, scope, expires_at)
        return token

    def expire_access_tokens(self, user_id: str | None = None) -> None:
        """Make access tokens (of one user, or all) expired, to force the 401 → refresh path."""
        for grant in self.access.values():
            if user_id is None or grant.user_id == user_id:
                grant.expires_at = 0.0

    def expire_refresh_tokens(self, user_id: str | None = None) -> None:
        """Age refresh tokens past their six months: the next refresh gets invalid_grant."""
        for grant in self.refresh.values():
            if user_id is None or grant.user_id == user_id:
                grant.expires_at = 0.0


class SpotifyState:
    """Everything the fake's handlers read and the tests change at run time."""

    def __init__(self, catalog: Catalog, app: AppRegistration, mode: str) -> None:
        self.catalog = catalog
        self.app = app
        self.tokens = TokenStore()
        self.tier = "full"
        self.fault: str | None = None
        self.fault_remaining: int | None = None
        self.retry_after = 3600
        self.server_error_status = 503
        self.expired_refresh = False
        # Spotify may leave refresh_token out of a refresh answer (the old one stays valid).
        self.refresh_omits_token = False
        # What a 403 on /audio-features carries: "empty" (as Spotify often does), "json",
        # or "non_object" (JSON that is not an error object, which trips spotipy's parser).
        self.audio_features_403_body = "empty"
        self.default_user: str | None = None
        self.set_mode(mode)

    @property
    def mode(self) -> str:
        """The active fault, else ``expired_refresh`` when set, else the tier."""
        if self.fault is not None:
            return self.fault
        return "expired_refresh" if self.expired_refresh else self.tier

    def set_mode(
        self, mode: str, *, retry_after: int | None = None, count: int | None = None
    ) -> None:
        """Switch mode; faults stack on the current tier and clear after ``count`` requests."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        if retry_after is not None:
            self.retry_after = retry_after
        if mode in TIERS:
            self.tier, self.fault, self.expired_refresh = mode, None, False
        elif mode == "expired_refresh":
            self.expired_refresh = True
        else:
            self.fault, self.fault_remaining = mode, count

    def take_fault(self) -> str | None:
        """The fault to inject into this request, counting it down."""
        fault = self.fault
        if fault is not None and self.fault_remaining is not None:
            self.fault_remaining -= 1
            if self.fault_remaining <= 0:
                self.fault, self.fault_remaining = None, None
        return fault

    def allowlist(self, user_id: str) -> None:
        """Add a user to the development-mode allowlist (at most five, like Spotify)."""
        listed = [u for u in self.catalog.users.values() if u.allowlisted]
        if len(listed) >= DEVELOPMENT_ALLOWLIST_CAP and user_id not in {u.id for u in listed}:
            raise ValueError("the development-mode allowlist holds at most 5 users")
        self.catalog.users[user_id].allowlisted = True

    @property
    def full_access(self) -> bool:
        """True for an extended-quota app, False in development mode."""
        return self.tier == "full"
