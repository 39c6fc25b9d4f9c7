"""The settings object: defaults, validation, secrets, derived values."""

from __future__ import annotations

from pathlib import Path

import pytest

from soundsync_core.settings import ConfigError, describe_settings, load_settings


def test_secrets_have_no_defaults() -> None:
    settings = load_settings(_env_file=None)
    secrets = ("discord_token", "spotify_client_secret", "soundsync_secret_key", "lastfm_api_key",
               "lastfm_api_secret", "metrics_token")
    for name in secrets:
        assert getattr(settings, name) is None


def test_secret_values_never_show_in_repr() -> None:
    settings = load_settings(_env_file=None, discord_token="very-secret-value")
    assert "very-secret-value" not in repr(settings)
    assert settings.discord_token is not None
    assert settings.discord_token.get_secret_value() == "very-secret-value"


def test_an_empty_metrics_token_leaves_metrics_open() -> None:
    assert load_settings(_env_file=None, metrics_token="").metrics_token is None
    token = load_settings(_env_file=None, metrics_token="scrape-me").metrics_token
    assert token is not None
    assert token.get_secret_value() == "scrape-me"


def test_require_names_the_missing_variable() -> None:
    settings = load_settings(_env_file=None)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        settings.require("discord_token")


def test_every_external_url_is_a_setting() -> None:
    names = {row[0] for row in describe_settings()}
    for url in (
        "DISCORD_API_URL", "DISCORD_GATEWAY_URL", "SPOTIFY_ACCOUNTS_URL", "SPOTIFY_API_URL",
        "RECCOBEATS_API_URL", "LASTFM_API_URL", "LASTFM_AUTH_URL", "LISTENBRAINZ_API_URL",
    ):
        assert url in names


def test_data_dir_follows_xdg(tmp_path: Path) -> None:
    settings = load_settings(_env_file=None, xdg_data_home=tmp_path)
    assert settings.data_dir == tmp_path / "soundsync"
    explicit = load_settings(_env_file=None, soundsync_data_dir=tmp_path / "x")
    assert explicit.data_dir == tmp_path / "x"


def test_redirect_uri_defaults_to_public_callback() -> None:
    settings = load_settings(_env_file=None, public_base_url="http://127.0.0.1:9000")
    assert settings.redirect_uri == "http://127.0.0.1:9000/callback"


def test_malformed_value_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^PORT: "):
        load_settings(_env_file=None, port="http")


def test_shard_ids_are_a_range_or_a_list_within_shard_count() -> None:
    assert load_settings(_env_file=None).shard_ids is None
    assert load_settings(_env_file=None, shard_count=8, shard_ids="0-3").shard_ids == (0, 1, 2, 3)
    assert load_settings(_env_file=None, shard_count=8, shard_ids="0,2,5-6").shard_ids == (0, 2, 5, 6)


@pytest.mark.parametrize(("overrides", "says"), [
    ({"shard_count": 0}, r"^SHARD_COUNT: "),
    ({"shard_ids": "0-3"}, r"^SHARD_IDS: .*needs SHARD_COUNT"),
    ({"shard_count": 4, "shard_ids": "2-5"}, r"^SHARD_IDS: .*between 0 and SHARD_COUNT-1 \(3\)"),
    ({"shard_count": 4, "shard_ids": "one"}, r"^SHARD_IDS: .*e\.g\. 0-3 or 0,2"),
    ({"shard_count": 4, "shard_ids": "1,0-1"}, r"^SHARD_IDS: .*names a shard twice"),
])
def test_bad_shard_settings_are_one_line_naming_the_variable(
    overrides: dict[str, object], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(_env_file=None, **overrides)


def test_shard_ids_come_from_the_environment_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARD_COUNT", "4")
    monkeypatch.setenv("SHARD_IDS", "2-3")
    assert load_settings(_env_file=None).shard_ids == (2, 3)


def test_an_empty_value_in_env_file_is_not_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # .env.example copied to .env as the README says: every secret is present but empty.
    example = Path(__file__).resolve().parents[2] / ".env.example"
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("DISCORD_TOKEN", "SPOTIFY_CLIENT_ID", "SOUNDSYNC_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.discord_token is None
    assert settings.spotify_client_id is None
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        settings.require("discord_token")


def test_an_empty_environment_variable_is_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "")
    monkeypatch.setenv("PORT", "")
    settings = load_settings(_env_file=None)
    assert settings.discord_token is None
    assert settings.port == 8080


def test_require_treats_an_empty_secret_as_missing() -> None:
    settings = load_settings(_env_file=None, discord_token="")
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        settings.require("discord_token")


def test_fake_log_path_is_a_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOUNDSYNC_FAKE_LOG", str(tmp_path / "fakes.jsonl"))
    assert load_settings(_env_file=None).soundsync_fake_log == tmp_path / "fakes.jsonl"
