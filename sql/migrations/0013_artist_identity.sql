-- Artist identity across sources (soundsync_core/profiles/identity.py): the MusicBrainz id a
-- source gave for a catalogue artist, the normalised-name key the name rule compares (filled by
-- the application: the rule folds accents and punctuation the way Python does, not SQL), and
-- when the artist's Last.fm tags were last fetched (tags are refreshed rarely).
ALTER TABLE artists
    ADD COLUMN mbid uuid,
    ADD COLUMN name_key text,
    ADD COLUMN tags_fetched_at timestamptz;

CREATE INDEX artists_mbid_idx ON artists (mbid) WHERE mbid IS NOT NULL;
CREATE INDEX artists_name_key_idx ON artists (name_key) WHERE name_key IS NOT NULL;
