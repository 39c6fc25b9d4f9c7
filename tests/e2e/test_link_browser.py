"""The link flow in a real browser: Debian's Chromium driven by Playwright, at desktop and
phone width, from our /link page through the fake Spotify's consent page to the success page.

Screenshots of every step go to ``artifacts/`` (git-ignored). Without Chromium (or Playwright)
the test is skipped and says why, except under ``CI=true``, where it must run: ``.ci/run``
installs both. Playwright never downloads a browser here (no ``playwright install``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.integration.link_harness import LinkHarness, link_harness

pytestmark = pytest.mark.filterwarnings("ignore:You're using `audio_features:DeprecationWarning")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
# Headless as root in a container: no sandbox (it needs user namespaces), no GPU, and none of
# the background traffic a fresh profile starts (the machine has no internet).
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Debian's Chromium is not installed ({CHROMIUM}; apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture
def browser_ready() -> None:
    missing = _missing()
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the browser test cannot run: {missing}")
    pytest.skip(missing)


@pytest.fixture
async def h(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[LinkHarness]:
    async with link_harness(pool, tmp_path) as harness:
        yield harness


async def _step(page: Any, name: str, width: str) -> None:
    """Screenshot the page; no page of the flow may scroll sideways."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"link-{name}-{width}.png"), full_page=True)
    scroll_width, inner_width = await page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, f"{name} scrolls sideways at {width}"


@pytest.mark.usefixtures("browser_ready")
@pytest.mark.parametrize("width", sorted(VIEWPORTS))
async def test_a_member_links_spotify_in_a_real_browser(h: LinkHarness, width: str) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            page = await browser.new_page(viewport=VIEWPORTS[width])
            blocked: list[str] = []
            page.on("console", lambda message: blocked.append(message.text)
                    if "Content Security Policy" in message.text else None)

            await page.goto(str(h.client.make_url(await h.link_path(member_name="Ann"))))
            assert "You are linking Spotify to Discord member Ann." in await page.inner_text("body")
            continue_button = page.get_by_role("button", name="Continue to Spotify")
            # The inline style ran, so the CSP's style hash matches the page.
            colour = await continue_button.evaluate("b => getComputedStyle(b).backgroundColor")
            assert colour == "rgb(29, 185, 84)"
            await _step(page, "1-page", width)

            await continue_button.click()
            await page.wait_for_url(lambda url: url.startswith(f"{h.fake.url}/authorize?"))
            await _step(page, "2-consent", width)

            await page.get_by_role("button", name="Agree").click()
            await page.wait_for_url(lambda url: url.startswith(f"{h.settings.redirect_uri}?"))
            assert await page.inner_text("h1") == "Spotify linked"
            body = await page.inner_text("body")
            assert "is now linked to Discord member Ann in SoundSync" in body
            await _step(page, "3-linked", width)
            assert blocked == []
        finally:
            await browser.close()
    assert await h.count("profiles") == 1
