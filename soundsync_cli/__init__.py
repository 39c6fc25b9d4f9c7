"""The ``soundsync`` command: the composition root, the one place that knows core, bot and web."""
