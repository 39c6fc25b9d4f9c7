"""Last.fm and ListenBrainz errors are protocol errors: classified, picklable, safe to show."""

from __future__ import annotations

import pickle
from typing import Any

import aiohttp
import pytest

from soundsync_core.sources.base import (
    EXPIRED,
    ListeningSource,
    SourceError,
    SourceLinkExpired,
    SourceRateLimited,
    SourceUnavailable,
)
from soundsync_core.sources.lastfm import LastfmSource
from soundsync_core.sources.lastfm_client import LastfmClient
from soundsync_core.sources.lastfm_errors import (
    LastfmApiKeyRejected,
    LastfmError,
    LastfmPrivateProfile,
    LastfmRateLimited,
    LastfmSessionInvalid,
    LastfmSignatureInvalid,
    LastfmTokenInvalid,
    LastfmUnavailable,
    LastfmUnknownUser,
    error_for,
)
from soundsync_core.sources.listenbrainz import ListenBrainzSource
from soundsync_core.sources.listenbrainz_client import ListenBrainzClient
from soundsync_core.sources.listenbrainz_errors import (
    ListenBrainzNotReady,
    ListenBrainzRateLimited,
    ListenBrainzTokenMismatch,
    ListenBrainzUnknownUser,
)


@pytest.mark.parametrize(("method", "code", "kind"), [
    ("user.getTopArtists", 6, LastfmUnknownUser),
    ("artist.getTopTags", 6, LastfmError),
    ("user.getTopArtists", 17, LastfmPrivateProfile),
    ("user.getTopArtists", 10, LastfmApiKeyRejected),
    ("user.getTopArtists", 26, LastfmApiKeyRejected),
    ("auth.getSession", 13, LastfmSignatureInvalid),
    ("user.getTopArtists", 9, LastfmSessionInvalid),
    ("auth.getSession", 4, LastfmTokenInvalid),
    ("auth.getSession", 14, LastfmTokenInvalid),
    ("auth.getSession", 15, LastfmTokenInvalid),
    ("user.getTopTracks", 11, LastfmUnavailable),
    ("user.getTopTracks", 16, LastfmUnavailable),
    ("user.getTopTracks", 29, LastfmRateLimited),
])
def test_every_lastfm_code_has_its_class(method: str, code: int, kind: type[SourceError]) -> None:
    error = error_for(method, code, "message from Last.fm")
    assert type(error) is kind
    assert isinstance(error, SourceError)


def test_what_each_error_does_to_the_account() -> None:
    assert isinstance(LastfmSessionInvalid("m", 9, "x"), SourceLinkExpired)
    assert LastfmSessionInvalid("m", 9, "x").account_status == EXPIRED
    assert LastfmTokenInvalid("m", 14, "x").account_status is None
    assert LastfmApiKeyRejected("m", 10, "x").account_status is None
    assert isinstance(LastfmUnavailable("m", 11, "x"), SourceUnavailable)
    assert isinstance(ListenBrainzRateLimited(), SourceRateLimited)
    assert ListenBrainzNotReady("p", 204, "x").account_status is None


@pytest.mark.parametrize("error", [
    LastfmUnknownUser("user.getTopArtists", 6, "User not found"),
    LastfmRateLimited(60.0),
    LastfmApiKeyRejected("user.getTopTracks", 26, "Suspended API key"),
    ListenBrainzUnknownUser("/stats/user/x/artists", 404, "Cannot find user: x"),
    ListenBrainzTokenMismatch("/validate-token", 200, "the token belongs to another user"),
    ListenBrainzRateLimited(12.0),
])
def test_errors_cross_process_boundaries(error: SourceError) -> None:
    copy: Any = pickle.loads(pickle.dumps(error))  # noqa: S301 (bytes we just made)
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert getattr(copy, "code", None) == getattr(error, "code", None)


def test_member_messages_carry_no_ids_or_commands() -> None:
    for kind in (LastfmUnknownUser, LastfmPrivateProfile, LastfmApiKeyRejected,
                 LastfmSignatureInvalid, LastfmSessionInvalid, LastfmTokenInvalid, LastfmUnavailable,
                 LastfmRateLimited, ListenBrainzUnknownUser, ListenBrainzTokenMismatch,
                 ListenBrainzNotReady, ListenBrainzRateLimited):
        message = kind.member_message
        assert "soundsync " not in message  # no CLI commands
        assert "LASTFM_" not in message  # settings are for the owner (admin_message)
        assert not any(char.isdigit() for char in message)  # no ids, no error codes


async def test_both_adapters_are_listening_sources() -> None:
    async with aiohttp.ClientSession() as http:
        lastfm = LastfmSource(LastfmClient(http, api_url="http://127.0.0.1:9/2.0", api_key="k",
                                           api_secret="s", user_agent="t"))
        listenbrainz = ListenBrainzSource(
            ListenBrainzClient(http, api_url="http://127.0.0.1:9/1", user_agent="t")
        )
    assert isinstance(lastfm, ListeningSource)
    assert isinstance(listenbrainz, ListeningSource)
    assert (lastfm.name, lastfm.needs_credentials) == ("lastfm", True)
    assert (listenbrainz.name, listenbrainz.needs_credentials) == ("listenbrainz", False)
