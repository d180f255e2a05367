-- A hostile feed cannot flood subscribers (PostgreSQL; mirrors 0006_feed_caps.sql).

ALTER TABLE feeds ADD COLUMN push_hour_at BIGINT NOT NULL DEFAULT 0;  -- start of the hour counted
ALTER TABLE feeds ADD COLUMN pushes INTEGER NOT NULL DEFAULT 0;       -- pushed since push_hour_at
ALTER TABLE feeds ADD COLUMN capped_at BIGINT;  -- last poll over a cap (editors told if a day)
