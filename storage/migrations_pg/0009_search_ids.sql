-- Search (storage/search_pg.py): a query's matches through the GIN index only, newest first.
-- Left to itself, the planner walks the primary key from the window's start and tests every
-- row when it guesses a rare word is common (ANALYZE's sample cannot tell how rare a word
-- is): half a second for one word at 1M articles. This function plans each call afresh with
-- its values (EXECUTE) and with index and sequential scans off, so only bitmap scans remain:
-- the GIN index, alone or intersected with the id range. One statement, no transaction for
-- a SET LOCAL. PostgreSQL only: SQLite's FTS5 has no such choice to make.
CREATE FUNCTION herald_search_ids(q TSQUERY, lo BIGINT, below BIGINT, n INTEGER,
                                  newest_first BOOLEAN)
    RETURNS SETOF BIGINT
    LANGUAGE plpgsql STABLE
    SET enable_indexscan = off
    SET enable_seqscan = off
    AS $$
BEGIN
    RETURN QUERY EXECUTE
        'SELECT article_id FROM article_search WHERE vector @@ $1 AND article_id >= $2'
        || CASE WHEN below IS NULL THEN '' ELSE ' AND article_id < $3' END
        || CASE WHEN newest_first THEN ' ORDER BY article_id DESC' ELSE '' END
        || ' LIMIT $4'
        USING q, lo, below, n;
END $$;

-- How rare a word is: ANALYZE keeps the most common words of a sample with their frequency,
-- ten per statistics-target point, and guesses every other word is as common as the least
-- common kept (0.5% of articles at the default 100). At 1,000 a rare word is known as rare,
-- so the plan for it is the GIN index alone: a one-hit search at 1M went from 18 to 6 ms.
ALTER TABLE article_search ALTER COLUMN vector SET STATISTICS 1000;
ANALYZE article_search;
