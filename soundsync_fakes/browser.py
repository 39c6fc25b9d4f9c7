"""A member's browser on SoundSync's own ``/link`` page, for tests, the sandbox and benches.

It does what a person does there: reads the page's one form (the Continue button, with its
hidden fields) and submits it. Returns the provider's authorize URL SoundSync redirects to, so
the caller can go on to the provider's consent page (``FakeSpotify.consent``).
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import aiohttp


class _FormReader(HTMLParser):
    """The first form's method, action and its inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.method = ""
        self.action = ""
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form" and not self.method:
            self._in_form = True
            self.method, self.action = values.get("method", "get").lower(), values.get("action", "")
        elif tag == "input" and self._in_form and "name" in values:
            self.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


async def continue_to_provider(http: aiohttp.ClientSession, link_url: str) -> str:
    """Open ``link_url`` (SoundSync's ``/link?state=…``), press Continue; the provider's URL.

    Raises ``RuntimeError`` with the status and page when either step does not answer as a
    working link does (200 page with a POST form, then a 303).
    """
    async with http.get(link_url, allow_redirects=False) as response:
        page = await response.text()
        if response.status != 200:
            raise RuntimeError(f"/link answered HTTP {response.status}: {page}")
    form = _FormReader()
    form.feed(page)
    if form.method != "post":
        raise RuntimeError(f"/link shows no Continue form: {page}")
    target = urljoin(link_url, form.action)
    async with http.post(target, data=form.fields, allow_redirects=False) as response:
        if response.status != 303:
            raise RuntimeError(f"Continue answered HTTP {response.status}: {await response.text()}")
        return response.headers["Location"]
