-- The search index beside the database (storage/search_index.py, tantivy) is fed from here.
-- Every change to an article a search can see queues its id; the index applies the queue,
-- commits, and only then deletes what it applied. The database stays the source of truth:
-- after a crash (of either) the queue still holds whatever the index may have missed, and
-- applying an entry twice is harmless (the article's document is replaced).

CREATE TABLE search_queue (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id  INTEGER NOT NULL
);

CREATE TRIGGER search_queue_insert AFTER INSERT ON articles BEGIN
    INSERT INTO search_queue (article_id) VALUES (new.id);
END;

CREATE TRIGGER search_queue_update
AFTER UPDATE OF title, summary, body, status, published_at ON articles BEGIN
    INSERT INTO search_queue (article_id) VALUES (new.id);
END;

CREATE TRIGGER search_queue_delete AFTER DELETE ON articles BEGIN
    INSERT INTO search_queue (article_id) VALUES (old.id);
END;

-- An archive stored before this migration is indexed from scratch.
INSERT INTO search_queue (article_id) SELECT id FROM articles ORDER BY id;
