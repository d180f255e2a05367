-- Reader comfort: each chat's delivery plan and preferences; held outbox rows (PostgreSQL;
-- mirrors 0005_chat_settings.sql).

CREATE TABLE chat_settings (
    chat_id                  BIGINT PRIMARY KEY
                             REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    mode                     TEXT NOT NULL DEFAULT 'instant'
                             CHECK (mode IN ('instant', 'hourly', 'daily')),
    daily_at                 TEXT,
    quiet_start              TEXT,
    quiet_end                TEXT,
    tz                       TEXT NOT NULL DEFAULT 'UTC',
    previews                 INTEGER NOT NULL DEFAULT 1,
    language                 TEXT,
    user_language            TEXT,
    breaking_respects_quiet  INTEGER NOT NULL DEFAULT 0,
    thread_id                BIGINT,
    updated_at               BIGINT NOT NULL
);

ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_held ON outbox (chat_id, not_before) WHERE status = 'pending' AND held = 1;
