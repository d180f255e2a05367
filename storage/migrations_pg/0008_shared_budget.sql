-- Several instances, one bot (PostgreSQL only: a SQLite file has one instance).
-- Telegram's flood limits are per bot, so every instance takes each message it sends from one
-- token bucket here (storage/budget.py), and a 429 seen by any of them pauses all of them.
-- Times are PostgreSQL's own clock (epoch seconds), so the instances' clocks do not matter.
-- Unlogged: the budget of the last second is worth nothing after a crash, and a logged table
-- would make every ask wait for a WAL flush (tens of asks a second on a busy disk). After a
-- crash the table is empty; the function puts the row back.
CREATE UNLOGGED TABLE flood_budget (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    tokens       DOUBLE PRECISION NOT NULL,
    refreshed    DOUBLE PRECISION NOT NULL,
    paused_until DOUBLE PRECISION NOT NULL
);
INSERT INTO flood_budget VALUES (1, 0, 0, 0);

-- Take `want` messages from the bucket (refilled at `rate` a second, holding at most `burst`).
-- Returns 0 when taken, else the seconds to wait before asking again (nothing taken): one
-- round trip a message, under the row's lock, so instances never overdraw it together.
CREATE FUNCTION herald_flood_take(want DOUBLE PRECISION, rate DOUBLE PRECISION,
                                  burst DOUBLE PRECISION)
RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
DECLARE
    now_s DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
    row_b flood_budget%ROWTYPE;
    avail DOUBLE PRECISION;
BEGIN
    SELECT * INTO row_b FROM flood_budget WHERE id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO flood_budget VALUES (1, 0, now_s, 0) ON CONFLICT (id) DO NOTHING;
        RETURN 1 / rate;
    END IF;
    IF row_b.paused_until > now_s THEN
        RETURN row_b.paused_until - now_s;
    END IF;
    avail := LEAST(burst, row_b.tokens + GREATEST(now_s - row_b.refreshed, 0) * rate);
    IF avail < want THEN
        RETURN (want - avail) / rate;
    END IF;
    UPDATE flood_budget SET tokens = avail - want, refreshed = now_s WHERE id = 1;
    RETURN 0;
END $$;
