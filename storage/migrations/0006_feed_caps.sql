-- A hostile feed cannot flood subscribers: each feed's pushes are counted per hour, and the
-- editors are told once when a feed goes over its caps (issue 13, finding 1).

ALTER TABLE feeds ADD COLUMN push_hour_at INTEGER NOT NULL DEFAULT 0;  -- start of the hour counted
ALTER TABLE feeds ADD COLUMN pushes INTEGER NOT NULL DEFAULT 0;        -- pushed since push_hour_at
ALTER TABLE feeds ADD COLUMN capped_at INTEGER;  -- last poll over a cap (editors told if a day)
