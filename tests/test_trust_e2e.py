"""Who a tap or a command speaks for, through the real bot and the fake Bot API.

Issue 13, findings 4 and 5: a channel's post carries the channel as ``sender_chat``, so a tap
on it must not count as the channel (any subscriber can tap, with any data a modified client
sends), a tap on a message everyone in a chat sees must not change it for everyone, and a
group admin who was just demoted must not keep control. Issue 10, defect 2: a related-story
button under a draft's preview must leave the draft and its decision buttons alone.
"""

from __future__ import annotations

from typing import Any

from bot.rendering.inline import deep_link
from bot.sandbox.fake_api import SentMessage
from bot.sandbox.samples import seed_samples
from bot.services import preferences
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
)

CHANNEL = -1006060
ADMIN = 2002
MEMBER = 3003
SUBSCRIBER = 3004
ADMINS_ONLY_SETTINGS = "Only this chat's admins can change its settings."
ADMINS_ONLY = "Only this chat's admins can change what Herald sends here."
BROWSE_PRIVATELY = (
    "This list belongs to the channel. Send /latest to me in a private chat to browse."
)


async def _tap(
    herald: Herald, message: SentMessage, data: str, user_id: int, *, forged: bool = False
) -> dict[str, Any]:
    """``user_id`` taps a button; returns the answerCallbackQuery parameters Herald sent.

    Herald answers a tap it refuses or answers personally as its last word on the update, so
    once the answer is in, the message is as it will stay.
    """
    api = herald.api
    mark = api.mark()
    update = api.press_button(
        message.chat_id, message.message_id, data, user_id=user_id, forged=forged
    )
    query_id = update["callback_query"]["id"]
    answer = await api.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id, after=mark
    )
    assert answer.ok, answer.error
    return answer.params


async def _pushes(herald: Herald, chat_id: int, count: int) -> list[SentMessage]:
    def delivered() -> list[SentMessage]:
        return [
            m
            for m in herald.api.messages.get(chat_id, {}).values()
            if m.reply_markup and "📖 Read" in str(m.reply_markup)
        ]

    async def arrived() -> bool:
        return len(delivered()) >= count

    await eventually(arrived)
    return delivered()


async def _managed_channel(herald: Herald) -> None:
    """A channel READER runs from their private chat, with SUBSCRIBER among its viewers."""
    api = herald.api
    api.register_chat(CHANNEL, "channel", title="Harbour Wire", username="harbourwire")
    api.set_chat_member(CHANNEL, READER, "creator")
    api.set_chat_member(CHANNEL, SUBSCRIBER, "member")
    api.set_chat_member(CHANNEL, api.bot_id, "administrator")
    ready = await herald.send("/channel @harbourwire")
    assert "You now manage Harbour Wire" in ready.visible_text
    assert "Subscribed to #business" in (await herald.send("/subscribe business")).visible_text


async def _channel_post(herald: Herald) -> tuple[int, SentMessage]:
    (article_id,) = await herald.publish(
        article(
            "Port Alder harbour reopens after the dock strike",
            "Dockworkers at Port Alder returned to the container terminal on Monday.",
            topics=("business",),
        )
    )
    (post,) = await _pushes(herald, CHANNEL, 1)
    return article_id, post


async def test_a_channel_subscribers_forged_taps_change_nothing(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    await _managed_channel(herald)
    _, post = await _channel_post(herald)
    (subscription,) = await db.fetchall(
        "SELECT id FROM subscriptions WHERE chat_id = ?", (CHANNEL,)
    )
    for data in ("g:m:daily", "g:l:es", "g:q:2207"):
        answer = await _tap(herald, post, data, SUBSCRIBER, forged=True)
        assert answer.get("text") == ADMINS_ONLY_SETTINGS, data
    answer = await _tap(herald, post, f"u:{subscription[0]}", SUBSCRIBER, forged=True)
    assert answer.get("text") == ADMINS_ONLY
    answer = await _tap(herald, post, "t:1", SUBSCRIBER, forged=True)
    assert answer.get("text") == ADMINS_ONLY

    settings = await preferences.get(db, CHANNEL)
    assert (settings.mode, settings.language, settings.quiet_start) == ("instant", None, None)
    rows = await db.fetchall("SELECT id FROM subscriptions WHERE chat_id = ?", (CHANNEL,))
    assert [r[0] for r in rows] == [subscription[0]], "the channel's subscription is intact"
    assert herald.api.messages[CHANNEL][post.message_id].edit_count == 0
    assert len(herald.api.messages[CHANNEL]) == 1, "nothing but the push in the channel"


async def test_a_tap_on_a_channel_post_opens_the_article_for_that_reader_only(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    await _managed_channel(herald)
    article_id, post = await _channel_post(herald)
    before = post.visible_text

    answer = await _tap(herald, post, button_data(post, "📖 Read"), SUBSCRIBER)
    assert answer.get("url") == deep_link(herald.api.bot_username, article_id)
    assert answer["url"] == f"https://t.me/HeraldTestBot?start=a_{article_id}"
    related = [data for text, data in buttons(post) if text.startswith("🔗")]
    assert related, "the push has related stories"
    answer = await _tap(herald, post, related[0], SUBSCRIBER)
    assert answer.get("url", "").startswith("https://t.me/HeraldTestBot?start=a_")
    answer = await _tap(herald, post, "l::0", SUBSCRIBER, forged=True)  # "Back to the list"
    assert answer.get("text") == BROWSE_PRIVATELY and answer.get("show_alert") is True

    channel_post = herald.api.messages[CHANNEL][post.message_id]
    assert channel_post.edit_count == 0 and channel_post.visible_text == before
    # The link opens the reader's private chat with Herald, which sends /start a_<id>.
    page = await herald.send(f"/start a_{article_id}", chat_id=SUBSCRIBER)
    assert page.visible_text.startswith("Port Alder harbour reopens after the dock strike")


async def test_a_subscribers_tap_does_not_set_the_channels_language(
    herald: Herald, db: Database
) -> None:
    """The language a chat's pushes use is remembered from its users' Telegram apps; a
    Spanish viewer's tap on an English channel's post is not the channel speaking Spanish."""
    await seed_samples(db)
    await _managed_channel(herald)
    _, post = await _channel_post(herald)
    await herald.send("/start", chat_id=SUBSCRIBER, language_code="es")  # a Spanish reader
    answer = await _tap(herald, post, "l::1", SUBSCRIBER, forged=True)
    assert answer.get("text") == BROWSE_PRIVATELY, "answered in the channel's language"
    answer = await _tap(herald, post, button_data(post, "📖 Read"), SUBSCRIBER)
    assert answer.get("url", "").startswith("https://t.me/HeraldTestBot?start=a_")
    settings = await preferences.get(db, CHANNEL)
    assert preferences.language_of(settings) == "en", "pushes to the channel stay English"


async def test_taps_in_a_group_answer_the_presser_and_its_list_still_pages(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    api = herald.api
    api.register_chat(GROUP, "supergroup", title="Harbour fans")
    api.set_chat_member(GROUP, ADMIN, "administrator")
    api.set_chat_member(GROUP, MEMBER, "member")
    await herald.send("/subscribe sport", chat_id=GROUP, user_id=ADMIN)
    (article_id,) = await herald.publish(article("Derby ends in a draw", "x", topics=("sport",)))
    (push,) = await _pushes(herald, GROUP, 1)

    answer = await _tap(herald, push, button_data(push, "📖 Read"), MEMBER)
    assert answer.get("url") == f"https://t.me/HeraldTestBot?start=a_{article_id}"
    assert api.messages[GROUP][push.message_id].edit_count == 0

    # A list someone asked for in the group: a headline opens privately, not over the list…
    listing = await herald.send("/latest", chat_id=GROUP, user_id=MEMBER)
    first_headline = buttons(listing)[0][1]
    answer = await _tap(herald, listing, first_headline, ADMIN)
    assert answer.get("url", "").startswith("https://t.me/HeraldTestBot?start=a_")
    assert api.messages[GROUP][listing.message_id].edit_count == 0
    # …and ◀ ▶ still page it in place: it is the group's list, a page of it is still that list.
    _, paged = await herald.press(listing, button_data(listing, "Older"))
    assert "Latest news · page 2" in paged.visible_text


async def test_a_demoted_admins_next_change_is_refused(herald: Herald, db: Database) -> None:
    api = herald.api
    api.register_chat(GROUP, "supergroup", title="Harbour fans")
    api.set_chat_member(GROUP, ADMIN, "administrator")
    panel = await herald.send("/settings", chat_id=GROUP, user_id=ADMIN)
    assert "Settings for this group" in panel.visible_text
    subscribed = await herald.send("/subscribe", chat_id=GROUP, user_id=ADMIN)
    assert "Subscribed to everything" in subscribed.visible_text

    api.set_chat_member(GROUP, ADMIN, "member")  # demoted; the very next change is refused
    answer = await _tap(herald, panel, button_data(panel, "Español"), ADMIN)
    assert answer.get("text") == ADMINS_ONLY_SETTINGS
    refused = await herald.send("/unsubscribe", chat_id=GROUP, user_id=ADMIN)
    assert refused.visible_text == ADMINS_ONLY
    refused = await herald.send("/digest daily 07:00", chat_id=GROUP, user_id=ADMIN)
    assert refused.visible_text == ADMINS_ONLY

    assert (await preferences.get(db, GROUP)).language is None
    assert (await preferences.get(db, GROUP)).mode == "instant"
    rows = await db.fetchall("SELECT chat_id FROM subscriptions")
    assert [r[0] for r in rows] == [GROUP], "the group's subscription is still there"
    assert api.messages[GROUP][panel.message_id].edit_count == 0


async def test_a_related_story_under_a_preview_keeps_the_draft(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    api = herald.api
    mark = api.mark()
    api.send_text(
        "/post Harbour reopens after the long strike\n"
        "The port of Alder reopened on Monday after dockworkers accepted the new roster.\n"
        "#business #port_news",
        chat_id=EDITOR,
    )
    call = await api.wait_for(
        "sendMessage", lambda c: int(c.params["chat_id"]) == EDITOR, after=mark
    )
    preview = api.messages[EDITOR][call.result["message_id"]]
    before = (preview.visible_text, preview.reply_markup)
    related = [(text, data) for text, data in buttons(preview) if text.startswith("🔗")]
    assert related, "the preview shows related stories"

    mark = api.mark()
    answer = await _tap(herald, preview, related[0][1], EDITOR)
    assert answer.get("text") is None and answer.get("url") is None
    opened = await api.wait_for(
        "sendMessage", lambda c: int(c.params["chat_id"]) == EDITOR, after=mark
    )
    story = api.messages[EDITOR][opened.result["message_id"]]
    assert story.visible_text.startswith(related[0][0].removeprefix("🔗 ").rstrip("…"))
    assert (preview.visible_text, preview.reply_markup) == before, "the preview is untouched"
    assert preview.edit_count == 0

    mark = api.mark()
    answer = await _tap(herald, preview, button_data(preview, "✅ Publish"), EDITOR)
    confirmed = await api.wait_for(
        "sendMessage", lambda c: int(c.params["chat_id"]) == EDITOR, after=mark
    )
    assert "✅ Published" in api.messages[EDITOR][confirmed.result["message_id"]].visible_text
    page = await herald.send("/latest port news")
    assert "Harbour reopens after the long strike" in page.visible_text


async def test_a_headline_in_a_digest_opens_below_it(herald: Herald, db: Database) -> None:
    """The same mistake as the preview's: a digest holds several stories, and turning it into
    the one tapped lost the others (its "Back" led to /latest, not to the digest)."""
    api = herald.api
    await herald.send("/subscribe")
    await herald.send("/digest daily 08:00")
    assert herald.services.worker is not None
    herald.services.worker.clock = lambda: 1_780_000_000.0  # 2026-05-28 20:26 UTC: held
    await herald.publish(article("First waiting story"), article("Second waiting story"))

    async def both_held() -> bool:
        query = "SELECT count(*) FROM outbox WHERE chat_id = ? AND held = 1"
        return await db.scalar(query, (READER,)) == 2

    await eventually(both_held)
    mark = api.mark()
    api.send_text("/digest off", chat_id=READER)  # what waited goes out at once, as one digest
    sent = await api.wait_for(
        "sendMessage",
        lambda c: int(c.params["chat_id"]) == READER and "Your news digest" in c.params["text"],
        after=mark,
    )
    # The reply to /digest off and the digest race each other; both are out before the tap.
    await api.wait_for(
        "sendMessage",
        lambda c: int(c.params["chat_id"]) == READER and "as soon as" in c.params["text"],
        after=mark,
    )
    digest = api.messages[READER][sent.result["message_id"]]
    before = (digest.visible_text, digest.reply_markup)

    mark = api.mark()
    answer = await _tap(herald, digest, button_data(digest, "2."), READER)
    assert answer.get("text") is None
    opened = await api.wait_for(
        "sendMessage", lambda c: int(c.params["chat_id"]) == READER, after=mark
    )
    assert api.messages[READER][opened.result["message_id"]].visible_text.startswith(
        "Second waiting story"
    )
    assert (digest.visible_text, digest.reply_markup) == before and digest.edit_count == 0
