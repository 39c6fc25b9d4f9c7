"""/matches with its buttons, /compare, the "Compare taste" context menu and /tribes."""

from __future__ import annotations

from soundsync_core.services import members
from soundsync_fakes.discord_messages import FakeMessage
from tests.e2e.bot_fixtures import Running, running_soundsync  # noqa: F401

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def open_matches(sync: Running) -> FakeMessage:
    """Bob's /matches page (after seeding)."""
    page = await sync.answer(await sync.command(sync.world.member, "matches"))
    assert page.ephemeral
    return page


async def hide_closed_dms_user(sync: Running) -> None:
    """Cyd (closed DMs) is bob's closest match; hide her so the first page is someone reachable."""
    await members.update_settings(sync.pool, sync.world.closed_dms_user.id, visibility="hidden")


def title(message: FakeMessage) -> str:
    return message.embeds[0]["title"]


async def test_member_who_linked_after_the_last_recluster_gets_live_matches(sync: Running) -> None:
    await sync.seed(clustered=False)
    page = await open_matches(sync)
    assert page.embeds[0]["title"].endswith("% match")


async def test_matches_page_shows_percent_and_reasons_of_jazz_fans_first(sync: Running) -> None:
    await sync.seed()
    page = await open_matches(sync)
    [embed] = page.embeds
    assert embed["title"].endswith("% match")
    assert embed["description"].startswith("Your server matches · 1 of ")
    reasons = embed["fields"][0]["value"]
    assert "**Artists:**" in reasons
    assert "Coltrane" in reasons or "Monk" in reasons
    assert page.custom_ids() == ["matches:prev", "matches:next", "matches:hi", "matches:friends",
                                 "matches:not_interested"]
    buttons = {c["custom_id"]: c for row in page.components for c in row["components"]}
    assert buttons["matches:prev"].get("disabled") is True


async def test_next_and_prev_buttons_page_through_matches(sync: Running) -> None:
    await sync.seed()
    page = await open_matches(sync)
    first = title(page)
    click = await sync.fake.click_button(sync.world.member.id, page, "matches:next")
    assert (await click.response()).type == 7
    second = sync.fake.message(page.id)
    assert title(second) != first
    assert " · 2 of " in second.embeds[0]["description"]
    back = await sync.fake.click_button(sync.world.member.id, second, "matches:prev")
    await back.response()
    assert title(sync.fake.message(page.id)) == first


async def test_hidden_members_never_appear_in_matches(sync: Running) -> None:
    await sync.seed()
    await members.update_settings(sync.pool, sync.extras["dee"].id, visibility="hidden")
    page = await open_matches(sync)
    total = int(page.embeds[0]["description"].rsplit(" ", 1)[1])
    seen = [title(page)]
    for _ in range(total - 1):
        click = await sync.fake.click_button(sync.world.member.id, sync.fake.message(page.id), "matches:next")
        await click.response()
        seen.append(title(sync.fake.message(page.id)))
    assert total == 6  # seven other profiled members, one hidden
    assert not any(t.startswith("Dee") for t in seen)


async def test_not_interested_removes_the_match_now_and_later(sync: Running) -> None:
    await sync.seed()
    page = await open_matches(sync)
    first = title(page).split(" — ")[0]
    click = await sync.fake.click_button(sync.world.member.id, page, "matches:not_interested")
    await click.response()
    after = sync.fake.message(page.id)
    assert f"{first} won't appear" in after.content
    assert title(after).split(" — ")[0] != first
    row = await sync.pool.fetchrow("SELECT other_id, reason FROM match_exclusions")
    assert row["reason"] == "not_interested"
    again = await open_matches(sync)
    assert title(again).split(" — ")[0] != first


async def test_say_hi_then_accept_shares_both_handles(sync: Running) -> None:
    await sync.seed()
    await hide_closed_dms_user(sync)
    bob = sync.world.member
    page = await open_matches(sync)
    other_name = title(page).split(" — ")[0]
    other = next(u for u in [*sync.extras.values(), sync.world.admin] if u.global_name == other_name)
    click = await sync.fake.click_button(bob.id, page, "matches:hi")
    await click.response()
    dm = await sync.fake.next_dm(other.id)
    assert dm.content.startswith("**Bob** (")
    assert "% match) would like to connect" in dm.content
    assert dm.custom_ids() == [f"hi:accept:{bob.id}", f"hi:decline:{bob.id}"]
    assert "Said hi" in sync.fake.message(page.id).content
    assert "bob" not in dm.content  # no handle before accepting
    accept = await sync.fake.click_button(other.id, dm, f"hi:accept:{bob.id}")
    await accept.response()
    assert "@bob" in sync.fake.message(dm.id).content
    told = await sync.fake.next_dm(bob.id)
    assert f"@{other.username}" in told.content
    status = await sync.pool.fetchval("SELECT status FROM connection_requests")
    assert status == "accepted"


async def test_say_hi_declined_shares_no_handle(sync: Running) -> None:
    await sync.seed()
    await hide_closed_dms_user(sync)
    bob = sync.world.member
    page = await open_matches(sync)
    other_name = title(page).split(" — ")[0]
    other = next(u for u in [*sync.extras.values(), sync.world.admin] if u.global_name == other_name)
    await (await sync.fake.click_button(bob.id, page, "matches:hi")).response()
    dm = await sync.fake.next_dm(other.id)
    await (await sync.fake.click_button(other.id, dm, f"hi:decline:{bob.id}")).response()
    assert "@bob" not in sync.fake.message(dm.id).content
    assert sync.fake.dm_messages(bob.id) == []
    assert await sync.pool.fetchval("SELECT status FROM connection_requests") == "declined"


async def test_say_hi_to_closed_dms_tells_the_sender_and_keeps_no_request(sync: Running) -> None:
    await sync.seed(with_extras=False)  # bob's only jazz match is cyd, whose DMs are closed
    page = await open_matches(sync)
    assert title(page).startswith("Cyd")
    click = await sync.fake.click_button(sync.world.member.id, page, "matches:hi")
    answer = await click.response()
    assert "does not accept DMs" in answer.data["content"]
    assert (await sync.next_failure()).expected
    assert await sync.pool.fetchval("SELECT count(*) FROM connection_requests") == 0


async def test_compare_command_shows_both_sides_and_shared_artists(sync: Running) -> None:
    await sync.seed()
    answer = await sync.answer(await sync.command(
        sync.world.member, "compare", {"member": sync.world.closed_dms_user.id}
    ))
    [embed] = answer.embeds
    assert embed["title"].startswith("Bob × Cyd: ")
    assert embed["title"].endswith("%")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Bob"].startswith("1. Coltrane")
    assert "Coltrane" in fields["What you share"]


async def test_compare_taste_context_menu(sync: Running) -> None:
    await sync.seed()
    interaction = await sync.fake.user_context_menu(
        sync.world.member.id, sync.guild_id, "Compare taste", sync.world.admin.id
    )
    answer = await sync.answer(interaction)
    assert answer.ephemeral
    assert answer.embeds[0]["title"].startswith("Bob × Ada: ")


async def test_tribes_lists_the_tribes_with_a_taste_map_png(sync: Running) -> None:
    await sync.seed()
    answer = await sync.answer(await sync.command(sync.world.member, "tribes"))
    assert not answer.ephemeral
    [embed] = answer.embeds
    assert embed["title"] == "Taste tribes of Listening Club"
    assert embed["fields"]
    assert sum(int(f["value"].split()[0]) for f in embed["fields"]) == 8
    [taste_map] = answer.attachments
    assert taste_map.filename == "taste-map.png"
    assert taste_map.content.startswith(PNG_MAGIC)


async def test_tribes_before_any_recluster_says_so(sync: Running) -> None:
    await sync.seed(with_extras=False, clustered=False)
    answer = await sync.answer(await sync.command(sync.world.member, "tribes"))
    assert "no recluster yet" in answer.content
    assert str(sync.guild_id) not in answer.content
    assert "soundsync " not in answer.content
    assert (await sync.next_failure()).expected


async def test_tribes_of_a_server_nobody_linked_says_so(sync: Running) -> None:
    answer = await sync.answer(await sync.command(sync.world.member, "tribes"))
    assert "Nobody in this server has linked a listening source yet" in answer.content
    assert str(sync.guild_id) not in answer.content
    assert (await sync.next_failure()).expected
