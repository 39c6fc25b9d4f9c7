-- Each tribe keeps the weights of its most characteristic artists, so a member who links after
-- the run can be placed in the nearest tribe without re-running the clustering.
ALTER TABLE cluster_centers ADD COLUMN artist_weights jsonb NOT NULL DEFAULT '{}';
