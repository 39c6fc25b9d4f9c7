"""The token vault: OAuth tokens are Fernet-encrypted before they reach the database."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from soundsync_core.settings import ConfigError


class VaultError(Exception):
    """A stored secret cannot be decrypted (wrong or rotated ``SOUNDSYNC_SECRET_KEY``)."""


class TokenVault:
    """Encrypts and decrypts secrets with the key from ``SOUNDSYNC_SECRET_KEY``."""

    def __init__(self, key: SecretStr | None) -> None:
        if key is None or not key.get_secret_value():
            raise ConfigError(
                "SOUNDSYNC_SECRET_KEY is not set: refusing to store OAuth tokens without "
                "encryption (generate one with: python -c \"from cryptography.fernet import "
                "Fernet; print(Fernet.generate_key().decode())\")"
            )
        try:
            self._fernet = Fernet(key.get_secret_value().encode())
        except ValueError:
            raise ConfigError(
                "SOUNDSYNC_SECRET_KEY: must be 32 url-safe base64-encoded bytes (a Fernet key)"
            ) from None

    def encrypt(self, secret: str) -> bytes:
        """Ciphertext for the database."""
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        """The secret back; :class:`VaultError` (without any secret in it) when it cannot."""
        try:
            return self._fernet.decrypt(bytes(ciphertext)).decode()
        except InvalidToken:
            raise VaultError(
                "a stored token cannot be decrypted: SOUNDSYNC_SECRET_KEY changed? "
                "members must link again"
            ) from None

    def __repr__(self) -> str:
        return "TokenVault(<key hidden>)"
