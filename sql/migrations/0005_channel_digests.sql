-- The weekly channel digest: the fallback for members whose DMs are closed, one post per guild
-- per period. Like dm_outbox it is recorded before it is posted, so a crash neither loses nor
-- doubles it. It holds no member data: the text is composed from dm_outbox rows when posted,
-- so unlinking a member (which cascades from members) leaves nothing of them here.
CREATE TABLE channel_digests (
    guild_id    bigint NOT NULL REFERENCES guilds ON DELETE CASCADE,
    period      text NOT NULL,
    channel_id  bigint NOT NULL,
    status      text NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts    integer NOT NULL DEFAULT 0,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    PRIMARY KEY (guild_id, period)
);
CREATE INDEX channel_digests_pending_idx ON channel_digests (status) WHERE status IN ('pending', 'sending');
