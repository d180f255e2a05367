-- Chats that receive articles, what they subscribed to, and the durable outbox of deliveries.

CREATE TABLE chats (
    id            INTEGER PRIMARY KEY,           -- Telegram chat id
    kind          TEXT NOT NULL CHECK (kind IN ('private', 'group', 'supergroup', 'channel')),
    title         TEXT NOT NULL DEFAULT '',
    paused        INTEGER NOT NULL DEFAULT 0,    -- 1: blocked, kicked or removed; settings kept
    paused_reason TEXT,
    managed_by    INTEGER,                       -- channels: the user who set it up
    managing      INTEGER,                       -- private chats: the channel being managed now
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('all', 'topic', 'keyword')),
    topic_id    INTEGER REFERENCES topics (id),
    phrase      TEXT,                            -- keyword: as typed, for display
    pattern     TEXT,                            -- keyword: ' word word ' matched against text
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX subscriptions_unique
    ON subscriptions (chat_id, kind, coalesce(topic_id, 0), coalesce(pattern, ''));
CREATE INDEX subscriptions_topic ON subscriptions (topic_id, chat_id) WHERE kind = 'topic';
CREATE INDEX subscriptions_keyword ON subscriptions (kind, chat_id) WHERE kind != 'topic';

-- One row a chat and article (and kind of delivery): written before anything is sent.
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL DEFAULT 'new',
    priority    INTEGER NOT NULL DEFAULT 0,      -- higher first (breaking news)
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'paused')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL DEFAULT 0,         -- unix seconds: retry back-off
    message_id  INTEGER,                         -- the delivered message, for later edits
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (chat_id, article_id, kind)
);
CREATE INDEX outbox_queue ON outbox (priority DESC, id) WHERE status = 'pending';
CREATE INDEX outbox_updated ON outbox (updated_at, status);
CREATE INDEX outbox_article ON outbox (article_id);
