"""What can go wrong talking to ListenBrainz, as :class:`SourceError` subclasses.

ListenBrainz answers errors as ``{"code": <http status>, "error": "…"}``; statistics it has
not computed yet are a ``204 No Content``. ``str(exc)`` carries the endpoint, the status and
ListenBrainz's message (never a user token); ``member_message`` is worded for members.
"""

from __future__ import annotations

from soundsync_core.sources.base import (
    SourceAccessDenied,
    SourceError,
    SourceLinkExpired,
    SourceNotReady,
    SourceRateLimited,
    SourceUnavailable,
)

# When a 429 carries no X-RateLimit-Reset-In: ListenBrainz's windows are about ten seconds.
DEFAULT_RESET_IN = 10.0


class ListenBrainzError(SourceError):
    """Base of ListenBrainz's errors; ``status`` is the HTTP status (0: no answer)."""

    service = "ListenBrainz"

    def __init__(self, endpoint: str, status: int, message: str) -> None:
        super().__init__(f"ListenBrainz {endpoint}: HTTP {status}: {message}")
        self.endpoint = endpoint
        self.status = status

    def __reduce__(self) -> tuple:
        return type(self), (self.endpoint, self.status, str(self).split(": ", 2)[-1])


class ListenBrainzUnknownUser(ListenBrainzError, SourceLinkExpired):  # noqa: N818 (like base.py)
    """404: ListenBrainz has no user by that name (a typo, or the account was deleted)."""

    member_message = (
        "ListenBrainz has no user by that name. Check the spelling of your ListenBrainz "
        "username and link it again with /link."
    )
    outcome = "unknown_user"


class ListenBrainzTokenInvalid(ListenBrainzError, SourceLinkExpired):  # noqa: N818 (like base.py)
    """``validate-token`` says the user token is not valid."""

    member_message = (
        "ListenBrainz does not accept that user token. Copy it again from your ListenBrainz "
        "settings page (Settings → User token) and try /link once more."
    )
    outcome = "token_invalid"
    account_status = None


class ListenBrainzTokenMismatch(ListenBrainzError, SourceAccessDenied):  # noqa: N818 (like base.py)
    """The user token is valid but belongs to another ListenBrainz user than the one given."""

    member_message = (
        "That ListenBrainz user token belongs to a different account than the username you "
        "gave. Use the username and token of the same ListenBrainz account."
    )
    outcome = "token_mismatch"
    account_status = None


class ListenBrainzNotReady(ListenBrainzError, SourceNotReady):  # noqa: N818 (like base.py)
    """204: ListenBrainz has not computed this member's statistics yet."""

    member_message = (
        "ListenBrainz has not computed your listening statistics yet (it does so about once a "
        "day). We will fetch them at the next refresh."
    )


class ListenBrainzUnavailable(ListenBrainzError, SourceUnavailable):  # noqa: N818 (like base.py)
    """HTTP 5xx, a timeout or an unreadable answer, after our retries."""

    member_message = "ListenBrainz could not be reached just now. Please try again later."


class ListenBrainzRateLimited(SourceRateLimited):
    """429, or a rate-limit window that stays closed longer than we wait inline."""

    service = "ListenBrainz"
    member_message = "ListenBrainz asked us to slow down. Your profile will be refreshed later."

    def __init__(self, retry_after: float = DEFAULT_RESET_IN) -> None:
        super().__init__(retry_after)

    def __reduce__(self) -> tuple:
        return type(self), (self.retry_after,)
