"""Fake Discord and fake Spotify servers on loopback, for the tests, the sandbox and the benches.

They are servers, so they use aiohttp.web; they live outside soundsync_core, which never imports
them.
"""
