-- The newsroom: editors added at run time, what editors did, drafts awaiting a decision,
-- images posted from Telegram, corrections, and reader taps per article.

-- Owners are HERALD_EDITOR_IDS; these are the editors owners added with /editors add.
CREATE TABLE editors (
    user_id   INTEGER PRIMARY KEY,                -- Telegram user id
    name      TEXT NOT NULL DEFAULT '',
    added_by  INTEGER NOT NULL,
    added_at  INTEGER NOT NULL
);

-- Every editor action: who, what, when (and which article, when there is one).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    editor_id   INTEGER NOT NULL,
    action      TEXT NOT NULL,                    -- post, publish, breaking, edit, retract, …
    article_id  INTEGER,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);

-- A post or correction shown to its editor as a preview; nothing goes out until decided.
CREATE TABLE drafts (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT NOT NULL CHECK (kind IN ('post', 'edit')),
    editor_id           INTEGER NOT NULL,
    chat_id             INTEGER NOT NULL,         -- where the preview is
    article_id          INTEGER REFERENCES articles (id) ON DELETE SET NULL,  -- corrected, or published
    content             TEXT NOT NULL,            -- JSON: the article's fields as the editor gave them
    image_file_id       TEXT,                     -- a photo posted from Telegram
    preview_message_id  INTEGER,
    status              TEXT NOT NULL DEFAULT 'open'
                        CHECK (status IN ('open', 'published', 'cancelled')),
    created_at          INTEGER NOT NULL,
    decided_at          INTEGER
);
CREATE INDEX drafts_preview ON drafts (chat_id, preview_message_id);

ALTER TABLE articles ADD COLUMN image_file_id TEXT;   -- Telegram's file id: sent as a photo
ALTER TABLE articles ADD COLUMN edited_at INTEGER;    -- last correction; NULL when never corrected

-- Taps on buttons that open an article, per UTC day: "most read" and per-article figures.
CREATE TABLE article_taps (
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    day         INTEGER NOT NULL,                 -- unix seconds // 86400
    taps        INTEGER NOT NULL,
    PRIMARY KEY (article_id, day)
) WITHOUT ROWID;
CREATE INDEX article_taps_day ON article_taps (day, taps DESC);

-- A reply to a delivered copy finds its article.
CREATE INDEX outbox_message ON outbox (chat_id, message_id) WHERE message_id IS NOT NULL;
