-- A recluster of 100k members writes millions of match rows. Per-row foreign-key checks, an
-- incrementally maintained second index and jsonb parsing made that write take minutes, and
-- pruning an old run deleted millions of rows. Now each run's matches live in a partition of
-- their own (matches_run_<run id>): the recluster COPYs into a bare table, builds its primary
-- key in one pass and attaches it; pruning a run drops its partition.
--
-- No foreign keys to members: the rows are derived data, read through live_runs joined to
-- members, and the code deletes them explicitly (unlink, failed and pruned runs; rows of members
-- who unlinked while a run was computing are removed when it goes live). `reasons` is the JSON text the
-- recluster produced; readers decode it.
ALTER TABLE matches RENAME TO matches_before_0008;

CREATE TABLE matches (
    run_id    bigint NOT NULL,
    scope_id  bigint NOT NULL,                  -- guild id, or 0 for global
    user_id   bigint NOT NULL,
    rank      smallint NOT NULL,
    other_id  bigint NOT NULL,
    score     real NOT NULL,
    reasons   text NOT NULL                     -- JSON
) PARTITION BY LIST (run_id);

DO $$
DECLARE
    run bigint;
BEGIN
    FOR run IN SELECT DISTINCT run_id FROM matches_before_0008 LOOP
        EXECUTE format('CREATE TABLE %I (LIKE matches)', 'matches_run_' || run);
        EXECUTE format(
            'INSERT INTO %I SELECT run_id, scope_id, user_id, rank, other_id, score, reasons::text
               FROM matches_before_0008 WHERE run_id = %s', 'matches_run_' || run, run);
        EXECUTE format('ALTER TABLE %I ADD PRIMARY KEY (run_id, scope_id, user_id, rank)',
                       'matches_run_' || run);
        EXECUTE format('ALTER TABLE matches ATTACH PARTITION %I FOR VALUES IN (%s)',
                       'matches_run_' || run, run);
    END LOOP;
END $$;

DROP TABLE matches_before_0008;

-- The same reasoning for a run's members: a member who unlinks while a recluster computes must
-- not make the run's COPY fail; their rows are removed when the run goes live.
ALTER TABLE user_clusters DROP CONSTRAINT user_clusters_user_id_fkey;
CREATE INDEX user_clusters_user_idx ON user_clusters (user_id);
