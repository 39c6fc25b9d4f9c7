"""SoundSync's core: the taste model, the use cases and the adapters at their edge.

Nothing in this package imports discord, aiohttp.web, bot/, web/ or the tool packages beside it
(soundsync_fakes, soundsync_bench, soundsync_synthetic); tests/unit/test_architecture.py proves it.
"""
