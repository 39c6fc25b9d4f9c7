"""The fake Discord's in-memory world: users, guilds, roles, members and channels.

Seeded from Python by the tests; the REST routes and the gateway read it to build payloads shaped
like Discord's (ids as strings, optional keys left out rather than sent as ``null``).
"""

from __future__ import annotations

import itertools
import secrets
import time
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
ADMINISTRATOR = 1 << 3
# What a fresh guild's @everyone may do: view, send, embed, attach, read history, use commands.
EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 31)
ALL_PERMISSIONS = (1 << 51) - 1
TEXT_CHANNEL = 0
DM_CHANNEL = 1


class SnowflakeFactory:
    """Generates Discord-style snowflakes (time in the top bits, so ids sort by creation)."""

    def __init__(self) -> None:
        self._increment = itertools.count()

    def next(self) -> int:
        """A new unique snowflake for the current time."""
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (millis << 22) | (1 << 17) | (next(self._increment) & 0xFFF)


def iso_now() -> str:
    """The current time as Discord writes timestamps."""
    return datetime.now(UTC).isoformat()


@dataclass
class FakeUser:
    """A Discord user (bots included)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        """The user object Discord sends."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        """The role object Discord sends."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class FakeMember:
    """A user's membership in one guild."""

    user_id: int
    role_ids: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)
    nick: str | None = None


@dataclass
class FakeChannel:
    """A guild text channel or a DM channel (``recipient_id`` set)."""

    id: int
    type: int
    name: str | None = None
    guild_id: int | None = None
    position: int = 0
    recipient_id: int | None = None


@dataclass
class FakeGuild:
    """A guild with its roles, members and channels."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    channel_ids: list[int] = field(default_factory=list)


def make_bot_token(bot_id: int) -> str:
    """A token shaped like Discord's (base64 id . timestamp . hmac), random at run time."""
    encoded_id = urlsafe_b64encode(str(bot_id).encode()).decode().rstrip("=")
    return f"{encoded_id}.{secrets.token_urlsafe(4)}.{secrets.token_urlsafe(27)}"


class DiscordWorld:
    """Everything the fake Discord knows about: seeded by tests, read by routes and gateway."""

    def __init__(self, bot_name: str = "SoundSync") -> None:
        self.snowflakes = SnowflakeFactory()
        self.users: dict[int, FakeUser] = {}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.closed_dms: set[int] = set()
        self.bot = self.add_user(bot_name.lower(), global_name=bot_name, bot=True)
        # Applications made since 2020 share their id with the bot user.
        self.application_id = self.bot.id
        self.bot_token = make_bot_token(self.bot.id)

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> FakeUser:
        """Create a user (not yet in any guild)."""
        user = FakeUser(self.snowflakes.next(), username, global_name, bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self, name: str, *, owner_id: int | None = None, guild_id: int | None = None
    ) -> FakeGuild:
        """Create a guild with an @everyone role, an Admin role, and the bot as a member.

        ``guild_id`` picks the id, hence the shard (``(guild_id >> 22) % num_shards``).
        """
        guild_id = guild_id or self.snowflakes.next()
        guild = FakeGuild(guild_id, name, owner_id or self.bot.id)
        guild.roles[guild_id] = FakeRole(guild_id, "@everyone", EVERYONE_PERMISSIONS)
        admin = FakeRole(self.snowflakes.next(), "Admin", ADMINISTRATOR, position=1)
        guild.roles[admin.id] = admin
        self.guilds[guild_id] = guild
        self.add_member(guild_id, self.bot.id)
        return guild

    def admin_role(self, guild_id: int) -> FakeRole:
        """The guild's Admin role (ADMINISTRATOR permission)."""
        return next(r for r in self.guilds[guild_id].roles.values() if r.name == "Admin")

    def add_member(self, guild_id: int, user_id: int, *, admin: bool = False) -> FakeMember:
        """Add a user to a guild, optionally with the Admin role."""
        roles = [self.admin_role(guild_id).id] if admin else []
        member = FakeMember(user_id, roles)
        self.guilds[guild_id].members[user_id] = member
        return member

    def add_text_channel(self, guild_id: int, name: str) -> FakeChannel:
        """Create a text channel in a guild."""
        guild = self.guilds[guild_id]
        channel = FakeChannel(self.snowflakes.next(), TEXT_CHANNEL, name, guild_id, len(guild.channel_ids))
        self.channels[channel.id] = channel
        guild.channel_ids.append(channel.id)
        return channel

    def open_dm(self, user_id: int) -> FakeChannel:
        """The DM channel with a user, created on first use (Discord returns the same one)."""
        for channel in self.channels.values():
            if channel.recipient_id == user_id:
                return channel
        channel = FakeChannel(self.snowflakes.next(), DM_CHANNEL, recipient_id=user_id)
        self.channels[channel.id] = channel
        return channel

    def dm_channel_of(self, user_id: int) -> FakeChannel | None:
        """The DM channel with a user if the bot opened one."""
        return next((c for c in self.channels.values() if c.recipient_id == user_id), None)

    def permissions(self, guild_id: int, user_id: int) -> int:
        """A member's guild-level permissions, as Discord computes them (owner/admin → all)."""
        guild = self.guilds[guild_id]
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        bits = guild.roles[guild_id].permissions
        for role_id in guild.members[user_id].role_ids:
            bits |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if bits & ADMINISTRATOR else bits

    def member_payload(self, guild_id: int, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        """The guild member object (with ``permissions`` as interactions carry it)."""
        member = self.guilds[guild_id].members[user_id]
        data: dict[str, Any] = {
            "roles": [str(r) for r in member.role_ids],
            "joined_at": member.joined_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": str(self.permissions(guild_id, user_id)),
        }
        if member.nick is not None:
            data["nick"] = member.nick
        if with_user:
            data["user"] = self.users[user_id].payload()
        return data

    def channel_payload(self, channel_id: int) -> dict[str, Any]:
        """The channel object Discord sends."""
        channel = self.channels[channel_id]
        if channel.type == DM_CHANNEL:
            assert channel.recipient_id is not None
            return {
                "id": str(channel.id),
                "type": DM_CHANNEL,
                "flags": 0,
                "recipients": [self.users[channel.recipient_id].payload()],
            }
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": [],
            "nsfw": False,
            "rate_limit_per_user": 0,
            "flags": 0,
        }

    def guild_create_payload(self, guild_id: int) -> dict[str, Any]:
        """The GUILD_CREATE event data: the guild with its roles, members and channels."""
        guild = self.guilds[guild_id]
        channels = [self.channel_payload(c) for c in guild.channel_ids]
        for channel in channels:
            del channel["guild_id"]  # GUILD_CREATE channels leave it out
        return {
            "id": str(guild.id),
            "name": guild.name,
            "owner_id": str(guild.owner_id),
            "icon": None,
            "features": [],
            "unavailable": False,
            "large": False,
            "member_count": len(guild.members),
            "joined_at": guild.members[self.bot.id].joined_at,
            "preferred_locale": "en-US",
            "roles": [r.payload() for r in guild.roles.values()],
            "members": [self.member_payload(guild.id, u) for u in guild.members],
            "channels": channels,
            "threads": [],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def application_payload(self) -> dict[str, Any]:
        """``GET /oauth2/applications/@me``."""
        return {
            "id": str(self.application_id),
            "name": self.bot.global_name or self.bot.username,
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": secrets.token_hex(32),
            "flags": 0,
            "owner": self.bot.payload() | {"bot": False},
            "team": None,
            "summary": "",
            "rpc_origins": [],
        }


@dataclass(frozen=True)
class DefaultWorld:
    """What :func:`seed_default_world` created."""

    guild: FakeGuild
    channel: FakeChannel
    admin: FakeUser
    member: FakeUser
    closed_dms_user: FakeUser


def seed_default_world(world: DiscordWorld) -> DefaultWorld:
    """One guild with #general, an admin, a plain member and a member whose DMs are closed."""
    admin = world.add_user("ada", global_name="Ada")
    member = world.add_user("bob", global_name="Bob")
    closed = world.add_user("cyd", global_name="Cyd")
    guild = world.add_guild("Listening Club", owner_id=admin.id)
    world.add_member(guild.id, admin.id, admin=True)
    world.add_member(guild.id, member.id)
    world.add_member(guild.id, closed.id)
    world.closed_dms.add(closed.id)
    channel = world.add_text_channel(guild.id, "general")
    return DefaultWorld(guild, channel, admin, member, closed)
