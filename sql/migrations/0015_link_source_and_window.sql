-- Links beyond Spotify (issue #10). A one-time state now says which service it links, so the
-- web /link page names it and its Continue button leads to that service's sign-in (existing
-- states were all Spotify's). An account remembers which window of listening its source read
-- ("last 12 months", "all time", …) for /profile.
ALTER TABLE oauth_states ADD COLUMN source text NOT NULL DEFAULT 'spotify';
ALTER TABLE accounts ADD COLUMN listening_window text;
