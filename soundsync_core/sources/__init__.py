"""Listening-source adapters: each returns plain ranked artists/tracks and knows nothing of
Discord or the database (DESIGN §2).

Spotify: ``spotify_auth`` (OAuth with PKCE), ``spotify`` (client, merged top lists),
``audio_features`` (Spotify → ReccoBeats chain), ``spotify_gateway`` (async layer with the
rate-limit gate and retries), ``errors`` (what the callers catch).

Last.fm: ``lastfm_client`` (signed JSON calls), ``lastfm_errors``, ``lastfm`` (the source),
``artist_tags`` (tags as genres, the tag-cache port). ListenBrainz: ``listenbrainz_client``,
``listenbrainz_errors``, ``listenbrainz`` (the source). ``pacing``: both clients' request pacer.
"""
