-- Name look-ups of the Spotify data-export import (artist and track names → catalogue ids) use
-- this normalised form; without the indexes each import scans the whole catalogue.
CREATE INDEX artists_normalised_name_idx
    ON artists (lower(regexp_replace(btrim(name), '\s+', ' ', 'g')));
CREATE INDEX tracks_normalised_name_idx
    ON tracks (lower(regexp_replace(btrim(name), '\s+', ' ', 'g')));
