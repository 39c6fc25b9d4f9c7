"""The few HTML pages members see. Every dynamic value is escaped; no page ever holds a token."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from aiohttp import web

from soundsync_core.repositories import accounts
from soundsync_core.services import linking, source_linking
from soundsync_core.services.linking import LinkPage, LinkResult
from soundsync_core.services.source_linking import SourceLinkResult

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222;overflow-wrap:anywhere}h1{font-size:1.6rem}"
    "ol{padding-left:1.4rem}.hint{color:#555}"
    "button{font:inherit;font-weight:600;padding:.7rem 1.4rem;border:0;border-radius:2rem;"
    "background:#1db954;color:#fff;cursor:pointer}"
)
# The CSP's style-src names the one inline stylesheet by its hash (no 'unsafe-inline').
STYLE_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode() + "'"
# The callback URL carries the one-time code: keep it out of caches and Referer headers.
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
RELINK = "Run <code>/link</code> again in Discord to get a fresh link."


def page(title: str, body_html: str, status: int = 200) -> web.Response:
    """A complete page; ``body_html`` must already be escaped."""
    text = (
        f"<!doctype html><html lang=en><meta charset=utf-8>"
        f'<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>SoundSync – {escape(title)}</title><style>{_STYLE}</style>"
        f"<h1>{escape(title)}</h1>{body_html}</html>"
    )
    return web.Response(text=text, status=status, content_type="text/html",
                        headers=_HEADERS)


def bad_state(reason: str) -> web.Response:
    """400: the state was missing, unknown, expired, reused or altered."""
    return page("This link does not work",
                f"<p>This link is {escape(reason)}. Nothing was saved.</p><p>{RELINK}</p>", 400)


def _member(name: str | None, unknown: str) -> str:
    """The Discord member a link is for, by name; ``unknown`` (no id) when it was not given."""
    return f"Discord member <strong>{escape(name)}</strong>" if name else unknown


def link_page(view: LinkPage) -> web.Response:
    """200: whom this link is for, and a Continue button (a forwarded link shows the stranger)."""
    service = escape(view.service)
    member = _member(view.member_name, "the Discord account this link was made for")
    return page(
        f"Link {view.service}",
        f"<p>You are linking <strong>{service}</strong> to {member}.</p>"
        f"<p>Continue, and {service} asks you to sign in and agree. Not you, or a link someone "
        "sent you? Close this tab: nothing has changed.</p>"
        # Relative action: right behind a proxy that serves the app under a path prefix too.
        '<form method=post action="link/continue">'
        f'<input type=hidden name=state value="{escape(view.state)}">'
        f'<input type=hidden name=csrf value="{escape(view.form_token)}">'
        f"<button type=submit>Continue to {service}</button></form>",
    )


def _linked(result: LinkResult) -> web.Response:
    artists = "".join(f"<li>{escape(name)}</li>" for name in result.top_artists)
    top = f"<p>Your top artists right now:</p><ol>{artists}</ol>" if artists else ""
    member = _member(result.member_name, "your Discord account")
    return page(
        "Spotify linked",
        f"<p>Your Spotify account <strong>{escape(result.spotify_name)}</strong> is now linked "
        f"to {member} in SoundSync.</p>{top}"
        "<h2>What happens next</h2><ul>"
        "<li>The bot sends you a DM in Discord to confirm.</li>"
        "<li>Your taste profile is ready: try <code>/profile</code> and <code>/matches</code>.</li>"
        "<li>Your tribe and matches are refreshed every week; <code>/unlink</code> removes "
        "everything at any time.</li></ul><p class=hint>You can close this tab.</p>",
    )


def _pending(result: LinkResult) -> web.Response:
    later = ("SoundSync has used up its Spotify quota for now; the bot owner has been told."
             if result.quota_exceeded else escape(result.message))
    return page(
        "Spotify linked — profile coming later",
        f"<p>Your Spotify account is linked to "
        f"{_member(result.member_name, 'your Discord account')}. {later}</p>"
        "<p>We will fetch your listening automatically and the bot will tell you in Discord. "
        "You do not need to do anything.</p><p class=hint>You can close this tab.</p>",
    )


def _simple(title: str, text: str, status: int) -> web.Response:
    return page(title, f"<p>{escape(text)}</p><p>{RELINK}</p>", status)


def link_result(result: LinkResult) -> web.Response:
    """The page for a callback's outcome (status code included)."""
    outcome = result.outcome
    if outcome == linking.LINKED:
        return _linked(result)
    if outcome == linking.PENDING:
        return _pending(result)
    if outcome == linking.BAD_STATE:
        return bad_state(result.message)
    if outcome == linking.CANCELLED:
        return page("You cancelled",
                    "<p>You cancelled on Spotify, so nothing was linked and nothing was saved."
                    f"</p><p>Changed your mind? {RELINK}</p>")
    if outcome == accounts.NOT_ALLOWLISTED:
        return _simple("Spotify refused access", result.message, 403)
    if outcome == linking.BAD_CODE:
        return page("This link failed",
                    "<p>Spotify did not accept this sign-in, so nothing was saved. Start again "
                    "from <code>/link</code>: open the link from Discord again, or run "
                    "<code>/link</code> there for a fresh one.</p>", 400)
    if outcome == linking.EXCHANGE_FAILED:
        return _simple("Spotify did not answer",
                       "Spotify's login service failed, so nothing was saved. Please try again "
                       "in a minute.", 502)
    if outcome == linking.SPOTIFY_FAILED:
        return _simple("Spotify refused the login", f"{result.message} Nothing was saved.", 502)
    return _simple("Something is missing", f"{result.message}. Nothing was saved.", 400)


def source_link_result(result: SourceLinkResult) -> web.Response:
    """The page for a Last.fm (or other non-Spotify) callback's outcome."""
    service = result.service
    member = _member(result.member_name, "your Discord account")
    if result.outcome == source_linking.LINKED:
        artists = "".join(f"<li>{escape(name)}</li>" for name in result.top_artists)
        top = f"<p>Your top artists right now:</p><ol>{artists}</ol>" if artists else ""
        return page(
            f"{service} linked",
            f"<p>Your {escape(service)} account <strong>{escape(result.account_name)}</strong> is "
            f"now linked to {member} in SoundSync.</p>{top}"
            "<p>The bot sends you a DM in Discord to confirm; try <code>/profile</code> and "
            "<code>/matches</code>. <code>/unlink</code> removes it at any time.</p>"
            "<p class=hint>You can close this tab.</p>",
        )
    if result.outcome == source_linking.PENDING:
        return page(f"{service} linked — profile coming later",
                    f"<p>Your {escape(service)} account is linked to {member}. "
                    f"{escape(result.message)}</p><p class=hint>You can close this tab.</p>")
    if result.outcome == source_linking.BAD_STATE:
        return bad_state(result.message)
    if result.outcome == source_linking.CANCELLED:
        return page("You cancelled",
                    f"<p>{escape(service)} did not confirm the link, so nothing was linked and "
                    f"nothing was saved.</p><p>Changed your mind? {RELINK}</p>")
    return _simple(f"{service} link failed", f"{result.message} Nothing was saved.", 502)


def server_error() -> web.Response:
    """500 without any detail (the log has it)."""
    return page("Something went wrong",
                f"<p>SoundSync hit an unexpected error; nothing was half-saved.</p><p>{RELINK}</p>",
                500)


def not_found() -> web.Response:
    """404."""
    return page("Not found", "<p>There is nothing here.</p>", 404)
