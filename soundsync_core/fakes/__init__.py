"""Fake Discord and fake Spotify servers on loopback, for the tests and the sandbox.

These are servers, so they may use aiohttp.web; nothing else in soundsync_core does.
"""
