"""/link, /settings, /profile and /unlink through the real bot, the fake Discord and PostgreSQL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from soundsync_core.repositories import app_state
from soundsync_core.services import members
from tests.e2e.bot_fixtures import Running, running_soundsync  # noqa: F401

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def test_link_gives_a_private_one_time_url_and_records_the_guild(sync: Running) -> None:
    interaction = await sync.command(sync.world.member, "link")
    answer = await sync.answer(interaction)
    assert answer.ephemeral
    [row] = answer.components
    button = row["components"][0]
    assert button["label"] == "Link Spotify"
    url = urlsplit(button["url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "127.0.0.1:8080", "/link")
    assert len(parse_qs(url.query)["state"][0]) >= 32
    assert "development mode" not in answer.content
    states = await sync.pool.fetch("SELECT user_id, guild_id, member_name FROM oauth_states")
    member = sync.world.member
    # The display name the web /link page shows: bob's global name (he has no nickname).
    assert [(r["user_id"], r["guild_id"], r["member_name"]) for r in states] == [
        (member.id, sync.guild_id, "Bob")
    ]
    name = await sync.pool.fetchval("SELECT name FROM guilds WHERE guild_id = $1", sync.guild_id)
    assert name == "Listening Club"


async def test_link_warns_about_the_development_mode_cap(sync: Running) -> None:
    await app_state.set_fact(sync.pool, members.SPOTIFY_APP_MODE, "development")
    answer = await sync.answer(await sync.command(sync.world.member, "link"))
    assert "development mode" in answer.content
    assert "5" in answer.content


async def test_settings_show_then_change_visibility_and_weekly_dm(sync: Running) -> None:
    await sync.seed(with_extras=False)
    shown = await sync.answer(await sync.command(sync.world.member, "settings"))
    fields = {f["name"]: f["value"] for f in shown.embeds[0]["fields"]}
    assert fields["Weekly DM"] == "off"
    assert fields["Visibility"].startswith("server")
    changed = await sync.answer(await sync.command(
        sync.world.member, "settings", {"weekly_dm": True, "visibility": "hidden"}
    ))
    fields = {f["name"]: f["value"] for f in changed.embeds[0]["fields"]}
    assert (fields["Weekly DM"], fields["Visibility"].split()[0]) == ("on", "hidden")
    row = await sync.pool.fetchrow(
        "SELECT weekly_dm, visibility FROM members WHERE user_id = $1", sync.world.member.id
    )
    assert (row["weekly_dm"], row["visibility"]) == (True, "hidden")


async def test_settings_before_linking_says_to_link_first(sync: Running) -> None:
    interaction = await sync.command(sync.world.member, "settings")
    answer = await sync.answer(interaction)
    assert answer.ephemeral
    assert "/link" in answer.content
    assert (await sync.next_failure()).expected


async def test_profile_embed_with_tribe_sources_and_png_chart(sync: Running) -> None:
    await sync.seed()
    answer = await sync.answer(await sync.command(sync.world.member, "profile"))
    [embed] = answer.embeds
    assert embed["title"] == "Bob's taste"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Top artists"].startswith("1. Coltrane")
    assert fields["Sources"].startswith("**Profile import** · refreshed <t:")
    assert "jazz" in fields["Genres"]
    assert embed["image"]["url"] == "attachment://profile.png"
    [chart] = answer.attachments
    assert chart.content.startswith(PNG_MAGIC)


async def test_hidden_profile_is_not_shown_to_others_but_is_to_its_owner(sync: Running) -> None:
    await sync.seed()
    await members.update_settings(sync.pool, sync.world.member.id, visibility="hidden")
    refused = await sync.answer(await sync.command(
        sync.world.admin, "profile", {"member": sync.world.member.id}
    ))
    assert refused.embeds == []
    assert "not visible" in refused.content
    own = await sync.answer(await sync.command(sync.world.member, "profile"))
    assert own.embeds[0]["title"] == "Bob's taste"


async def test_unlink_confirm_deletes_every_row_of_the_member(sync: Running) -> None:
    await sync.seed()
    bob = sync.world.member
    await sync.answer(await sync.command(bob, "link"))  # leaves an oauth_states row
    await sync.pool.execute(
        "INSERT INTO match_exclusions (user_id, other_id, reason) VALUES ($1, $2, 'friends')",
        sync.world.admin.id, bob.id,
    )
    interaction = await sync.command(bob, "unlink")
    await interaction.response()
    prompt = interaction.original
    assert prompt is not None
    assert prompt.ephemeral
    assert prompt.custom_ids() == ["confirm:yes", "confirm:no"]
    click = await sync.fake.click_button(bob.id, prompt, "confirm:yes")
    assert (await click.response()).type == 7
    assert "deleted" in sync.fake.message(prompt.id).content
    assert await rows_of_member(sync, bob.id) == {}


async def test_unlink_cancel_keeps_everything(sync: Running) -> None:
    await sync.seed(with_extras=False)
    bob = sync.world.member
    interaction = await sync.command(bob, "unlink")
    await interaction.response()
    assert interaction.original is not None
    click = await sync.fake.click_button(bob.id, interaction.original, "confirm:no")
    await click.response()
    assert "nothing was changed" in sync.fake.message(interaction.original.id).content
    assert (await rows_of_member(sync, bob.id)).keys() >= {"members", "profiles", "guild_members"}


async def rows_of_member(sync: Running, user_id: int) -> dict[str, int]:
    """Rows mentioning the member in every column that holds a member id, in every table."""
    columns = await sync.pool.fetch(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND data_type = 'bigint'
             AND column_name IN ('user_id', 'other_id', 'from_user', 'to_user')"""
    )
    assert {r["table_name"] for r in columns} >= {
        "members", "guild_members", "accounts", "oauth_states", "profiles", "user_clusters",
        "matches", "match_exclusions", "connection_requests", "dm_outbox",
    }
    found: dict[str, int] = {}
    for row in columns:
        table, column = row["table_name"], row["column_name"]
        count = await sync.pool.fetchval(
            f'SELECT count(*) FROM "{table}" WHERE "{column}" = $1', user_id  # noqa: S608 - catalog names
        )
        if count:
            found[table] = found.get(table, 0) + count
    return found
