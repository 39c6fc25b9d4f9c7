"""SoundSync's web app: the Spotify OAuth link flow, health and metrics (aiohttp)."""
