"""SoundSync's core: the taste model, the use cases and the adapters at their edge.

Nothing in this package imports discord or aiohttp.web (the fake servers in ``fakes/`` aside).
"""
