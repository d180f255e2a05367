-- Lazy fan-out (PostgreSQL; mirrors 0011_fanout_audience.sql): a published article whose
-- subscribers are not all queued yet, with the cursor of chats already queued.
CREATE TABLE fanout_audience (
    article_id     BIGINT PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    priority       INTEGER NOT NULL,
    haystack       TEXT NOT NULL,
    after_chat_id  BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX fanout_audience_next ON fanout_audience (priority DESC, created_at, article_id);
