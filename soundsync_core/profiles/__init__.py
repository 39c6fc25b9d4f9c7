"""Profiles as they come in (import files, source adapters) and as they are stored."""
