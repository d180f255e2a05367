"""Subscriptions, groups, channels and pushed headlines, through the fake Bot API."""

from __future__ import annotations

from bot.sandbox.samples import seed_samples
from storage import chats, outbox
from storage.db import Database
from tests.factories import (
    EDITOR,
    GROUP,
    READER,
    Herald,
    article,
    button_data,
    buttons,
    eventually,
    store,
)

# These walks also run against PostgreSQL (see tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

ADMIN = 2002
MEMBER = 3003


async def _pushes(herald: Herald, chat_id: int, count: int) -> list:
    """Wait for ``count`` pushed headlines in a chat; returns the messages."""

    def delivered() -> list:
        return [
            m
            for m in herald.api.messages.get(chat_id, {}).values()
            if m.reply_markup and "📖 Read" in str(m.reply_markup)
        ]

    async def arrived() -> bool:
        return len(delivered()) >= count

    await eventually(arrived)
    return delivered()


async def test_subscribe_topics_phrases_and_suggestions(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    reply = await herald.send('/subscribe sport "flood barrier"')
    assert "Subscribed to #sport, “flood barrier”" in reply.visible_text
    again = await herald.send("/subscribe sport")
    assert "Already subscribed to #sport" in again.visible_text
    typo = await herald.send("/subscribe sprot climat")
    assert "/subscribe sport" in typo.visible_text and "/subscribe climate" in typo.visible_text
    unknown = await herald.send("/subscribe zzzz")
    assert 'put it in quotes: /subscribe "zzzz"' in unknown.visible_text
    listing = await herald.send("/subscriptions")
    assert "#sport" in listing.visible_text and "“flood barrier”" in listing.visible_text
    _, after = await herald.press(listing, button_data(listing, "✖ #sport"))
    assert "#sport" not in after.visible_text
    _, added = await herald.press(after, button_data(after, "➕ #politics"))
    assert "#politics" in added.visible_text
    topics = await herald.send("/topics")
    assert "#climate (6)" in topics.visible_text
    gone = await herald.send("/unsubscribe")
    assert "Unsubscribed from everything" in gone.visible_text


async def test_push_reaches_each_matching_chat_once(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    await herald.send("/subscribe")
    await herald.send('/subscribe politics "harbour master"', chat_id=READER + 1)
    await herald.send("/subscribe sport", chat_id=READER + 2)
    await herald.send('/subscribe "harbour"', chat_id=READER + 3)  # whole words only
    ids = await herald.publish(
        article(
            "Harbour master resigns over Port Alder strike",
            "The harbour master quit.",
            summary="The harbour master of Port Alder resigned.",
            topics=("politics",),
            url="https://example.com/hm",
        )
    )
    (everyone,) = await _pushes(herald, READER, 1)
    (both_ways,) = await _pushes(herald, READER + 1, 1)  # topic and phrase: one message
    await _pushes(herald, READER + 3, 1)
    assert "Harbour master resigns" in everyone.visible_text
    assert "The harbour master of Port Alder resigned." in everyone.visible_text
    names = [t for t, _ in buttons(everyone)]
    assert names[0] == "📖 Read" and any("Port Alder" in n for n in names[1:4])
    assert READER + 2 not in herald.api.messages or not await _has_push(herald, READER + 2)

    async def recorded() -> bool:
        rows = await herald.services.db.fetchall("SELECT status FROM outbox")
        return all(r[0] == "sent" for r in rows)

    await eventually(recorded)
    rows = await herald.services.db.fetchall("SELECT chat_id, status, message_id FROM outbox")
    assert sorted(r[0] for r in rows) == [READER, READER + 1, READER + 3]
    assert {r[1] for r in rows} == {"sent"} and all(r[2] for r in rows)
    _, opened = await herald.press(both_ways, button_data(both_ways, "📖 Read"))
    assert "The harbour master quit." in opened.visible_text and ids


async def _has_push(herald: Herald, chat_id: int) -> bool:
    return any("📖 Read" in str(m.reply_markup) for m in herald.api.messages[chat_id].values())


async def test_group_admins_only_and_membership_lifecycle(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    herald.api.register_chat(GROUP, "supergroup", title="Newsroom")
    herald.api.set_chat_member(GROUP, herald.api.bot_id, "left")
    herald.api.set_chat_member(GROUP, ADMIN, "administrator")
    herald.api.set_chat_member(GROUP, MEMBER, "member")
    mark = herald.api.mark()
    herald.member_change(GROUP, "member", title="Newsroom")
    welcome = await herald.api.wait_for("sendMessage", after=mark)
    assert "Herald is here" in welcome.params["text"]
    refused = await herald.send("/subscribe", chat_id=GROUP, user_id=MEMBER)
    assert "Only this chat's admins" in refused.visible_text
    ok = await herald.send("/subscribe climate", chat_id=GROUP, user_id=ADMIN)
    assert "Subscribed to #climate" in ok.visible_text

    herald.member_change(GROUP, "kicked", title="Newsroom")

    async def paused() -> bool:
        chat = await chats.get_chat(herald.services.db, GROUP)
        return chat.paused

    await eventually(paused)
    await herald.publish(article("Glacier melt speeds up", "Ice loss.", topics=("climate",)))
    rows = await herald.services.db.fetchall("SELECT * FROM outbox WHERE chat_id = ?", (GROUP,))
    assert rows == []  # paused: nothing queued, but the subscription is kept
    mark = herald.api.mark()
    herald.member_change(GROUP, "member", title="Newsroom")
    # The setup guide again; waited for, or it would be taken for the answer to /subscriptions.
    welcome = await herald.api.wait_for("sendMessage", after=mark)
    assert "Herald is here" in welcome.params["text"]

    async def resumed() -> bool:
        return not (await chats.get_chat(herald.services.db, GROUP)).paused

    await eventually(resumed)
    listing = await herald.send("/subscriptions", chat_id=GROUP, user_id=ADMIN)
    assert "#climate" in listing.visible_text


async def test_group_migration_keeps_subscriptions(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    old, new = -4242, -1004242
    herald.api.register_chat(old, "group", title="Club")
    herald.api.set_chat_member(old, ADMIN, "administrator")
    await herald.send("/subscribe sport", chat_id=old, user_id=ADMIN, chat_type="group")
    herald.api.register_chat(new, "supergroup", title="Club")  # Telegram made the supergroup
    herald.api.fail_next("sendMessage", chat_id=old, migrate_to_chat_id=new)
    await herald.publish(article("Cup draw made", "Draw.", topics=("sport",)))
    pushes = await _pushes(herald, new, 1)
    assert "Cup draw made" in pushes[0].visible_text
    chat = await chats.get_chat(herald.services.db, new)
    assert chat is not None and await chats.get_chat(herald.services.db, old) is None
    subs = await herald.services.db.fetchall("SELECT chat_id FROM subscriptions")
    assert [r[0] for r in subs] == [new]


async def test_blocked_reader_is_paused_not_deleted(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    await herald.send("/subscribe")
    herald.api.fail_next(
        "sendMessage",
        chat_id=READER,
        error_code=403,
        description="Forbidden: bot was blocked by the user",
    )
    await herald.publish(article("First after block", "x"))

    async def paused() -> bool:
        chat = await chats.get_chat(herald.services.db, READER)
        return chat.paused

    await eventually(paused)
    row = await herald.services.db.fetchone("SELECT status, error FROM outbox")
    assert row[0] == outbox.FAILED and "blocked" in row[1]
    subs = await herald.services.db.fetchall("SELECT kind FROM subscriptions")
    assert [r[0] for r in subs] == ["all"]
    herald.api.set_chat_member(READER, herald.api.bot_id, "kicked")  # what blocking did
    herald.member_change(READER, "member", chat_type="private")  # the reader unblocks

    async def resumed() -> bool:
        return not (await chats.get_chat(herald.services.db, READER)).paused

    await eventually(resumed)
    await herald.publish(article("Second after unblock", "y"))
    pushes = await _pushes(herald, READER, 1)
    assert "Second after unblock" in pushes[-1].visible_text


async def test_outcomes_429_transient_bad_request_timeout(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    for offset in range(4):
        await herald.send("/subscribe", chat_id=READER + offset)
    api = herald.api
    api.fail_next("sendMessage", chat_id=READER, retry_after=1)
    api.fail_next("sendMessage", chat_id=READER + 1, error_code=502, description="Bad Gateway")
    api.fail_next(
        "sendMessage", chat_id=READER + 2, error_code=400, description="Bad Request: chat not found"
    )
    await herald.publish(article("Outcome story", "z"))
    await _pushes(herald, READER, 1)  # 429 then delivered after retry_after
    await _pushes(herald, READER + 3, 1)

    async def settled() -> bool:
        rows = await herald.services.db.fetchall("SELECT status FROM outbox")
        return all(r[0] in ("sent", "failed") for r in rows) and len(rows) == 4

    await eventually(settled, within=15)
    rows = {
        r[0]: (r[1], r[2])
        for r in await herald.services.db.fetchall("SELECT chat_id, status, error FROM outbox")
    }
    assert rows[READER][0] == "sent" and rows[READER + 3][0] == "sent"
    assert rows[READER + 1][0] == "sent"  # retried after the 502
    assert rows[READER + 2] == ("failed", "Bad Request: chat not found")


async def test_stats_for_editors_only(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    await herald.send("/subscribe politics")
    await herald.send("/subscribe", chat_id=READER + 1)
    herald.api.fail_next(
        "sendMessage", chat_id=READER + 1, error_code=400, description="Bad Request: chat not found"
    )
    await herald.publish(article("Budget vote", "x", topics=("politics",)))
    await _pushes(herald, READER, 1)

    async def settled() -> bool:
        rows = await herald.services.db.fetchall("SELECT status FROM outbox")
        return sorted(r[0] for r in rows) == ["failed", "sent"]

    await eventually(settled)
    refused = await herald.send("/stats")
    assert "only Herald's editors" in refused.visible_text
    figures = await herald.send("/stats", chat_id=EDITOR)
    text = figures.visible_text
    assert "#politics — private: 1" in text and "everything — private: 1" in text
    assert "last 24 h: 1 sent, 1 failed, 0 unknown" in text and "pending now: 0" in text


async def test_channel_managed_from_a_private_chat(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    channel = -1007777
    api = herald.api
    api.register_chat(channel, "channel", title="Daily Brief", username="dailybrief")
    api.set_chat_member(channel, READER, "creator")
    api.set_chat_member(channel, READER + 1, "member")
    api.set_chat_member(channel, api.bot_id, "administrator")
    nope = await herald.send("/channel @dailybrief", chat_id=READER + 1)
    assert "Only an admin of that channel" in nope.visible_text
    missing = await herald.send("/channel @nosuchchannel")
    assert "can't find that channel" in missing.visible_text
    ready = await herald.send("/channel @dailybrief")
    assert "You now manage Daily Brief" in ready.visible_text
    added = await herald.send("/subscribe sport")
    assert "Subscribed to #sport" in added.visible_text
    listing = await herald.send("/subscriptions")
    assert listing.visible_text.startswith("Daily Brief receives:")
    await herald.publish(article("Derby ends in a draw", "x", topics=("sport",)))
    (post,) = await _pushes(herald, channel, 1)
    assert "Derby ends in a draw" in post.visible_text
    back = await herald.send("/channel off")
    assert "Managing this chat again" in back.visible_text
    mine = await herald.send("/subscriptions")
    assert mine.visible_text.startswith("This chat has no subscriptions")


async def test_hostile_subscription_input(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    fresh = await herald.send("/latest", chat_id=READER + 9)  # a chat that never subscribed
    text, _ = await herald.press(fresh, "t:1", forged=True)
    assert text == "Added."
    text, _ = await herald.press(fresh, "u:999999", forged=True)
    assert text == "This button has expired."
    for odd in ["--5", "²", "@a", "x" * 300, "@bad name!"]:
        reply = await herald.send(f"/channel {odd}")
        assert "can't find that channel" in reply.visible_text, odd
    both = await herald.send('/subscribe "café" "हिन्दी समाचार"')
    assert "Subscribed to “café”, “हिन्दी समाचार”" in both.visible_text


async def test_unsubscribe_multi_word_topic(herald: Herald, db: Database) -> None:
    await store(db, article("Court ruling", "x", topics=("u.s. news",)))
    assert "#u.s. news" in (await herald.send("/subscribe u.s. news")).visible_text
    gone = await herald.send("/unsubscribe u.s. news")
    assert "Unsubscribed from #u.s. news" in gone.visible_text


async def test_demoted_channel_admin_loses_control(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    channel, api = -1008888, herald.api
    api.register_chat(channel, "channel", title="Brief", username="brief")
    api.set_chat_member(channel, READER, "administrator")
    api.set_chat_member(channel, api.bot_id, "administrator")
    await herald.send("/channel @brief")
    api.set_chat_member(channel, READER, "member")
    reply = await herald.send("/subscribe sport")
    assert "Subscribed to #sport" in reply.visible_text
    rows = await herald.services.db.fetchall("SELECT chat_id FROM subscriptions")
    assert [r[0] for r in rows] == [READER]  # this chat, not the channel


async def test_keyword_matches_whole_words_in_any_script(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    await herald.send('/subscribe "cafe\u0301"')  # typed decomposed
    await herald.send('/subscribe "art"', chat_id=READER + 1)
    await herald.publish(article("Café owners start a union", "x", summary="Baristas organise."))
    (push,) = await _pushes(herald, READER, 1)
    assert "Café owners" in push.visible_text
    queued = await herald.services.db.fetchall("SELECT chat_id FROM outbox")
    assert [r[0] for r in queued] == [READER]  # "art" is not the word "start"
