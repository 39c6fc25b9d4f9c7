"""What can go wrong talking to Last.fm, as :class:`SourceError` subclasses.

Last.fm answers errors as ``{"error": <code>, "message": "…"}`` — sometimes with HTTP 200,
sometimes with a 4xx/5xx — so the client classifies by the code, never by the status alone.
``str(exc)`` carries the method, the code and Last.fm's message (never a key, token or
session key); ``member_message`` is worded for members; ``admin_message`` (where present) is
what the bot owner must fix.
"""

from __future__ import annotations

from soundsync_core.sources.base import (
    ERROR,
    SourceAccessDenied,
    SourceError,
    SourceLinkExpired,
    SourceRateLimited,
    SourceUnavailable,
)

# Codes from the Last.fm API documentation (each method page lists the ones it can return).
INVALID_PARAMETERS = 6
INVALID_AUTH_TOKEN = 4
INVALID_SESSION_KEY = 9
INVALID_API_KEY = 10
SERVICE_OFFLINE = 11
INVALID_SIGNATURE = 13
TOKEN_NOT_AUTHORIZED = 14
TOKEN_EXPIRED = 15
TEMPORARY_ERROR = 16
LOGIN_REQUIRED = 17
SUSPENDED_API_KEY = 26
RATE_LIMITED = 29
OPERATION_FAILED = 8
# Last.fm gives no Retry-After; its guidance is "a few requests per second", so a minute off.
RATE_LIMIT_BACKOFF = 60.0


class LastfmError(SourceError):
    """Base of Last.fm's errors; ``code`` is Last.fm's error number (0: not a Last.fm answer)."""

    service = "Last.fm"

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"Last.fm {method}: error {code}: {message}")
        self.method = method
        self.code = code

    def __reduce__(self) -> tuple:
        return type(self), (self.method, self.code, str(self).split(": ", 2)[-1])


class LastfmUnknownUser(LastfmError, SourceLinkExpired):  # noqa: N818 (named like base.py)
    """Error 6 on a user method: no Last.fm user by that name (renamed or deleted)."""

    member_message = (
        "Last.fm has no user by that name. If you renamed or deleted your Last.fm account, "
        "please link it again with /link."
    )
    outcome = "unknown_user"


class LastfmPrivateProfile(LastfmError, SourceAccessDenied):  # noqa: N818 (named like base.py)
    """Error 17: the member hides their listening and the call carried no session of theirs."""

    member_message = (
        "Your Last.fm listening is private, so Last.fm will not share it. Link Last.fm again "
        "with /link (that lets SoundSync read it as you), or make your listening public."
    )
    outcome = "private"
    account_status = ERROR


class LastfmApiKeyRejected(LastfmError):  # noqa: N818 (named like base.py)
    """Error 10 (invalid key) or 26 (suspended key): the bot's Last.fm app, not the member."""

    member_message = "Last.fm is not available on this bot right now. The bot owner has been told."
    outcome = "misconfigured"
    account_status = None

    @property
    def admin_message(self) -> str:
        """What the bot owner must fix."""
        if self.code == SUSPENDED_API_KEY:
            return "Last.fm suspended this bot's API key (error 26): contact Last.fm."
        return "Last.fm rejects LASTFM_API_KEY (error 10): check the key in the settings."


class LastfmSignatureInvalid(LastfmError):  # noqa: N818 (named like base.py)
    """Error 13: our ``api_sig`` is wrong, i.e. LASTFM_API_SECRET does not match the key."""

    member_message = "Last.fm is not available on this bot right now. The bot owner has been told."
    outcome = "misconfigured"
    account_status = None

    @property
    def admin_message(self) -> str:
        """What the bot owner must fix."""
        return "Last.fm rejects our signature (error 13): check LASTFM_API_SECRET."


class LastfmSessionInvalid(LastfmError, SourceLinkExpired):  # noqa: N818 (named like base.py)
    """Error 9: the stored session key was revoked (the member removed SoundSync's access)."""

    member_message = "Your Last.fm link was revoked or has expired. Please run /link again."
    outcome = "expired"


class LastfmTokenInvalid(LastfmError, SourceLinkExpired):  # noqa: N818 (named like base.py)
    """Errors 4, 14, 15 on ``auth.getSession``: the link approval is unknown, not given or old."""

    member_message = (
        "Last.fm did not confirm the link: the approval was not given or has expired. "
        "Please start again with /link."
    )
    outcome = "token_invalid"
    account_status = None


class LastfmUnavailable(LastfmError, SourceUnavailable):  # noqa: N818 (named like base.py)
    """Errors 8, 11, 16, HTTP 5xx, timeouts or an unreadable answer, after our retries."""

    member_message = "Last.fm could not be reached just now. Please try again later."


class LastfmRateLimited(SourceRateLimited):
    """Error 29: Last.fm wants fewer requests from this IP; back off ``retry_after`` seconds."""

    service = "Last.fm"
    member_message = "Last.fm asked us to slow down. Your profile will be refreshed later."

    def __init__(self, retry_after: float = RATE_LIMIT_BACKOFF) -> None:
        super().__init__(retry_after)

    def __reduce__(self) -> tuple:
        return type(self), (self.retry_after,)


_BY_CODE: dict[int, type[LastfmError]] = {
    INVALID_API_KEY: LastfmApiKeyRejected,
    SUSPENDED_API_KEY: LastfmApiKeyRejected,
    INVALID_SIGNATURE: LastfmSignatureInvalid,
    INVALID_SESSION_KEY: LastfmSessionInvalid,
    INVALID_AUTH_TOKEN: LastfmTokenInvalid,
    TOKEN_NOT_AUTHORIZED: LastfmTokenInvalid,
    TOKEN_EXPIRED: LastfmTokenInvalid,
    LOGIN_REQUIRED: LastfmPrivateProfile,
    SERVICE_OFFLINE: LastfmUnavailable,
    TEMPORARY_ERROR: LastfmUnavailable,
    OPERATION_FAILED: LastfmUnavailable,
}


def error_for(method: str, code: int, message: str) -> SourceError:
    """The exception for Last.fm error ``code`` answered to ``method``."""
    if code == RATE_LIMITED:
        return LastfmRateLimited()
    if code == INVALID_PARAMETERS and method.startswith("user."):
        return LastfmUnknownUser(method, code, message)
    return _BY_CODE.get(code, LastfmError)(method, code, message)
