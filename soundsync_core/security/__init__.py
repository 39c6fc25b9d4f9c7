"""Secrets at rest: the token vault and one-time OAuth states."""
