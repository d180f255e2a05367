-- Webhook intake: every update Telegram POSTs is stored here before Herald answers 200, so an
-- update acknowledged to Telegram survives a crash. Keyed by update_id: a repeated POST of the
-- same update is stored once. A claim loop takes the oldest pending row of each chat (one in
-- flight per chat, in order) under a lease; a row whose lease ran out is claimable again.
CREATE TABLE intake (
    update_id   INTEGER PRIMARY KEY,
    chat_key    INTEGER NOT NULL,          -- the chat (or, without one, the user; 0: neither)
    payload     TEXT NOT NULL,             -- the update's JSON as Telegram sent it
    received_at REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    claimed_by  TEXT,
    lease_until REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    done_at     REAL
);
CREATE INDEX intake_pending ON intake (chat_key, update_id) WHERE status = 'pending';
CREATE INDEX intake_done ON intake (done_at) WHERE status = 'done';
