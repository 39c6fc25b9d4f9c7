-- SoundSync data model (DESIGN §4). Every member-owned row cascades from members, so deleting
-- the member (unlink) deletes everything they ever left behind.

CREATE TABLE members (
    user_id       bigint PRIMARY KEY,                -- Discord user snowflake
    display_name  text,
    visibility    text NOT NULL DEFAULT 'server'
                  CHECK (visibility IN ('server', 'global', 'hidden')),
    weekly_dm     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE guilds (
    guild_id            bigint PRIMARY KEY,
    name                text,
    digest_channel_id   bigint,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE guild_members (
    guild_id   bigint NOT NULL,
    user_id    bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    joined_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, user_id)
);
CREATE INDEX guild_members_user_idx ON guild_members (user_id);

-- A linked listening source. Tokens are Fernet ciphertext, never plaintext.
CREATE TABLE accounts (
    user_id             bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    source              text NOT NULL
                        CHECK (source IN ('spotify', 'spotify_export', 'lastfm', 'listenbrainz', 'import')),
    external_id         text,
    external_name       text,
    access_token_enc    bytea,
    refresh_token_enc   bytea,
    token_expires_at    timestamptz,
    authorized_at       timestamptz,                 -- refresh tokens die 6 months after this
    scope               text,
    status              text NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'expired', 'not_allowlisted', 'error')),
    status_detail       text,
    last_ingested_at    timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, source)
);
CREATE INDEX accounts_stale_idx ON accounts (source, last_ingested_at);

CREATE TABLE oauth_states (
    state_hash          bytea PRIMARY KEY,           -- sha256 of the state; the state itself is never stored
    user_id             bigint NOT NULL,
    guild_id            bigint,
    code_verifier_enc   bytea NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz NOT NULL,
    used_at             timestamptz
);
CREATE INDEX oauth_states_user_idx ON oauth_states (user_id);

CREATE TABLE artists (
    artist_id   text PRIMARY KEY,
    name        text NOT NULL,
    genres      text[] NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tracks (
    track_id    text PRIMARY KEY,
    name        text NOT NULL,
    artist_ids  text[] NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The seed's sound_data: one row per track, shared by every member. provider = 'none' records
-- that no provider knows the track, so it is not asked again and again.
CREATE TABLE track_features (
    track_id          text PRIMARY KEY,
    provider          text NOT NULL CHECK (provider IN ('spotify', 'reccobeats', 'import', 'none')),
    fetched_at        timestamptz NOT NULL DEFAULT now(),
    acousticness      real,
    instrumentalness  real,
    danceability      real,
    energy            real,
    loudness          real,
    valence           real,
    tempo             real,
    speechiness       real,
    liveness          real
);

-- One row per member per source snapshot; arrays keep a million profiles readable in seconds.
CREATE TABLE profiles (
    user_id        bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    source         text NOT NULL,
    captured_at    timestamptz NOT NULL DEFAULT now(),
    artist_ids     text[] NOT NULL,                  -- ranked, best first
    artist_counts  integer[],                        -- playcounts aligned with artist_ids, or NULL
    track_ids      text[] NOT NULL DEFAULT '{}',     -- ranked, best first
    track_counts   integer[],
    PRIMARY KEY (user_id, source, captured_at)
);

CREATE TABLE cluster_runs (
    run_id       bigserial PRIMARY KEY,
    guild_id     bigint,                             -- NULL = every guild
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'complete', 'failed')),
    k            integer,
    params       jsonb NOT NULL DEFAULT '{}',
    metrics      jsonb NOT NULL DEFAULT '{}'
);

-- Which run serves which scope. scope_id = guild id, or 0 for the global match scope.
-- Switching a run live is one UPDATE of these rows in one transaction.
CREATE TABLE live_runs (
    scope_id    bigint PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES cluster_runs ON DELETE CASCADE,
    switched_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE cluster_centers (
    run_id       bigint NOT NULL REFERENCES cluster_runs ON DELETE CASCADE,
    cluster      integer NOT NULL,
    size         integer NOT NULL,
    name         text NOT NULL,
    top_artists  text[] NOT NULL DEFAULT '{}',
    top_genres   text[] NOT NULL DEFAULT '{}',
    center       real[] NOT NULL,
    PRIMARY KEY (run_id, cluster)
);

CREATE TABLE user_clusters (
    run_id    bigint NOT NULL REFERENCES cluster_runs ON DELETE CASCADE,
    user_id   bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    cluster   integer NOT NULL,
    distance  real NOT NULL,
    map_x     real,
    map_y     real,
    PRIMARY KEY (run_id, user_id)
);

CREATE TABLE matches (
    run_id         bigint NOT NULL REFERENCES cluster_runs ON DELETE CASCADE,
    scope_id       bigint NOT NULL,                  -- guild id, or 0 for global
    user_id        bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    rank           smallint NOT NULL,
    other_id       bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    score          real NOT NULL,
    reasons        jsonb NOT NULL,
    PRIMARY KEY (run_id, scope_id, user_id, rank)
);
CREATE INDEX matches_other_idx ON matches (other_id);

-- "Already friends" / "Not interested": that pair never appears in the member's matches again.
CREATE TABLE match_exclusions (
    user_id     bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    other_id    bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    reason      text NOT NULL CHECK (reason IN ('friends', 'not_interested')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, other_id)
);

-- "Say hi": handles are shared only when the other member accepts.
CREATE TABLE connection_requests (
    from_user   bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    to_user     bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    guild_id    bigint,
    score       real,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    answered_at timestamptz,
    PRIMARY KEY (from_user, to_user)
);

-- The weekly digest is written here first, then a paced sender drains it.
CREATE TABLE dm_outbox (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES members ON DELETE CASCADE,
    kind        text NOT NULL,
    period      text NOT NULL,
    payload     jsonb NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'dm_closed', 'failed', 'skipped')),
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    UNIQUE (user_id, kind, period)
);
CREATE INDEX dm_outbox_pending_idx ON dm_outbox (status, id) WHERE status IN ('pending', 'sending');

-- Facts about this deployment learnt at run time (e.g. "this Spotify app has no audio features").
CREATE TABLE app_state (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
