-- Reader comfort: each chat's delivery plan, quiet hours, time zone, previews, language and
-- forum topic; outbox rows held back for quiet hours or a digest.

CREATE TABLE chat_settings (
    chat_id                  INTEGER PRIMARY KEY
                             REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    mode                     TEXT NOT NULL DEFAULT 'instant'
                             CHECK (mode IN ('instant', 'hourly', 'daily')),
    daily_at                 TEXT,                 -- 'HH:MM', local time, for mode 'daily'
    quiet_start              TEXT,                 -- 'HH:MM' local; NULL: no quiet hours
    quiet_end                TEXT,
    tz                       TEXT NOT NULL DEFAULT 'UTC',   -- IANA name
    previews                 INTEGER NOT NULL DEFAULT 1,    -- 0: no link previews (no images)
    language                 TEXT,                 -- NULL: follow the user's Telegram language
    user_language            TEXT,                 -- the language Telegram last reported
    breaking_respects_quiet  INTEGER NOT NULL DEFAULT 0,
    thread_id                INTEGER,              -- forum topic for Herald's posts (/here)
    updated_at               INTEGER NOT NULL
);

-- 1: held back for quiet hours or a digest; sent together with the chat's other held rows.
ALTER TABLE outbox ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_held ON outbox (chat_id, not_before) WHERE status = 'pending' AND held = 1;
