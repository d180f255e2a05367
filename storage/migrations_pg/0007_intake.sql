-- Webhook intake (PostgreSQL; mirrors 0007_intake.sql): every update Telegram POSTs is stored
-- before Herald answers 200; a repeated POST of one update_id is stored once; claims take the
-- oldest pending row of each chat under a lease.
CREATE TABLE intake (
    update_id   BIGINT PRIMARY KEY,
    chat_key    BIGINT NOT NULL,
    payload     TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    claimed_by  TEXT,
    lease_until DOUBLE PRECISION,
    attempts    INTEGER NOT NULL DEFAULT 0,
    done_at     DOUBLE PRECISION
);
CREATE INDEX intake_pending ON intake (chat_key, update_id) WHERE status = 'pending';
CREATE INDEX intake_done ON intake (done_at) WHERE status = 'done';
