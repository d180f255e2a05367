"""Tests for the fake Telegram Bot API, driven by a real PTB ``Bot`` over HTTP on 127.0.0.1.

PTB is deliberately not mocked: the double is only useful if PTB's real request encoding
(form fields, JSON-encoded markups, multipart uploads) and error mapping work against it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.sandbox import updates as tg
from bot.sandbox.fake_api import ApiCall, FakeBotAPI
from bot.sandbox.telegram_html import parse_html, utf16_len

CHAT = 4242


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


async def test_base_urls_and_get_me(api: FakeBotAPI, bot: telegram.Bot) -> None:
    assert api.base_url.startswith("http://127.0.0.1:") and api.base_url.endswith("/bot")
    assert api.base_file_url == api.base_url.removesuffix("/bot") + "/file/bot"
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        123456,
        "HeraldTestBot",
        "Herald",
        True,
    )
    assert me.can_join_groups is True
    assert api.calls_of("getMe") and api.calls_of("get_me") == api.calls_of("GETME")


async def test_wrong_token_is_unauthorized(api: FakeBotAPI) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG", base_url=api.base_url):
            pass
    assert api.calls == []


async def test_unknown_method_is_404(api: FakeBotAPI, bot: telegram.Bot) -> None:
    with pytest.raises(telegram.error.EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": CHAT})


async def test_send_edit_delete_round_trip(api: FakeBotAPI, bot: telegram.Bot) -> None:
    sent = await bot.send_message(
        CHAT, "<b>Top</b> news: 42", parse_mode="HTML", reply_markup=keyboard("more")
    )
    assert sent.message_id == 1 and sent.chat.type == "private"
    assert sent.text == "Top news: 42" and sent.entities[0].type == "bold"
    assert sent.from_user is not None and sent.from_user.id == api.bot_id
    assert sent.reply_markup == keyboard("more")

    stored = api.last_message(CHAT)
    assert stored is not None and stored.text == "<b>Top</b> news: 42"
    assert stored.reply_markup == {"inline_keyboard": [[{"text": "more", "callback_data": "more"}]]}
    # A numeric-looking text must stay a string (PTB sends strings raw, other values as JSON).
    assert (await bot.send_message(CHAT, "123")).text == "123"
    assert api.calls_of("sendMessage")[-1].params["text"] == "123"

    edited = await bot.edit_message_text("Old news", chat_id=CHAT, message_id=1)
    assert isinstance(edited, telegram.Message) and edited.edit_date is not None
    assert stored.edited and stored.edit_count == 1
    assert stored.reply_markup is None, "editMessageText without markup drops the keyboard"
    assert stored.history[0]["text"] == "<b>Top</b> news: 42"

    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Old news", chat_id=CHAT, message_id=1)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=99)
    await bot.edit_message_reply_markup(CHAT, 1, reply_markup=keyboard("a"))
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_reply_markup(CHAT, 1, reply_markup=keyboard("a"))

    assert await bot.delete_message(CHAT, 1) is True
    assert stored.deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(CHAT, 1)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("again", chat_id=CHAT, message_id=1)
    assert (await bot.send_message(CHAT, "next")).message_id == 3


async def test_photo_url_upload_and_caption(api: FakeBotAPI, bot: telegram.Bot) -> None:
    by_url = await bot.send_photo(
        CHAT, "https://example.com/a.jpg", caption="<i>Pic</i>", parse_mode="HTML"
    )
    assert by_url.caption == "Pic" and by_url.photo
    uploaded = await bot.send_photo(CHAT, b"\x89PNG fake bytes")
    photo = api.calls_of("sendPhoto")[-1].params["photo"]
    assert photo.data == b"\x89PNG fake bytes"
    resent = await bot.send_photo(CHAT, uploaded.photo[-1].file_id)
    assert resent.photo
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(CHAT, "not-a-file-id")
    with pytest.raises(BadRequest, match="caption is too long"):
        await bot.send_photo(CHAT, "https://example.com/b.jpg", caption="c" * 1025)
    await bot.edit_message_caption(CHAT, by_url.message_id, caption="New")
    assert api.messages[CHAT][by_url.message_id].caption == "New"
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("t", chat_id=CHAT, message_id=by_url.message_id)


async def test_document_upload_get_file_and_download(api: FakeBotAPI, bot: telegram.Bot) -> None:
    data = b'<?xml version="1.0"?><opml version="2.0"><body/></opml>\n'
    sent = await bot.send_document(
        CHAT,
        telegram.InputFile(data, filename="feeds.opml"),
        caption="<b>Feeds</b> list",
        parse_mode="HTML",
    )
    document = sent.document
    assert (document.file_name, document.file_size) == ("feeds.opml", len(data))
    assert sent.caption == "Feeds list" and sent.text is None
    stored = api.last_message(CHAT)
    assert stored is not None and stored.caption == "<b>Feeds</b> list"
    upload = api.file(stored.document)
    assert (upload.filename, upload.data) == ("feeds.opml", data)
    assert api.delivery_counts("sendDocument") == {CHAT: 1}

    file = await bot.get_file(document.file_id)
    assert file.file_size == len(data) and file.file_path.startswith(api.base_file_url)
    assert bytes(await file.download_as_bytearray()) == data
    assert api.downloads == [file.file_path.rsplit(api.token + "/", 1)[1]]
    again = await bot.get_file(document.file_id)
    assert again.file_path == file.file_path, "one path a file, as live"

    resent = await bot.send_document(CHAT, document.file_id)
    assert resent.document.file_id == document.file_id
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(CHAT, "not-a-file-id")
    with pytest.raises(BadRequest, match="no text in the message"):
        await bot.edit_message_text("t", chat_id=CHAT, message_id=sent.message_id)
    edited = await bot.edit_message_caption(CHAT, sent.message_id, caption="Renamed")
    assert edited.caption == "Renamed" and edited.document.file_name == "feeds.opml"
    with pytest.raises(BadRequest, match="Wrong file_id or the file is temporarily unavailable"):
        await bot.get_file("BQACAgNever")


async def test_download_refuses_unknown_paths_and_wrong_tokens(api: FakeBotAPI) -> None:
    import aiohttp

    api.send_document(CHAT, None, "a.xml", b"<x/>")
    file_id = api.updates[-1]["message"]["document"]["file_id"]
    async with telegram.Bot(
        api.token, base_url=api.base_url, base_file_url=api.base_file_url
    ) as client:
        path = (await client.get_file(file_id)).file_path.rsplit("/", 2)
    base = api.base_file_url
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}{api.token}/{path[-2]}/{path[-1]}") as response:
            assert response.status == 200 and await response.read() == b"<x/>"
        async with session.get(f"{base}{api.token}/documents/never.xml") as response:
            assert response.status == 404
        async with session.get(f"{base}1:bad/{path[-2]}/{path[-1]}") as response:
            assert response.status == 401


async def test_user_sends_a_document(api: FakeBotAPI, bot: telegram.Bot) -> None:
    data = b"<opml><body><outline xmlUrl='http://a.example/rss'/></body></opml>"
    queued = api.send_document(CHAT, None, "my feeds.opml", data, caption="#world feeds")
    (update,) = await bot.get_updates(timeout=1)
    assert update.update_id == queued["update_id"]
    message = update.message
    assert message.from_user.id == CHAT and message.chat.type == "private"
    document = message.document
    assert (document.file_name, document.file_size) == ("my feeds.opml", len(data))
    assert message.caption == "#world feeds"
    assert message.parse_caption_entities() == {message.caption_entities[0]: "#world"}
    downloaded = await (await bot.get_file(document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == data

    api.send_document(-100, 7, "report.xml", b"<r/>", mime_type="text/xml")
    (group_update,) = await bot.get_updates(offset=update.update_id + 1, timeout=1)
    assert group_update.message.chat.type == "supergroup"
    assert group_update.message.from_user.id == 7
    assert group_update.message.document.mime_type == "text/xml"
    assert group_update.message.caption is None


async def test_user_sends_a_photo(api: FakeBotAPI, bot: telegram.Bot) -> None:
    bold = [{"type": "bold", "offset": 0, "length": 5}]
    api.send_photo(CHAT, None, caption="Storm hits the coast", caption_entities=bold)
    api.send_photo(CHAT, None)
    api.send_photo(CHAT, None, caption="see https://example.com")
    first, bare, linked = await bot.get_updates(timeout=1)
    sizes = first.message.photo
    assert len(sizes) == 3 and len({size.file_id for size in sizes}) == 3
    assert [s.width for s in sizes] == sorted(s.width for s in sizes), "smallest first"
    assert [s.file_size for s in sizes] == sorted(s.file_size for s in sizes)
    assert first.message.caption == "Storm hits the coast"
    assert first.message.parse_caption_entities() == {first.message.caption_entities[0]: "Storm"}
    largest = await bot.get_file(sizes[-1].file_id)
    jpeg = bytes(await largest.download_as_bytearray())
    assert len(jpeg) == sizes[-1].file_size == largest.file_size
    assert jpeg.startswith(b"\xff\xd8\xff") and jpeg.endswith(b"\xff\xd9")
    assert largest.file_path.split("/")[-2] == "photos"
    assert bare.message.caption is None and bare.message.photo[0].file_id != sizes[0].file_id
    assert [e.type for e in linked.message.caption_entities] == ["url"]
    assert api.file(sizes[0].file_id).content_type == "image/jpeg"


@pytest.mark.parametrize(
    "text",
    ["<b>bold</i>", "<blink>x</blink>", "a < b", "AT&T", "<b>open", "<span>s</span>", "</b>"],
)
async def test_invalid_html_is_rejected(bot: telegram.Bot, text: str) -> None:
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(CHAT, text, parse_mode="HTML")


async def test_valid_html_passes(api: FakeBotAPI, bot: telegram.Bot) -> None:
    text = (
        'AT&amp;T &lt;3 &#128512; <a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x = 1</code></pre> <tg-spoiler>s</tg-spoiler> '
        "<blockquote expandable>q</blockquote> a > b"
    )
    sent = await bot.send_message(CHAT, text, parse_mode="HTML")
    assert sent.text == "AT&T <3 😀 link x = 1 s q a > b"
    kinds = {e.type: e for e in sent.entities}
    assert kinds["text_link"].url == "https://x.org/?a=1&b=2"
    assert kinds["pre"].language == "python"
    # Without parse_mode the very same characters are plain text.
    assert (await bot.send_message(CHAT, "a < b & <blink>")).text == "a < b & <blink>"


async def test_text_length_limits_in_utf16(bot: telegram.Bot) -> None:
    await bot.send_message(CHAT, "x" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    # Markup does not count, only the visible text does.
    await bot.send_message(CHAT, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    # An emoji outside the BMP is 2 UTF-16 code units: 4094 + 2 fits, 4095 + 2 does not.
    await bot.send_message(CHAT, "x" * 4094 + "😀")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "x" * 4095 + "😀")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(CHAT, "<b> </b>", parse_mode="HTML")


async def test_inline_keyboard_validation(api: FakeBotAPI, bot: telegram.Bot) -> None:
    await bot.send_message(CHAT, "ok", reply_markup=keyboard("d" * 64))
    await bot.send_message(CHAT, "ok", reply_markup=keyboard("я" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(CHAT, "too long", reply_markup=keyboard("d" * 65))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(CHAT, "cyrillic", reply_markup=keyboard("я" * 32 + "x"))
    many = InlineKeyboardMarkup(
        [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    )
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "many", reply_markup=many)
    assert len(api.messages[CHAT]) == 2, "rejected calls leave no state behind"


async def test_long_polling_delivers_update_pushed_while_waiting(
    api: FakeBotAPI, bot: telegram.Bot
) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done(), "long polling must wait for an update"
    pushed = api.send_text("/start@HeraldTestBot hello", chat_id=CHAT, username="alice")
    (update,) = await asyncio.wait_for(poll, 2)
    assert update.update_id == pushed["update_id"]
    assert update.message.text == "/start@HeraldTestBot hello"
    entity = update.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 20)
    assert update.effective_user.username == "alice"

    # Not confirmed yet -> delivered again; confirmed by offset -> gone.
    assert len(await bot.get_updates(timeout=0)) == 1
    api.send_text("second", chat_id=CHAT)
    again = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert [u.message.text for u in again] == ["second"]
    api.send_text("third", chat_id=CHAT)
    api.send_text("fourth", chat_id=CHAT)
    limited = await bot.get_updates(offset=again[0].update_id + 1, limit=1, timeout=0)
    assert [u.message.text for u in limited] == ["third"]
    api.send_text("/Start", chat_id=CHAT)
    assert len(await bot.get_updates(offset=-1)) == 1, "negative offset keeps only the tail"
    waited = time.monotonic()
    last = (await bot.get_updates(offset=-1))[0].update_id
    assert await bot.get_updates(offset=last + 1, timeout=timedelta(seconds=0.3)) == ()
    assert 0.25 < time.monotonic() - waited < 1
    assert time.monotonic() - started < 3


async def test_second_poller_gets_conflict(api: FakeBotAPI, bot: telegram.Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    async with telegram.Bot(api.token, base_url=api.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=5))
        with pytest.raises(telegram.error.Conflict, match="terminated by other getUpdates"):
            await asyncio.wait_for(first, 2)
        api.send_text("hi", chat_id=CHAT)
        assert len(await asyncio.wait_for(second, 2)) == 1


async def test_application_polling_end_to_end(api: FakeBotAPI) -> None:
    async def start(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b>", reply_markup=keyboard("go"))

    async def pressed(update: telegram.Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Going")
        await update.callback_query.edit_message_text("Gone")

    app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=5, poll_interval=0)
        api.send_text("/start@HeraldTestBot", chat_id=CHAT)
        welcome = await api.wait_for("sendMessage", timeout=3)
        assert welcome.result["text"] == "Welcome" and welcome.params["parse_mode"] == "HTML"
        press = api.press_button(CHAT, welcome.result["message_id"], "go")
        await api.wait_for("editMessageText", timeout=3)
        assert api.answers_for(press["callback_query"]["id"])[0]["text"] == "Going"
        assert api.last_message(CHAT).text == "Gone"
        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
        assert time.monotonic() - started < 2
    assert not [call for call in api.calls if not call.ok]


async def test_stop_releases_pending_long_poll() -> None:
    api = FakeBotAPI()
    await api.start()
    async with telegram.Bot(api.token, base_url=api.base_url) as bot:
        poll = asyncio.create_task(bot.get_updates(timeout=30))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await api.stop()
        assert await asyncio.wait_for(poll, 3) == ()
        assert time.monotonic() - started < 2


async def test_press_button_and_answer_callback_query(api: FakeBotAPI, bot: telegram.Bot) -> None:
    sent = await bot.send_message(CHAT, "Pick", reply_markup=keyboard("like:1", "skip"))
    with pytest.raises(LookupError):
        api.press_button(CHAT, sent.message_id, "nope")
    update_dict = api.press_button(CHAT, sent.message_id, "like:1")
    (update,) = await bot.get_updates(timeout=1)
    query = update.callback_query
    assert query.data == "like:1" and query.from_user.id == CHAT
    assert query.message.message_id == sent.message_id and query.message.text == "Pick"
    assert query.id == update_dict["callback_query"]["id"]

    with pytest.raises(BadRequest, match="Message_too_long"):
        await query.answer("x" * 201)
    assert await query.answer("Saved", show_alert=True) is True
    assert api.answers_for(query.id)[0]["text"] == "Saved"
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("twice")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("12345")


async def test_callback_answer_url_must_open_this_bot(api: FakeBotAPI, bot: telegram.Bot) -> None:
    """Outside games, answerCallbackQuery's url may only open the bot with a start parameter."""
    sent = await bot.send_message(CHAT, "Pick", reply_markup=keyboard("like:1"))
    refused = [
        "https://example.com/",
        "https://t.me/SomeOtherBot?start=a_1",
        "https://t.me/HeraldTestBot",
        "https://t.me/HeraldTestBot?start=",
        "https://t.me/HeraldTestBot?start=" + "x" * 65,
        "https://t.me/HeraldTestBot?start=a b",
        "tg://resolve?domain=HeraldTestBot&start=a_1",
    ]
    for url in refused:
        api.press_button(CHAT, sent.message_id, "like:1")
        (update,) = await bot.get_updates(offset=-1, timeout=1)
        with pytest.raises(BadRequest, match="Url_invalid"):
            await update.callback_query.answer(url=url)
    for url in ("https://t.me/HeraldTestBot?start=a_1", "t.me/heraldtestbot?start=x-Y_9"):
        api.press_button(CHAT, sent.message_id, "like:1")
        (update,) = await bot.get_updates(offset=-1, timeout=1)
        assert await update.callback_query.answer(url=url) is True
        assert api.answers_for(update.callback_query.id)[0]["url"] == url


async def test_a_channel_post_is_sent_as_the_channel(api: FakeBotAPI, bot: telegram.Bot) -> None:
    """As live: no ``from``, the channel as ``sender_chat``; a tap still names the presser."""
    api.register_chat(-1009, "channel", title="Wire")
    post = await bot.send_message(-1009, "News", reply_markup=keyboard("read"))
    assert post.from_user is None and post.sender_chat is not None
    assert post.sender_chat.id == -1009
    api.press_button(-1009, post.message_id, "read", user_id=77)
    (update,) = await bot.get_updates(timeout=1)
    assert update.callback_query.from_user.id == 77
    assert update.callback_query.message.sender_chat.id == -1009


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_fail_next_maps_to_ptb_exceptions(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.fail_next("sendMessage", CHAT, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(CHAT, "hi")
    retry_after = flood.value.retry_after  # int or timedelta, depending on PTB_TIMEDELTA
    assert getattr(retry_after, "total_seconds", lambda: retry_after)() == 7
    api.fail_next("send_message", -100, migrate_to_chat_id=-1001234)
    api.register_chat(-100, "group", title="Old group")
    await bot.send_message(CHAT, "other chat unaffected")
    with pytest.raises(ChatMigrated) as migrated:
        await bot.send_message(-100, "hi")
    assert migrated.value.new_chat_id == -1001234
    api.fail_next("getMe", error_code=502, description="Bad Gateway")
    with pytest.raises(telegram.error.NetworkError, match="Bad Gateway"):
        await bot.get_me()
    await bot.send_message(-100, "recovered")
    failed = [call for call in api.calls if not call.ok]
    assert [call.error["error_code"] for call in failed] == [429, 400, 502]
    assert failed[0].error["parameters"] == {"retry_after": 7}
    assert len(api.messages[CHAT]) == 1


async def test_chat_members_and_forbidden(api: FakeBotAPI, bot: telegram.Bot) -> None:
    group = -1001
    api.register_chat(group, "supergroup", title="News room", username="newsroom")
    api.set_chat_member(group, 1, "creator")
    api.set_chat_member(group, api.bot_id, "administrator")
    api.set_chat_member(group, 3, "left")
    api.set_chat_member(group, 4, "kicked")
    api.set_chat_member(group, 5, "restricted")
    expected = {
        1: "creator",
        api.bot_id: "administrator",
        3: "left",
        4: "kicked",
        5: "restricted",
        6: "member",
    }
    for user_id, status in expected.items():
        member = await bot.get_chat_member(group, user_id)
        assert member.status == status and member.user.id == user_id
    assert isinstance(await bot.get_chat_member(group, 1), telegram.ChatMemberOwner)
    admin = await bot.get_chat_member(group, api.bot_id)
    assert isinstance(admin, telegram.ChatMemberAdministrator) and admin.can_delete_messages
    admins = await bot.get_chat_administrators("@newsroom")
    assert {m.user.id for m in admins} == {1, api.bot_id}
    chat = await bot.get_chat(group)
    assert (chat.type, chat.title) == ("supergroup", "News room")

    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(-555, "nobody home")
    api.set_chat_member(CHAT, api.bot_id, "kicked")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(CHAT, "hello?")
    assert await bot.leave_chat(group) is True
    with pytest.raises(Forbidden, match="not a member"):
        await bot.send_message(group, "hello?")


async def test_my_chat_member_update(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.set_bot_membership(-2002, "administrator", chat_type="group", title="Team")
    api.set_bot_membership(CHAT, "kicked")
    added, blocked = await bot.get_updates(timeout=1)
    change = added.my_chat_member
    assert change.chat.type == "group" and change.chat.title == "Team"
    assert (change.old_chat_member.status, change.new_chat_member.status) == (
        "left",
        "administrator",
    )
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert blocked.my_chat_member.from_user.id == CHAT


async def test_commands_and_misc_methods(api: FakeBotAPI, bot: telegram.Bot) -> None:
    commands = [("start", "Start the bot"), ("digest", "Today's digest")]
    assert await bot.set_my_commands(commands)
    ru = telegram.BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands([("start", "Старт")], scope=ru, language_code="ru")
    got = await bot.get_my_commands()
    assert [(c.command, c.description) for c in got] == commands
    assert [c.command for c in await bot.get_my_commands(scope=ru, language_code="ru")] == ["start"]
    assert api.commands_for(ru.to_dict(), "ru")[0]["description"] == "Старт"
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([("Start", "upper case is invalid")])
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()

    assert await bot.delete_webhook(drop_pending_updates=True)
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.send_chat_action(CHAT, "typing")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(CHAT, "dancing")
    assert await bot.set_chat_menu_button(CHAT, telegram.MenuButtonCommands())
    assert api.menu_buttons[CHAT] == {"type": "commands"}
    assert await bot.answer_inline_query(api.send_inline_query(CHAT, ""), [])


async def test_wait_for_mark_and_listeners(api: FakeBotAPI, bot: telegram.Bot) -> None:
    seen: list[ApiCall] = []
    api.on_call.append(seen.append)
    api.on_call.append(lambda call: 1 / 0)  # a broken listener must not break the server
    await bot.send_message(CHAT, "first")
    cursor = api.mark()
    later = asyncio.create_task(
        api.wait_for("send_message", lambda c: c.params["text"] == "second", after=cursor)
    )
    await asyncio.sleep(0.05)
    assert not later.done()
    await bot.send_message(CHAT, "second")
    call = await asyncio.wait_for(later, 2)
    assert call.params["chat_id"] == CHAT and call.ok and call.result["text"] == "second"
    assert (await api.wait_for("sendMessage")).params["text"] == "first"
    assert [c.method for c in seen] == ["sendMessage", "sendMessage"]
    with pytest.raises(TimeoutError, match="sendMessage"):
        await api.wait_for("sendMessage", after=api.mark(), timeout=0.1)


async def test_latency_is_applied(api: FakeBotAPI, bot: telegram.Bot) -> None:
    api.latency = 0.2
    started = time.monotonic()
    await bot.send_message(CHAT, "slow")
    assert time.monotonic() - started >= 0.2


async def test_json_and_get_requests_are_understood(api: FakeBotAPI) -> None:
    import aiohttp

    url = f"{api.base_url}{api.token}"
    async with aiohttp.ClientSession() as session:
        markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
        async with session.post(
            f"{url}/SENDMESSAGE", json={"chat_id": CHAT, "text": "42", "reply_markup": markup}
        ) as response:
            body = await response.json()
        assert body["ok"] and body["result"]["text"] == "42"
        async with session.get(f"{url}/getMe") as response:
            assert (await response.json())["result"]["username"] == "HeraldTestBot"
        async with session.get(f"{api.base_url}1:bad/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with session.post(f"{url}/nope") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found: method not found"
    assert api.last_message(CHAT).reply_markup == markup


def test_update_builders_are_ptb_compatible() -> None:
    bot_user = tg.user_dict(1, "Herald", username="HeraldTestBot", is_bot=True)
    text = "😀 /digest@HeraldTestBot now, see https://example.com #news @someone"
    update = tg.text_message_update(
        7, text, chat_id=-100, message_id=3, user_id=9, chat_type="supergroup", title="G"
    )
    parsed = telegram.Update.de_json(update, None)
    assert parsed.effective_chat.type == "supergroup"
    entities = parsed.message.parse_entities()
    assert sorted(entities.values()) == sorted(
        ["/digest@HeraldTestBot", "https://example.com", "#news", "@someone"]
    )
    (command,) = [e for e in parsed.message.entities if e.type == "bot_command"]
    assert command.offset == 3, "offsets count UTF-16 units: the emoji takes two"
    member = tg.my_chat_member_update(
        8,
        chat=tg.chat_dict(5),
        from_user=tg.user_dict(5),
        bot_user=bot_user,
        old_status="member",
        new_status="kicked",
    )
    assert telegram.Update.de_json(member, None).my_chat_member.new_chat_member.status == "kicked"
    document = tg.document_dict("BQ1", "a.opml", None, 12)
    assert document == {
        "file_id": "BQ1",
        "file_unique_id": "UBQ1",
        "file_name": "a.opml",
        "file_size": 12,
    }
    assert telegram.Document.de_json(document, None).file_name == "a.opml"
    assert utf16_len("a😀") == 3
    assert parse_html("<b>a</b>😀<i>b</i>").entities[1] == {
        "type": "italic",
        "offset": 3,
        "length": 1,
    }
