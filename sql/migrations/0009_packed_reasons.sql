-- Reasons in a packed binary record per match (`why`, see soundsync_core/taste/bulk_reasons.py)
-- instead of JSON text: a recluster fills millions of them with numpy and COPYs them in binary,
-- without building a Python string per match. The record numbers items by the run's own
-- columns; run_items says which artist, track or genre each column is. Rows of older runs keep
-- their JSON `reasons` (and no `why`) until those runs are pruned.
ALTER TABLE matches ALTER COLUMN reasons DROP NOT NULL;
ALTER TABLE matches ADD COLUMN why bytea;

CREATE TABLE run_items (
    run_id   bigint NOT NULL REFERENCES cluster_runs ON DELETE CASCADE,
    view     smallint NOT NULL,                 -- 0 artists, 1 tracks, 2 genres
    col      integer NOT NULL,
    item_id  text NOT NULL,                     -- artist or track id; the genre itself
    PRIMARY KEY (run_id, view, col)
);
