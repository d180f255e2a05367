-- RSS/Atom feeds that editors follow, and every item each feed has carried.

CREATE TABLE feeds (
    id               INTEGER PRIMARY KEY,
    url              TEXT NOT NULL UNIQUE,
    title            TEXT NOT NULL DEFAULT '',       -- the feed's own title, once fetched
    topic            TEXT,                           -- given at /feeds add: every item gets it
    added_by         INTEGER,                        -- the editor's Telegram user id
    created_at       INTEGER NOT NULL,
    etag             TEXT,                           -- validators for the next conditional GET
    last_modified    TEXT,
    body_hash        TEXT,                           -- sha256 of the last body parsed
    last_fetch_at    INTEGER,                        -- last attempt, whatever its outcome
    last_success_at  INTEGER,
    next_fetch_at    INTEGER NOT NULL DEFAULT 0,     -- unix seconds: the interval or a back-off
    errors           INTEGER NOT NULL DEFAULT 0,     -- consecutive failures (0 after a success)
    total_errors     INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    notified         INTEGER NOT NULL DEFAULT 0      -- 1: editors were told of this failure run
);
CREATE INDEX feeds_due ON feeds (next_fetch_at);

-- One row a feed and item (guid): the same story from two feeds is one article, two rows.
CREATE TABLE feed_items (
    feed_id      INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    guid         TEXT NOT NULL,                      -- the item's id (guid, else link, else hash)
    link         TEXT,
    title_key    TEXT,                               -- normalised title; NULL when too short
    article_id   INTEGER REFERENCES articles (id) ON DELETE SET NULL,  -- NULL: not an article
    seen_at      INTEGER NOT NULL,
    PRIMARY KEY (feed_id, guid)
) WITHOUT ROWID;
CREATE INDEX feed_items_article ON feed_items (article_id);
CREATE INDEX feed_items_title ON feed_items (title_key, seen_at) WHERE title_key IS NOT NULL;
