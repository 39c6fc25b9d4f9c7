"""The whole link flow for tests: fake Spotify + the real aiohttp app on loopback + real spotipy.

``LinkHarness`` plays the browser: our ``/link`` page → Continue → Spotify's consent page (the
fake) → our ``/callback``. Tokens and keys are generated at run time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from prometheus_client.parser import text_string_to_metric_families

from soundsync_core.security.vault import TokenVault
from soundsync_core.services.linking import LinkingService
from soundsync_core.services.notifications import LinkEvent, LinkListener, listen_for_links
from soundsync_core.settings import Settings, load_settings
from soundsync_core.sources.spotify_gateway import PauseGate, SpotifyGateway
from soundsync_fakes.browser import continue_to_provider
from soundsync_fakes.spotify import FakeSpotify
from web.app import PathOnlyAccessLogger, create_app
from web.keys import LINKING_KEY


@dataclass
class LinkHarness:
    """Everything a link test touches."""

    fake: FakeSpotify
    settings: Settings
    pool: asyncpg.Pool
    gateway: SpotifyGateway
    vault: TokenVault
    client: TestClient
    log_path: Path
    events: list[LinkEvent] = field(default_factory=list)
    listener: LinkListener | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def linking(self) -> LinkingService:
        return self.client.server.app[LINKING_KEY]

    async def link_path(
        self, user_id: int = 1001, guild_id: int | None = 7, member_name: str | None = "Ann"
    ) -> str:
        """What the bot would show the member (Discord display name ``member_name``), as a
        path on our app."""
        url = urlsplit(await self.linking.start_link(user_id, guild_id, member_name))
        return f"{url.path}?{url.query}"

    async def consent(self, user: str, user_id: int = 1001, *, approve: bool = True) -> dict:
        """Follow /link to Spotify and consent: the query Spotify sends back to /callback."""
        authorize = await self.continue_link(await self.link_path(user_id))
        location = await self.fake.consent(authorize, user, approve=approve)
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    async def continue_link(self, path: str) -> str:
        """Open the /link page and press Continue: the provider's authorize URL."""
        return await continue_to_provider(self.client.session, str(self.client.make_url(path)))

    async def callback(self, query: dict) -> tuple[int, str]:
        response = await self.client.get("/callback", params=query)
        return response.status, await response.text()

    async def link(self, user: str, user_id: int = 1001) -> tuple[int, str]:
        """The whole flow for one member."""
        return await self.callback(await self.consent(user, user_id))

    async def metrics(self) -> dict[tuple[str, frozenset], float]:
        """/metrics parsed: (sample name, its labels) → value."""
        response = await self.client.get("/metrics")
        assert response.status == 200
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(await response.text())
            for sample in family.samples
        }

    def on_event(self, event: LinkEvent) -> None:
        self.events.append(event)
        self.arrived.set()

    async def wait_for_events(self, count: int) -> list[LinkEvent]:
        async with asyncio.timeout(5.0):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.events

    def fake_log(self) -> list[dict]:
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines()]

    async def count(self, table: str) -> int:
        return await self.pool.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608


@contextlib.asynccontextmanager
async def link_harness(
    pool: asyncpg.Pool, tmp_path: Path, executor: Executor | None = None
) -> AsyncIterator[LinkHarness]:
    """Fake Spotify (alice allowlisted, bob not), app, client and a LISTEN on link events.

    The app listens on a real loopback port that is also its public URL and the redirect URI
    the fake accepts, so a real browser can walk the whole flow too.
    ``executor`` runs the gateway's Spotify calls (None: threads; `soundsync web` uses processes).
    """
    log_path = tmp_path / "fake.jsonl"
    # Closed here if the server never took it over (closing twice is harmless).
    with socket.create_server(("127.0.0.1", 0)) as listening:
        base_url = f"http://127.0.0.1:{listening.getsockname()[1]}"
        async with FakeSpotify(seed=5, log_path=log_path, redirect_uri=f"{base_url}/callback") as fake:
            fake.seed_user("alice", "Alice <The Great>", n_artists=12, n_tracks=30, allowlisted=True)
            fake.seed_user("bob", "Bob", n_artists=5, n_tracks=6)
            settings = load_settings(
                **fake.settings_overrides(),
                soundsync_secret_key=Fernet.generate_key().decode(),
                public_base_url=base_url,
            )
            gateway = SpotifyGateway(settings, gate=PauseGate(), short_wait=2.0, server_retries=2,
                                     backoff=0.01, timeout=5.0, executor=executor)
            vault = TokenVault(settings.soundsync_secret_key)
            app = create_app(settings, pool, gateway=gateway, vault=vault)
            server = TestServer(app, host="127.0.0.1", socket_factory=lambda *_: listening)
            await server.start_server(access_log_class=PathOnlyAccessLogger)
            async with TestClient(server) as client:
                harness = LinkHarness(fake, settings, pool, gateway, vault, client, log_path)
                harness.listener = await listen_for_links(pool, harness.on_event)
                try:
                    yield harness
                finally:
                    await harness.listener.close()
