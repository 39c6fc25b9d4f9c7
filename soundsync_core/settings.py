"""One settings object, built once from the environment (and an optional ``.env``).

Nothing else in SoundSync reads ``os.environ``: the composition root builds a :class:`Settings`
and passes it down. Secrets have no defaults; every external URL is a setting so tests and the
sandbox can point them at the local fakes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from cryptography.fernet import Fernet
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def _env_name(field: str) -> str:
    return field.upper()


class Settings(BaseSettings):
    """Every knob of SoundSync. Environment variable = field name in upper case."""

    # An empty value (``DISCORD_TOKEN=`` as copied from .env.example) means "not set".
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False,
        env_ignore_empty=True,
    )

    # --- storage -------------------------------------------------------------------------
    database_url: str | None = Field(
        None, description="PostgreSQL URL; unset = start the embedded server in the data dir"
    )
    soundsync_data_dir: Path | None = Field(
        None, description="Where the embedded database lives (default $XDG_DATA_HOME/soundsync)"
    )
    xdg_data_home: Path | None = Field(None, description="XDG base directory for user data")
    db_connect_attempts: int = Field(5, ge=1, le=100, description="Start-up connection attempts")

    # --- secrets (no defaults) ---------------------------------------------------------
    discord_token: SecretStr | None = Field(None, description="Discord bot token")
    spotify_client_id: str | None = Field(None, description="Spotify app client id")
    spotify_client_secret: SecretStr | None = Field(None, description="Spotify app client secret")
    soundsync_secret_key: SecretStr | None = Field(
        None, description="Fernet key that encrypts OAuth tokens at rest"
    )
    lastfm_api_key: SecretStr | None = Field(None, description="Last.fm API key")
    lastfm_api_secret: SecretStr | None = Field(
        None, description="Last.fm shared secret (signs auth.getSession and member calls)"
    )

    # --- external URLs -------------------------------------------------------------------
    discord_api_url: AnyHttpUrl = Field(
        "https://discord.com/api/v10", description="Discord REST base"
    )
    discord_gateway_url: str = Field(
        "wss://gateway.discord.gg",
        description="Discord gateway websocket (with SHARD_COUNT unset, /gateway/bot names it)",
    )
    spotify_accounts_url: AnyHttpUrl = Field(
        "https://accounts.spotify.com", description="Spotify accounts (authorize, token)"
    )
    spotify_api_url: AnyHttpUrl = Field(
        "https://api.spotify.com/v1", description="Spotify Web API base"
    )
    reccobeats_api_url: AnyHttpUrl = Field(
        "https://api.reccobeats.com/v1", description="ReccoBeats API base (audio features)"
    )
    lastfm_api_url: AnyHttpUrl = Field(
        "https://ws.audioscrobbler.com/2.0", description="Last.fm API base"
    )
    lastfm_auth_url: AnyHttpUrl = Field(
        "https://www.last.fm/api/auth/", description="Last.fm web-authentication page (/link)"
    )
    listenbrainz_api_url: AnyHttpUrl = Field(
        "https://api.listenbrainz.org/1", description="ListenBrainz API base"
    )

    # --- Discord gateway sharding ---------------------------------------------------------
    shard_count: int | None = Field(
        None, ge=1,
        description="Shards of the whole bot (unset: Discord's recommendation from /gateway/bot)",
    )
    # NoDecode: "0-3" is not JSON; the validator below reads it.
    shard_ids: Annotated[tuple[int, ...] | None, NoDecode] = Field(
        None,
        description="Shards this process runs, e.g. 0-3 or 0,2 (needs SHARD_COUNT; unset: all)",
    )

    # --- web -----------------------------------------------------------------------------
    port: int = Field(8080, ge=1, le=65535, description="Port the web server binds")
    public_base_url: AnyHttpUrl = Field(
        "http://127.0.0.1:8080", description="How members reach the web server (link URLs)"
    )
    spotify_redirect_uri: AnyHttpUrl | None = Field(
        None,
        description="Exact redirect URI registered with Spotify (default PUBLIC_BASE_URL/callback)",
    )

    # --- schedule ------------------------------------------------------------------------
    recluster_cron: str = Field("0 4 * * 1", description="Weekly refresh + recluster (crontab)")
    digest_cron: str = Field("0 17 * * 5", description="Weekly match digest (crontab)")
    dm_rate_per_second: float = Field(
        1.0, gt=0, le=5, description="Pace of the digest DM sender"
    )

    metrics_token: SecretStr | None = Field(
        None, description="Bearer token /metrics requires (unset: /metrics is open to anyone)"
    )

    spotify_workers: int = Field(
        4, ge=0, le=64,
        description="Worker processes for the web server's Spotify calls (0: threads in-process)",
    )

    # --- recluster on Dask ---------------------------------------------------------------
    dask_scheduler_address: str | None = Field(
        None,
        description="Existing Dask scheduler to run the recluster's blocks on, e.g. "
        "tcp://10.0.0.5:8786 (unset: a local cluster of DASK_WORKERS workers)",
    )
    dask_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=0, le=1024,
        description="Workers of the local recluster cluster (default: this machine's cores; 0: "
        "no cluster, the blocks run one after the other in the SoundSync process)",
    )
    dask_worker_processes: bool = Field(
        False,
        description="Run the local cluster's workers as processes (each with its own copy of the "
        "run's vectors) instead of threads of the SoundSync process",
    )

    log_level: str = Field("INFO", description="Logging level")

    # --- tests ---------------------------------------------------------------------------
    soundsync_fake_log: Path | None = Field(
        None, description="Every fake server (Discord, Spotify, Last.fm, ListenBrainz) appends each "
        "request and response here as a JSON line (tests, sandbox)",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("soundsync_secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here, before any database or worker starts, not at the first stored token.
        if value is not None:
            try:
                Fernet(value.get_secret_value())
            except (ValueError, TypeError):
                raise ValueError(
                    "not a Fernet key (32 url-safe base64 bytes); make one with `python -c "
                    "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
                ) from None
        return value

    @field_validator("metrics_token", "dask_scheduler_address", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # `METRICS_TOKEN=` in a .env means "no token", not "the empty token".
        return None if value == "" else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgresql:// (or postgres://)")
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_range(cls, value: object, info: ValidationInfo) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = _parse_id_list(value)
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs SHARD_COUNT (the total number of shards of the bot)")
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError("must be a range or list of shard ids, e.g. 0-3 or 0,2")
        if any(not isinstance(i, int) or not 0 <= i < count for i in value):
            raise ValueError(f"every shard id must be between 0 and SHARD_COUNT-1 ({count - 1})")
        if len(set(value)) != len(value):
            raise ValueError("names a shard twice")
        return tuple(value)

    @field_validator("recluster_cron", "digest_cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a crontab expression with 5 fields, e.g. '0 4 * * 1'")
        return value

    @property
    def data_dir(self) -> Path:
        """The per-user folder for SoundSync's own files (the embedded database)."""
        if self.soundsync_data_dir is not None:
            return self.soundsync_data_dir
        base = self.xdg_data_home or Path.home() / ".local" / "share"
        return base / "soundsync"

    @property
    def redirect_uri(self) -> str:
        """The OAuth redirect URI sent to Spotify, byte for byte."""
        if self.spotify_redirect_uri is not None:
            return str(self.spotify_redirect_uri)
        return str(self.public_base_url).rstrip("/") + "/callback"

    def require(self, *names: str) -> None:
        """Raise :class:`ConfigError` unless every named (secret) setting is present."""
        for name in names:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value in (None, ""):
                raise ConfigError(f"{_env_name(name)} is not set (required for this command)")


def _parse_id_list(text: str) -> list[int]:
    """``"0-3"`` → [0, 1, 2, 3]; ``"0,2"`` → [0, 2]; ranges and single ids can be mixed."""
    ids: list[int] = []
    try:
        for part in text.split(","):
            first, dash, last = part.strip().partition("-")
            ids += range(int(first), int(last) + 1) if dash else [int(first)]
    except ValueError:
        raise ValueError("must be a range or list of shard ids, e.g. 0-3 or 0,2") from None
    return ids


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = _env_name(str(first["loc"][0])) if first["loc"] else "configuration"
        raise ConfigError(f"{name}: {first['msg']}") from None


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, description) of every setting, for the README and ``--help``."""
    rows = []
    for name, field in Settings.model_fields.items():
        # A default computed at start-up (DASK_WORKERS: the cores) is named by its description.
        computed = field.default is None or field.default_factory is not None
        default = "" if computed else str(field.default)
        rows.append((_env_name(name), default, field.description or ""))
    return rows
