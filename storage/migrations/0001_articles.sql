-- Articles, their topics, full-text search and precomputed related stories.

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,            -- grows with insertion: FTS rowid windows rely on it
    external_id   TEXT,                           -- the source's own id (import file, feed guid)
    title         TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    body          TEXT NOT NULL DEFAULT '',
    url           TEXT,
    authors       TEXT NOT NULL DEFAULT '[]',     -- JSON array of names
    source        TEXT NOT NULL DEFAULT '',
    image_url     TEXT,
    published_at  INTEGER NOT NULL,               -- unix seconds, UTC
    updated_at    INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'retracted')),
    content_hash  TEXT NOT NULL UNIQUE            -- normalised title + text: the same story once
);
CREATE UNIQUE INDEX articles_url ON articles (url) WHERE url IS NOT NULL;
CREATE UNIQUE INDEX articles_external ON articles (source, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX articles_latest ON articles (published_at DESC, id DESC);

CREATE TABLE topics (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE COLLATE NOCASE
);

-- published_at is copied here so /latest TOPIC walks one index in date order.
CREATE TABLE article_topics (
    topic_id      INTEGER NOT NULL REFERENCES topics (id),
    published_at  INTEGER NOT NULL,
    article_id    INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (topic_id, published_at, article_id)
) WITHOUT ROWID;
CREATE INDEX article_topics_article ON article_topics (article_id);

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, summary, body,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, summary, body)
    VALUES (new.id, new.title, new.summary, new.body);
END;

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, summary, body)
    VALUES ('delete', old.id, old.title, old.summary, old.body);
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, summary, body ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, summary, body)
    VALUES ('delete', old.id, old.title, old.summary, old.body);
    INSERT INTO articles_fts (rowid, title, summary, body)
    VALUES (new.id, new.title, new.summary, new.body);
END;

-- Related stories: each article's most distinctive terms (tf-idf, L2-normalised) ...
CREATE TABLE article_keywords (
    term        TEXT NOT NULL,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    weight      REAL NOT NULL,
    PRIMARY KEY (term, article_id)
) WITHOUT ROWID;
CREATE INDEX article_keywords_article ON article_keywords (article_id);

-- ... document frequencies for the idf ...
CREATE TABLE term_df (
    term  TEXT PRIMARY KEY,
    df    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE corpus_stats (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO corpus_stats (name, value) VALUES ('documents', 0);

-- ... and the best matches found, kept up to date as newer articles arrive.
CREATE TABLE related (
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    related_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    score       REAL NOT NULL,
    PRIMARY KEY (article_id, related_id)
) WITHOUT ROWID;
CREATE INDEX related_reverse ON related (related_id);

-- A /search is stored so its page buttons carry a short id, not the query text.
CREATE TABLE searches (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    query       TEXT NOT NULL,
    min_rowid   INTEGER NOT NULL DEFAULT 0,       -- the recency window the first page chose
    created_at  INTEGER NOT NULL
);
CREATE INDEX searches_created ON searches (created_at);
