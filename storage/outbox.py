"""The durable outbox: one row a chat and article, written before anything is sent.

A row's life: ``pending`` → ``sending`` (claimed by the delivery worker) → ``sent`` (with the
message id, for later edits), ``failed`` (with the reason), or ``unknown`` (a send timed out:
it may or may not have arrived). Rows still ``sending`` at start-up were in flight when the
process died and go back to ``pending``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from storage.db import POSTGRESQL, Database

# PostgreSQL (several instances): a row claimed longer ago than this, still ``sending``, was
# claimed by an instance that died mid-send; another instance's claim takes it again. Longer
# than the longest send (HERALD_SEND_TIMEOUT is at most 300 s) plus its bookkeeping.
LEASE_SECONDS = 600

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
UNKNOWN = "unknown"
AUDIENCES = "audiences"  # count_by_status: broadcasts still being queued (not a row status)

WITHDRAWN = "article withdrawn before delivery"  # the reason a retracted article's row fails

NEW = "new"  # the article itself
EDIT = "edit"  # a correction: edit the delivered copy in place
RETRACT = "retract"  # a retraction: replace (or delete) the delivered copy


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    chat_id: int
    chat_kind: str
    article_id: int
    kind: str
    attempts: int
    priority: int
    target_message_id: int | None = None  # edit, retract: the delivered copy's message id
    target_status: str | None = None  # … and the status of the row that delivered it
    held: bool = False  # was held back (quiet hours, digest): goes out with the others
    not_before: float = 0  # when a held row was due (0: look again, the chat's plan changed)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int  # queued or in flight, and chats of audiences not queued yet
    sent: int
    failed: int
    unknown: int


# Lazy fan-out: a publish queues the first ``FANOUT_CHUNK`` chats (by chat id) at once and
# leaves the rest as an audience row (``fanout_audience``) that the delivery worker expands
# chunk by chunk, keeping ahead of sending. One row per chat up front cost 40-58 s at 1M chats
# on PostgreSQL (heap, six indexes, two foreign keys per row); a chunk of 5,000, under 1 s.
FANOUT_CHUNK = 5_000
FIRST_CHAT = -(2**63)  # below every chat id: a cursor that has covered nobody yet

# The chats that want an article, beyond a cursor: unpaused, subscribed to everything, to one
# of its topics, or to a keyword found (whole words) in its title and summary. The cursor
# bounds both sides of the join: PostgreSQL does not carry a range across ``c.id = s.chat_id``
# and would read every chat before the cursor (226 ms instead of 12 ms a chunk at 500,000).
_AUDIENCE = """
    FROM subscriptions s JOIN chats c ON c.id = s.chat_id
    WHERE c.paused = 0 AND s.chat_id > :after AND c.id > :after AND (
        s.kind = 'all'
        OR (s.kind = 'topic' AND s.topic_id IN (
                SELECT topic_id FROM article_topics WHERE article_id = :article))
        OR (s.kind = 'keyword' AND instr(:haystack, s.pattern) > 0))
"""


@dataclass(frozen=True, slots=True)
class Audience:
    """A published article's chats not all queued yet: those after ``after_chat_id`` remain."""

    article_id: int
    priority: int
    haystack: str
    after_chat_id: int
    created_at: int


async def fan_out(
    db: Database,
    article_id: int,
    haystack: str,
    priority: int,
    now: int,
    chunk: int | None = None,
) -> int:
    """Queue ``article_id`` for the first ``chunk`` unpaused chats that want it, once per chat;
    rows written. If more chats may remain, keep the audience for the delivery worker to expand
    (``expand``). Run in the caller's transaction: the article, its first chunk and its
    audience commit together.

    ``haystack`` is the article's title and summary as ' word word ' (see
    ``storage.subscriptions``' keyword patterns), so a keyword matches whole words only.
    """
    audience = Audience(article_id, priority, haystack, FIRST_CHAT, now)
    written, bound = await _queue_chunk(db, audience, chunk or FANOUT_CHUNK, now)
    if bound is not None:
        await db.execute(
            "INSERT INTO fanout_audience (article_id, priority, haystack, after_chat_id,"
            " created_at) VALUES (:article, :priority, :haystack, :after, :now)"
            " ON CONFLICT (article_id) DO NOTHING",
            {"article": article_id, "priority": priority, "haystack": haystack,
             "after": bound, "now": now},
        )  # fmt: skip
    return written


async def _queue_chunk(
    db: Database, audience: Audience, chunk: int, now: int
) -> tuple[int, int | None]:
    """Queue the next ``chunk`` chats of ``audience`` after its cursor: (rows written, the new
    cursor if more chats may remain, else None).

    The chunk's last chat id is read first and the insert bounded by it (SQLite has no
    data-modifying CTEs); a chat already queued for the article is skipped (the unique chat,
    article and kind), so running a chunk twice queues nobody twice.
    """
    params = {
        "article": audience.article_id,
        "priority": audience.priority,
        "haystack": audience.haystack,
        "after": audience.after_chat_id,
        "created": audience.created_at,
        "now": now,
        "chunk": chunk,
    }
    row = await db.fetchone(
        f"SELECT max(chat_id), count(*) FROM (SELECT s.chat_id AS chat_id {_AUDIENCE}"
        " GROUP BY s.chat_id ORDER BY s.chat_id LIMIT :chunk) AS next_chunk",
        params,
    )
    if row is None or not row[1]:
        return 0, None
    written = await db.execute_changes(
        f"""
        INSERT INTO outbox (chat_id, article_id, kind, priority, created_at, updated_at)
        SELECT s.chat_id, :article, 'new', :priority, :created, :now
        {_AUDIENCE} AND s.chat_id <= :bound AND c.id <= :bound
        GROUP BY s.chat_id
        ON CONFLICT DO NOTHING
        """,
        params | {"bound": row[0]},
    )
    return written, (int(row[0]) if row[1] >= chunk else None)


async def expand(db: Database, now: int, chunk: int | None = None) -> int | None:
    """Queue the next chunk of the most urgent audience (highest priority, then oldest), the
    chunk and its cursor in one transaction; rows written, or None when no audience remains.

    A crash between chunks loses nothing: the cursor moved with the rows it covers.
    """
    lock = " FOR UPDATE SKIP LOCKED" if db.backend == POSTGRESQL else ""
    async with db.transaction():
        row = await db.fetchone(
            "SELECT article_id, priority, haystack, after_chat_id, created_at"
            " FROM fanout_audience ORDER BY priority DESC, created_at, article_id LIMIT 1" + lock
        )
        if row is None:
            return None
        audience = Audience(*row)
        written, bound = await _queue_chunk(db, audience, chunk or FANOUT_CHUNK, now)
        if bound is None:
            await db.execute(
                "DELETE FROM fanout_audience WHERE article_id = ?", (audience.article_id,)
            )
        else:
            await db.execute(
                "UPDATE fanout_audience SET after_chat_id = ? WHERE article_id = ?",
                (bound, audience.article_id),
            )
    return written


async def audiences(db: Database) -> list[Audience]:
    """Articles whose chats are not all queued yet, most urgent first."""
    rows = await db.fetchall(
        "SELECT article_id, priority, haystack, after_chat_id, created_at"
        " FROM fanout_audience ORDER BY priority DESC, created_at, article_id"
    )
    return [Audience(*r) for r in rows]


async def unqueued(db: Database, audience: Audience) -> int:
    """Chats of ``audience`` not queued yet (as of now: a chat that subscribes or pauses before
    its chunk is queued counts as it will be treated). One count over the subscriptions after
    the cursor: for figures an editor asks for, not for a scrape."""
    value = await db.scalar(
        f"SELECT count(*) FROM (SELECT s.chat_id {_AUDIENCE} GROUP BY s.chat_id) AS rest",
        {"article": audience.article_id, "haystack": audience.haystack,
         "after": audience.after_chat_id},
    )  # fmt: skip
    return int(value or 0)


async def queued_ahead(db: Database, now: float, enough: int, priority: int) -> int:
    """Rows a claim could take now at ``priority`` or above, counted up to ``enough`` (an index
    range, never the whole queue): whether expansion of an audience of that priority is far
    enough ahead of sending. Lower rows do not count: a breaking audience is not left waiting
    behind a normal broadcast's queued rows."""
    value = await db.scalar(
        "SELECT count(*) FROM (SELECT 1 FROM outbox WHERE status = 'pending'"
        " AND priority >= :priority AND not_before <= :now LIMIT :enough) AS ahead",
        {"now": now, "enough": enough, "priority": priority},
    )
    return int(value or 0)


async def most_urgent_audience(db: Database) -> int | None:
    """The priority of the audience ``expand`` takes next; None when none remains."""
    value = await db.scalar(
        "SELECT priority FROM fanout_audience ORDER BY priority DESC, created_at, article_id"
        " LIMIT 1"
    )
    return None if value is None else int(value)


# What a claim returns: the row, its chat's kind, and for a correction or retraction the
# delivered copy it changes (its message id and the status of the row that sent it).
_CLAIMED = """
    RETURNING id, chat_id, (SELECT kind FROM chats WHERE chats.id = outbox.chat_id),
              article_id, kind, attempts, priority,
              (SELECT o.message_id FROM outbox o WHERE o.chat_id = outbox.chat_id
               AND o.article_id = outbox.article_id AND o.kind = 'new'
               AND outbox.kind != 'new'),
              (SELECT o.status FROM outbox o WHERE o.chat_id = outbox.chat_id
               AND o.article_id = outbox.article_id AND o.kind = 'new'
               AND outbox.kind != 'new'),
              held, not_before
"""


def _claimed(rows: list[Any]) -> list[Delivery]:
    """Rows from a ``_CLAIMED`` statement as deliveries, most urgent first."""
    found = [
        Delivery(
            r[0], r[1], r[2] or "private", r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10]
        )
        for r in rows
    ]
    found.sort(key=lambda d: (-d.priority, d.id))
    return found


async def claim(db: Database, limit: int, now: float) -> list[Delivery]:
    """Mark up to ``limit`` due rows ``sending`` and return them, most urgent first."""
    params = {"now": now, "now_int": int(now), "limit": limit}
    if db.backend == POSTGRESQL:
        await db.execute(_EXPIRED_PG, {"now_int": int(now), "lease": LEASE_SECONDS})
        return _claimed(await db.fetchall(_CLAIM_PG + _CLAIMED, params))
    rows = await db.fetchall(
        """
        UPDATE outbox SET status = 'sending', updated_at = :now_int
        WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND not_before <= :now
                     ORDER BY priority DESC, id LIMIT :limit)
        """
        + _CLAIMED,
        params,
    )
    return _claimed(rows)


# Several instances claim at once: each skips the rows another has locked. A claim whose
# lease ran out (its instance died mid-send) goes back to the queue first, to be claimed again.
_EXPIRED_PG = """
    UPDATE outbox SET status = 'pending'
    WHERE id IN (SELECT id FROM outbox WHERE status = 'sending' AND updated_at < :now_int - :lease
                 FOR UPDATE SKIP LOCKED)
"""
_CLAIM_PG = """
    UPDATE outbox SET status = 'sending', updated_at = :now_int
    WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND not_before <= :now
                 ORDER BY priority DESC, id LIMIT :limit FOR UPDATE SKIP LOCKED)
"""


async def mark_sent(db: Database, delivery_id: int, message_id: int | None, now: int) -> None:
    """Record a delivery. Only a row still ``sending``: a correction queued again while its
    previous edit was in flight stays ``pending``, so the newest text goes out too."""
    await mark_sent_many(db, [(delivery_id, message_id)], now)


async def mark_sent_many(db: Database, rows: list[tuple[int, int | None]], now: int) -> None:
    """``mark_sent`` for many ``(delivery_id, message_id)`` rows: one statement on PostgreSQL
    (arrays unnested), one transaction of prepared updates on SQLite."""
    if db.backend != POSTGRESQL:
        async with db.transaction():
            await db.executemany(
                "UPDATE outbox SET status = 'sent', message_id = ?, attempts = attempts + 1,"
                " error = NULL, updated_at = ? WHERE id = ? AND status = 'sending'",
                [(message_id, now, delivery_id) for delivery_id, message_id in rows],
            )
        return
    async with db.transaction():
        # Not worth a WAL flush each: lost in a server crash, those copies go out again
        # (at-least-once, as for a crash of Herald), and the commit waits for no disk.
        await db.execute("SET LOCAL synchronous_commit = off")
        await db.execute(
            "UPDATE outbox SET status = 'sent', message_id = v.mid, attempts = attempts + 1,"
            " error = NULL, updated_at = :now"
            " FROM unnest(CAST(:ids AS BIGINT[]), CAST(:mids AS BIGINT[])) AS v(id, mid)"
            " WHERE outbox.id = v.id AND outbox.status = 'sending'",
            {"now": now, "ids": [r[0] for r in rows], "mids": [r[1] for r in rows]},
        )


async def mark_done(db: Database, delivery_id: int, status: str, error: str, now: int) -> None:
    """End a row as ``failed`` or ``unknown``, keeping the reason (only a row still sending)."""
    await db.execute(
        "UPDATE outbox SET status = :status, error = :error, attempts = attempts + 1,"
        " updated_at = :now WHERE id = :id AND status = 'sending'",
        {"status": status, "error": error[:500], "now": now, "id": delivery_id},
    )


async def retry_later(
    db: Database,
    delivery_id: int,
    not_before: float,
    error: str | None,
    now: int,
    *,
    count_attempt: bool = True,
) -> None:
    """Put a row back in the queue, due at ``not_before``."""
    await db.execute(
        "UPDATE outbox SET status = 'pending', not_before = :nb, error = :error,"
        " attempts = attempts + :inc, updated_at = :now WHERE id = :id",
        {
            "nb": not_before,
            "error": error,
            "inc": int(count_attempt),
            "now": now,
            "id": delivery_id,
        },
    )


async def release(db: Database, delivery_ids: list[int], now: int) -> None:
    """Give claimed rows back untouched (the worker is stopping)."""
    await db.executemany(
        "UPDATE outbox SET status = 'pending', updated_at = ? WHERE id = ? AND status = 'sending'",
        [(now, i) for i in delivery_ids],
    )


async def recover_in_flight(db: Database, now: int, not_before: float | None = None) -> int:
    """Rows left ``sending`` by a process that died: queue them again (due at ``not_before``,
    else at once)."""
    return await db.execute_changes(
        "UPDATE outbox SET status = 'pending', updated_at = ?, not_before = ?"
        " WHERE status = 'sending'",
        (now, now if not_before is None else not_before),
    )


async def drop_pending_for_chat(db: Database, chat_id: int, reason: str, now: int) -> int:
    """A chat is paused: what still waits for it fails with the reason (kept, not sent)."""
    return await db.execute_changes(
        "UPDATE outbox SET status = 'failed', error = :reason, updated_at = :now"
        " WHERE chat_id = :chat AND status IN ('pending', 'sending')",
        {"reason": reason, "now": now, "chat": chat_id},
    )


async def stats_since(db: Database, since: int) -> OutboxStats:
    row = await db.fetchone(
        """
        SELECT (SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')),
               count(*) FILTER (WHERE status = 'sent'),
               count(*) FILTER (WHERE status = 'failed'),
               count(*) FILTER (WHERE status = 'unknown')
        FROM outbox WHERE updated_at >= :since
        """,
        {"since": since},
    )
    rest = sum([await unqueued(db, audience) for audience in await audiences(db)])
    return OutboxStats(row[0] + rest, row[1], row[2], row[3])


async def has_pending(db: Database) -> bool:
    """Anything still to send: a pending row, or an audience not all queued yet."""
    return bool(
        await db.scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'pending')"
            " OR EXISTS (SELECT 1 FROM fanout_audience)"
        )
    )


async def chat_of(db: Database, delivery_id: int) -> int | None:
    """The chat a row now belongs to (after a migration), or None if the row is gone."""
    row = await db.fetchone("SELECT chat_id FROM outbox WHERE id = ?", (delivery_id,))
    return None if row is None else int(row[0])


async def queue_followups(db: Database, article_id: int, kind: str, priority: int, now: int) -> int:
    """Queue a correction or retraction for every copy of ``article_id`` delivered or in flight.

    A copy still in flight gets its row too: the worker waits for the copy's message id. An
    earlier correction of the same copy is queued again (the newest text wins). Run in the
    caller's transaction.
    """
    return await db.execute_changes(
        """
        INSERT INTO outbox (chat_id, article_id, kind, priority, created_at, updated_at)
        SELECT chat_id, article_id, :kind, :priority, :now, :now FROM outbox
        WHERE article_id = :article AND kind = 'new'
          AND (status = 'sending' OR (status = 'sent' AND message_id IS NOT NULL))
        ON CONFLICT (chat_id, article_id, kind) DO UPDATE
            SET status = 'pending', attempts = 0, not_before = 0, error = NULL,
                priority = excluded.priority, updated_at = excluded.updated_at
        """,
        {"article": article_id, "kind": kind, "priority": priority, "now": now},
    )


async def withdraw(
    db: Database, article_id: int, reason: str, now: int
) -> tuple[int, Audience | None]:
    """A retracted article: what has not gone out yet (copies, corrections) never will, and
    chats of its audience not queued yet never will be. Rows withdrawn, and the audience
    dropped, if any: its chats are counted with ``unqueued`` after the caller's commit (a pass
    over the subscriptions that need not hold the transaction)."""
    audience = await audience_of(db, article_id)
    if audience is not None:
        await db.execute("DELETE FROM fanout_audience WHERE article_id = ?", (article_id,))
    rows = await db.execute_changes(
        "UPDATE outbox SET status = 'failed', error = :reason, updated_at = :now"
        " WHERE article_id = :article AND status = 'pending' AND kind IN ('new', 'edit')",
        {"reason": reason, "now": now, "article": article_id},
    )
    return rows, audience


async def audience_of(db: Database, article_id: int) -> Audience | None:
    """The audience of ``article_id`` not all queued yet, or None."""
    row = await db.fetchone(
        "SELECT article_id, priority, haystack, after_chat_id, created_at"
        " FROM fanout_audience WHERE article_id = ?",
        (article_id,),
    )
    return None if row is None else Audience(*row)


async def article_of_message(db: Database, chat_id: int, message_id: int) -> int | None:
    """The article a delivered copy shows (an editor replying to it with /edit)."""
    value = await db.scalar(
        "SELECT article_id FROM outbox WHERE chat_id = ? AND message_id = ? AND kind = 'new'",
        (chat_id, message_id),
    )
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class ArticleDeliveries:
    reached: int  # copies delivered
    failed: int
    withdrawn: int  # stopped by a retraction before they went out
    pending: int  # queued, and chats of its audience not queued yet
    unknown: int
    updated: int  # copies edited in place by corrections
    retracted: int  # copies replaced or deleted by a retraction


async def article_deliveries(
    db: Database, article_id: int, *, audience: bool = True
) -> ArticleDeliveries:
    """What became of an article's copies. ``audience``: count the chats of its audience not
    queued yet as pending (one pass over the subscriptions after the cursor: 1.4 s at 1M on
    PostgreSQL, docs/benchmarks.md); without it, rows only."""
    row = await db.fetchone(
        """
        SELECT count(*) FILTER (WHERE kind = 'new' AND status = 'sent'),
               count(*) FILTER (WHERE kind = 'new' AND status = 'failed'
                                AND error NOT IN ('retracted', :withdrawn)),
               count(*) FILTER (WHERE kind = 'new' AND status = 'failed'
                                AND error IN ('retracted', :withdrawn)),
               count(*) FILTER (WHERE kind = 'new' AND status IN ('pending', 'sending')),
               count(*) FILTER (WHERE kind = 'new' AND status = 'unknown'),
               count(*) FILTER (WHERE kind = 'edit' AND status = 'sent'),
               count(*) FILTER (WHERE kind = 'retract' AND status = 'sent')
        FROM outbox WHERE article_id = :article
        """,
        {"article": article_id, "withdrawn": WITHDRAWN},
    )
    found = ArticleDeliveries(*(int(v) for v in row))
    rest = await audience_of(db, article_id) if audience else None
    if rest is None:
        return found
    return replace(found, pending=found.pending + await unqueued(db, rest))


async def hold(db: Database, delivery_id: int, until: float, now: int) -> None:
    """Keep a row back (quiet hours, a digest) until ``until``; it is sent with the others."""
    await db.execute(
        "UPDATE outbox SET status = 'pending', held = 1, not_before = :until, updated_at = :now"
        " WHERE id = :id AND status = 'sending'",
        {"until": until, "now": now, "id": delivery_id},
    )


async def claim_held(db: Database, chat_id: int, now: float) -> list[Delivery]:
    """Claim every held row of a chat that is due: they go out together, as one digest."""
    where = "chat_id = :chat AND status = 'pending' AND held = 1 AND not_before <= :now"
    if db.backend == POSTGRESQL:  # rows another instance is claiming are skipped, not waited for
        where = f"id IN (SELECT id FROM outbox WHERE {where} FOR UPDATE SKIP LOCKED)"
    rows = await db.fetchall(
        f"UPDATE outbox SET status = 'sending', updated_at = :now_int WHERE {where}" + _CLAIMED,
        {"chat": chat_id, "now": now, "now_int": int(now)},
    )
    return _claimed(rows)


async def recheck_held(db: Database, chat_id: int) -> int:
    """A chat changed its plan: its held rows are due now, to be held again or sent."""
    return await db.execute_changes(
        "UPDATE outbox SET not_before = 0 WHERE chat_id = ? AND status = 'pending' AND held = 1",
        (chat_id,),
    )


async def mark_digest_sent(db: Database, delivery_ids: list[int], now: int) -> None:
    """Rows delivered inside a digest: sent, with no message of their own to edit later."""
    await db.executemany(
        "UPDATE outbox SET status = 'sent', held = 0, message_id = NULL, attempts = attempts + 1,"
        " error = 'digest', updated_at = ? WHERE id = ? AND status = 'sending'",
        [(now, i) for i in delivery_ids],
    )


async def count_by_status(db: Database) -> dict[str, int]:
    """Rows by status (for /metrics and /readyz), and under ``AUDIENCES`` the broadcasts whose
    chats are not all queued yet: their chats are not counted as rows (that count scans the
    subscriptions, too slow for a scrape), so ``pending`` is a floor while it is not 0."""
    rows = await db.fetchall("SELECT status, count(*) FROM outbox GROUP BY status")
    found = {row[0]: row[1] for row in rows}
    found[AUDIENCES] = int(await db.scalar("SELECT count(*) FROM fanout_audience") or 0)
    return found
