"""The listening-source protocol: what every source of listening history gives the core.

A source (Spotify, the Spotify data export, Last.fm, ListenBrainz, …) turns a member's account
into the same plain ranked profile, :class:`Listening`, and reports trouble through one error
hierarchy, :class:`SourceError`, whose subclasses say what to do next (wait, ask the member to
link again, try at the next refresh). Ingestion, the scheduled refresh, accounts, ``/profile``
and ``/unlink`` know sources only through this module and the :class:`SourceRegistry`, so a new
source brings its adapter, its link flow, its fake and its settings, plus one registry line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, runtime_checkable

from soundsync_core.errors import MemberFacingError
from soundsync_core.taste.profile import RankedArtist, RankedTrack

# Account statuses (the ``accounts.status`` check constraint).
ACTIVE = "active"
EXPIRED = "expired"
NOT_ALLOWLISTED = "not_allowlisted"
ERROR = "error"


@dataclass(frozen=True)
class Credentials:
    """A member's login at a source; ``expires_at`` is a Unix time. The repr never shows secrets.

    Spotify has an access token that expires and a refresh token; a Last.fm session key never
    expires (no refresh token, no expiry). Sources that read public data keep none at all.
    """

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    scope: str = ""

    def expires_within(self, seconds: float) -> bool:
        """True when the access token dies in less than ``seconds`` (never, without an expiry)."""
        return self.expires_at is not None and self.expires_at - time.time() < seconds


@dataclass(frozen=True)
class Listening:
    """One member's listening as one source tells it: plain ranked lists, best first.

    ``account_id`` is the source's immutable key of the account (stored as ``external_id``),
    ``window`` says in words which period the lists cover ("last 12 months"), for ``/profile``.
    """

    account_id: str
    display_name: str
    artists: tuple[RankedArtist, ...]
    tracks: tuple[RankedTrack, ...] = ()
    window: str = ""


SaveCredentials = Callable[[Credentials], Awaitable[None]]


@dataclass(frozen=True)
class LinkedAccount:
    """What a source needs to fetch a member's listening again (no database handle)."""

    user_id: int
    external_id: str | None
    credentials: Credentials | None
    # Called at once with rotated credentials (a refreshed Spotify token must not be lost).
    save_credentials: SaveCredentials | None = None


# --- errors ----------------------------------------------------------------------------------


class SourceError(MemberFacingError):
    """Base of every source's errors: ``str(exc)`` is safe to log, ``member_message`` to show.

    ``outcome`` names the error for refresh reports; ``account_status`` is what the account
    becomes (None: unchanged, the next refresh tries again); ``service`` names who said it.
    """

    service = "the music service"
    member_message = "The music service could not be reached just now. Please try again later."
    outcome = "error"
    account_status: str | None = ERROR

    def __init__(self, detail: str = "") -> None:
        # The member's words are the class's own; the detail (the operator's line) varies.
        super().__init__(type(self).member_message, detail=detail or None)


class SourceRateLimited(SourceError):  # noqa: N818 (a state, not a failure)
    """Asked to slow down: wait ``retry_after`` seconds; ``quota_exceeded`` = the app's quota."""

    member_message = "The music service asked us to slow down. Your profile will be refreshed later."
    outcome = "rate_limited"
    account_status = None

    def __init__(self, retry_after: float, quota_exceeded: bool = False) -> None:
        kind = "quota exceeded" if quota_exceeded else "rate limited"
        super().__init__(f"{self.service} {kind}; retry after {retry_after:.0f} s")
        self.retry_after = retry_after
        self.quota_exceeded = quota_exceeded

    def __reduce__(self) -> tuple:
        # Errors cross process boundaries (Spotify calls may run in worker processes).
        return type(self), (self.retry_after, self.quota_exceeded)


class SourceLinkExpired(SourceError):  # noqa: N818 (a state, not a failure)
    """The stored login is dead (revoked, expired, rejected): the member must link again."""

    member_message = "Your music-service link has expired. Please run /link again."
    outcome = "expired"
    account_status = EXPIRED


class SourceAccessDenied(SourceError):  # noqa: N818 (a state, not a failure)
    """The service refuses this member's data (not on a development app's allowlist, private)."""

    member_message = "The music service refused to share your listening with this bot."
    outcome = "denied"
    account_status = NOT_ALLOWLISTED


class SourceUnavailable(SourceError):  # noqa: N818 (a state, not a failure)
    """The service is down, answers 5xx or times out, after our bounded retries."""

    outcome = "upstream_error"
    account_status = None


class SourceNotReady(SourceError):  # noqa: N818 (a state, not a failure)
    """The service has no listening statistics for the member yet; try at the next refresh."""

    member_message = (
        "Your listening statistics are not ready at the music service yet; "
        "we will fetch them at the next refresh."
    )
    outcome = "not_ready"
    account_status = None


# --- the protocol ----------------------------------------------------------------------------


@runtime_checkable
class ListeningSource(Protocol):
    """One source of listening history, as the core sees it.

    ``name`` is the ``accounts.source`` / ``profiles.source`` key, ``label`` what members read.
    ``refresh_every`` is how old a profile may get before the scheduled refresh fetches it
    again; None means the member brings new data themselves (a file) and nothing is fetched.
    ``needs_credentials``: the source cannot fetch without a stored login.
    """

    name: str
    label: str
    refresh_every: timedelta | None
    needs_credentials: bool

    async def fetch(self, account: LinkedAccount) -> Listening:
        """The member's listening now; raises :class:`SourceError` subclasses only."""
        ...


@dataclass(frozen=True)
class FileSource:
    """A source the member uploads (no API): it is labelled and listed, never fetched."""

    name: str
    label: str
    refresh_every: timedelta | None = None
    needs_credentials: bool = False

    async def fetch(self, account: LinkedAccount) -> Listening:
        """Never called by the refresh (``refresh_every`` is None); here for the protocol."""
        raise SourceError(f"{self.label} has nothing to fetch: the member uploads it")


class UnknownSourceError(KeyError):
    """A source name that no registered source has."""


class SourceRegistry:
    """The sources this process knows, by name (built once by the composition root)."""

    def __init__(self, sources: Iterable[ListeningSource] = ()) -> None:
        self._sources: dict[str, ListeningSource] = {}
        # Sources this build could offer but whose settings are missing: label → what is missing.
        self.missing: dict[str, str] = {}
        for source in sources:
            self.add(source)

    def add(self, source: ListeningSource) -> None:
        """Register ``source``; two sources may not share a name."""
        if source.name in self._sources:
            raise ValueError(f"two listening sources are named {source.name!r}")
        self._sources[source.name] = source

    def add_missing(self, label: str, settings: str) -> None:
        """Record that ``label`` is not offered because ``settings`` are not set."""
        self.missing[label] = settings

    def get(self, name: str) -> ListeningSource:
        """The source called ``name``."""
        try:
            return self._sources[name]
        except KeyError:
            raise UnknownSourceError(name) from None

    def label(self, name: str) -> str:
        """What members read for ``name`` (the name itself for a source this process lacks)."""
        source = self._sources.get(name)
        return source.label if source is not None else name

    def refreshed(self) -> list[ListeningSource]:
        """The sources the scheduled refresh fetches again."""
        return [s for s in self._sources.values() if s.refresh_every is not None]

    def __iter__(self) -> Iterator[ListeningSource]:
        return iter(self._sources.values())

    def __contains__(self, name: object) -> bool:
        return name in self._sources
