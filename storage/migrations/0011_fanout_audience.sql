-- Lazy fan-out: a published article whose subscribers are not all queued yet. fan_out queues
-- the first chunk of chats (by chat id) with the publish; the delivery worker queues the rest
-- chunk by chunk, each chunk and its cursor in one transaction. The row goes when the last
-- chunk is queued (or the article is retracted).
CREATE TABLE fanout_audience (
    article_id     INTEGER PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    priority       INTEGER NOT NULL,
    haystack       TEXT NOT NULL,                -- ' word word ': what keyword patterns match
    after_chat_id  INTEGER NOT NULL,             -- chats up to this id are queued
    created_at     INTEGER NOT NULL
);
CREATE INDEX fanout_audience_next ON fanout_audience (priority DESC, created_at, article_id);
