"""A fake Telegram Bot API server for the terminal sandbox and the test-suite.

:class:`FakeBotAPI` is a real HTTP server on 127.0.0.1 speaking the Bot API wire protocol, so
the bot under test runs its unmodified python-telegram-bot stack (its HTTP transport, retries,
``Updater`` long polling, file downloads) against it: point ``Bot(base_url=api.base_url,
base_file_url=api.base_file_url)`` or the ``ApplicationBuilder`` equivalents at it. Mocking
PTB would hide exactly the bugs this double exists to catch: HTML Telegram refuses, texts over
4096 UTF-16 units, 65-byte ``callback_data``, unanswered or double-answered callback queries,
flood-wait handling.

State is kept in plain, inspectable attributes (``calls``, ``messages``, ``chats``, ``files``...).
The user side (``send_text``, ``send_document``, ``send_photo``, ``press_button``,
``send_inline_query``...) queues updates that ``getUpdates`` delivers; inline answers are checked
like Telegram checks them (:mod:`bot.sandbox.fake_inline`) and kept for ``inline_answer``.

Webhooks: after ``setWebhook`` the queued updates are POSTed to the bot's URL with the secret
header instead (``getUpdates`` then answers 409), repeated until answered 2xx; ``webhook``
shows the URL, the secret and what was delivered (:mod:`bot.sandbox.fake_webhook`).

Files: what the bot uploads (``sendPhoto``, ``sendDocument``) and what users send is kept in
``files`` by file_id; ``getFile`` gives it a ``file_path`` and ``GET /file/bot<token>/<path>``
serves the bytes, so a handler that downloads a user's file runs PTB's real download code.
Everything runs on one event loop; call the user-side methods from that loop's thread.

Delivery under load: ``limits=FloodLimits()`` enforces Telegram's flood limits (429 with
``retry_after``, semantics in :mod:`bot.sandbox.fake_limits`), ``stats`` counts accepted and
rejected sends, ``fail_chat`` makes one chat fail persistently (blocked, migrated, timing out,
400, 5xx) and ``delivered``/``delivery_counts`` check for losses and duplicates. Per-request
work is O(1); ``record_calls=False`` stops growing ``calls`` in long benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import mimetypes
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.sandbox import telegram_html as rules
from bot.sandbox import updates as tg
from bot.sandbox.fake_inline import check_inline_answer
from bot.sandbox.fake_limits import (
    COUNTED_METHODS,
    ChatFailure,
    FailKind,
    FloodLimits,
    SendStats,
    chat_failure,
)
from bot.sandbox.fake_state import (
    JSON,
    NOT_MODIFIED,
    OBJECT_PARAMS,
    ApiCall,
    ApiError,
    InjectedFailure,
    SentMessage,
    UploadedFile,
    as_int,
    bad_request,
    canonical_key,
    decode_form_value,
)
from bot.sandbox.fake_webhook import Webhook, WebhookPusher, checked_webhook
from bot.sandbox.telegram_html import ParsedText, Rejected

__all__ = [
    "JSON",
    "NOT_MODIFIED",
    "ApiCall",
    "ApiError",
    "FailKind",
    "FakeBotAPI",
    "FloodLimits",
    "SendStats",
    "SentMessage",
    "UploadedFile",
    "bad_request",
]

log = logging.getLogger("herald.fakeapi")

Handler = Callable[[JSON], Any]

DEFAULT_GROUP_USER_ID = 1001  # "someone in the group" when a test does not care who
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files, as the cloud Bot API does
# answerCallbackQuery's url outside games: a link that opens the bot with a start parameter.
_START_LINK = re.compile(
    r"(?:https?://)?(?:t|telegram)\.me/([A-Za-z][A-Za-z0-9_]{3,31})\?start=[A-Za-z0-9_-]{1,64}"
)
_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)


def _fake_jpeg(size: int) -> bytes:
    """``size`` bytes framed like a JPEG (SOI, JFIF header, padding, EOI); not a real picture."""
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    tail = b"\xff\xd9"
    return head + bytes(max(size - len(head) - len(tail), 0)) + tail


class FakeBotAPI:
    """In-process fake of ``api.telegram.org`` for one bot; see the module docstring.

    ``latency`` delays every answer but getUpdates' (concurrently: an ``asyncio.sleep`` per
    request). ``limits`` enforces Telegram's flood limits (None: off; settable later as
    ``api.limits``). ``record_calls=False`` keeps ``calls`` empty for long benchmarks: then
    ``wait_for``/``calls_of``/``mark`` see nothing, while ``stats``, ``messages``,
    ``delivery_counts`` and ``on_call`` listeners keep working.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_id: int = 123456,
        bot_username: str = "HeraldTestBot",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        latency: float = 0.0,
        limits: FloodLimits | None = None,
        record_calls: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.host = host
        self.latency = latency  # seconds added to every call except getUpdates
        self.limits = limits  # Telegram's flood limits; None: not enforced (still counted)
        self.record_calls = record_calls  # False: ``calls`` stays empty (listeners still run)
        self.stats = SendStats()
        self.calls: list[ApiCall] = []
        self.on_call: list[Callable[[ApiCall], None]] = []
        self.messages: dict[int, dict[int, SentMessage]] = {}
        # What users wrote, by (chat, message id), so a user can reply to their own message.
        self.user_messages: dict[tuple[int, int], JSON] = {}
        self.chats: dict[int, JSON] = {}
        self.members: dict[tuple[int, int], str] = {}
        self.users: dict[int, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.files: dict[str, UploadedFile | str] = {}  # file_id -> upload or source URL
        self.downloads: list[str] = []  # file_path of every file the bot downloaded
        self._file_paths: dict[str, str] = {}  # file_path (from getFile) -> file_id
        self.updates: list[JSON] = []  # every update ever queued, for inspection
        self.bot_user = tg.user_dict(bot_id, "Herald", username=bot_username, is_bot=True)
        self.supports_inline_queries = True  # getMe's flag (inline mode on in @BotFather)
        self.inline_queries: dict[str, JSON] = {}  # every InlineQuery sent, by id
        self.inline_answers: dict[str, JSON] = {}  # the accepted answerInlineQuery params
        self._port = port
        self._runner: web.AppRunner | None = None
        self._pending: list[JSON] = []
        self._allowed_updates: set[str] | None = None
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._file_ids = itertools.count(1)
        self._next_message_id: dict[int, int] = {}
        self._queries: dict[str, JSON] = {}
        self._answers: dict[str, list[JSON]] = {}
        self._failures: list[InjectedFailure] = []
        self._chat_failures: dict[int, ChatFailure] = {}
        self._deliveries: dict[str, dict[int, int]] = {
            "sendMessage": {},
            "sendPhoto": {},
            "sendDocument": {},
        }
        self._poll_generation = 0
        self._webhook: WebhookPusher | None = None  # set: updates are POSTed, not polled
        self._stopping = False
        self._wakeup = asyncio.Event()
        self._methods: dict[str, Handler] = {
            "getMe": lambda p: {
                **tg.bot_info_dict(self.bot_user),
                "supports_inline_queries": self.supports_inline_queries,
            },
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": lambda p: True,
            "close": lambda p: True,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda p: list(self.commands.get(self._commands_key(p), [])),
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getChatMember": self._get_chat_member,
            "getChat": self._get_chat,
            "getChatAdministrators": self._get_chat_administrators,
            "sendChatAction": self._send_chat_action,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": lambda p: self.menu_buttons.get(
                as_int(p, "chat_id", required=False), {"type": "default"}
            ),
            "answerInlineQuery": self._answer_inline_query,
            "leaveChat": self._leave_chat,
        }
        # Telegram matches method names case-insensitively; helpers also accept snake_case.
        self._http_names = {name.lower(): name for name in self._methods}
        self._canonical = {canonical_key(name): name for name in self._methods}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind the HTTP server; ``port=0`` picks a free port (read it from ``base_url``)."""
        self._stopping = False
        self._wakeup = asyncio.Event()
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._download)
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._port).start()
        self._port = self._runner.addresses[0][1]
        log.info("fake Bot API listening on %s", self.base_url)

    async def stop(self) -> None:
        """Release pending long polls (they return ``[]``) and shut the server down."""
        self._stopping = True
        self._notify()
        await self._drop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("fake Bot API stopped")

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """Value for ``Bot(base_url=...)``: PTB appends ``<token>/<method>``."""
        if self._runner is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://{self.host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """Value for ``Bot(base_file_url=...)``: PTB appends ``<token>/<file_path>``.

        Derived like ``Settings.file_url`` derives Telegram's from the base URL.
        """
        return self.base_url.removesuffix("/bot") + "/file/bot"

    # ------------------------------------------------------------------ inspection

    def mark(self) -> int:
        """Cursor for :meth:`wait_for`'s ``after``: only calls recorded later will match."""
        return len(self.calls)

    def calls_of(self, method: str) -> list[ApiCall]:
        """All recorded calls of ``method`` (any spelling: "sendMessage", "send_message")."""
        name = self._canonical_name(method)
        return [call for call in self.calls if call.method == name]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the documented test API
        after: int | None = None,
    ) -> ApiCall:
        """First recorded call of ``method`` (from index ``after``, default 0) that matches.

        Returns as soon as the bot makes such a call; failed calls match too (check ``ok``).
        Raises ``TimeoutError`` listing the calls seen, which is usually the useful clue.
        """
        name = self._canonical_name(method)
        found: list[ApiCall] = []

        def check() -> bool:
            for call in self.calls[after or 0 :]:
                if call.method == name and (predicate is None or predicate(call)):
                    found.append(call)
                    return True
            return False

        if not await self._wait_until(check, timeout):
            seen = [call.method for call in self.calls[after or 0 :]][-20:]
            raise TimeoutError(f"no matching {name} call within {timeout}s; calls seen: {seen}")
        return found[0]

    def last_message(self, chat_id: int) -> SentMessage | None:
        """The bot's most recent message in the chat (possibly deleted: see ``.deleted``)."""
        chat = self.messages.get(chat_id)
        return chat[max(chat)] if chat else None

    def delivered(self, chat_id: int) -> list[SentMessage]:
        """The bot's messages in the chat that were not deleted, oldest first."""
        return [msg for msg in self.messages.get(chat_id, {}).values() if not msg.deleted]

    def delivery_counts(self, method: str = "sendMessage") -> dict[int, int]:
        """Successful ``sendMessage`` (``"sendPhoto"``, ``"sendDocument"``) calls per chat.

        Deletions included. A chat absent from the dict got nothing; a count above 1 for a
        one-message broadcast is a duplicate. Cheap: the counts are kept as messages are stored.
        """
        counts = self._deliveries.get(self._canonical_name(method))
        if counts is None:
            raise ValueError(f"deliveries are counted for {sorted(self._deliveries)}, not {method}")
        return dict(counts)

    def file(self, file_id: str) -> UploadedFile:
        """Name, type and bytes under ``file_id`` (e.g. ``api.file(message.document)``).

        Raises ``LookupError`` for ids the fake never issued and for files sent by URL (the
        fake does not fetch URLs, so it has no bytes for them).
        """
        source = self.files.get(file_id)
        if not isinstance(source, UploadedFile):
            raise LookupError(f"no bytes stored under file_id {file_id!r}")
        return source

    def answers_for(self, callback_query_id: str) -> list[JSON]:
        """Parameters of the successful answerCallbackQuery calls for this query."""
        return self._answers.get(str(callback_query_id), [])

    def inline_answer(self, inline_query_id: str) -> JSON | None:
        """The accepted answerInlineQuery parameters for this query (None: not answered).

        ``results``, ``next_offset``, ``button``, ``cache_time``, ``is_personal`` as the bot
        sent them (JSON-decoded), after the same checks Telegram makes.
        """
        return self.inline_answers.get(str(inline_query_id))

    def commands_for(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """Commands set for exactly this scope dict and language (no fallback, as live)."""
        return self.commands.get(
            self._commands_key({"scope": scope, "language_code": language_code}), []
        )

    # ------------------------------------------------------------------ world setup

    def register_chat(
        self,
        chat_id: int,
        type: str = "private",
        title: str | None = None,
        username: str | None = None,
        forum: bool = False,
    ) -> JSON:
        """Declare a chat and return its Chat dict (``forum``: a supergroup with topics).

        ``type`` is Telegram's chat type ("private", "group", "supergroup", "channel"; non-private
        ids are negative). Unknown negative ids are "chat not found" to the bot, so groups must
        be registered (or created by ``send_text``/``set_bot_membership``) first.
        """
        first_name = self.users.get(chat_id, {}).get("first_name")
        self.chats[chat_id] = tg.chat_dict(
            chat_id, type, title=title, username=username, first_name=first_name
        )
        if forum:
            self.chats[chat_id]["is_forum"] = True
        return self.chats[chat_id]

    def set_chat_member(self, chat_id: int, user_id: int, status: str) -> None:
        """Set a membership; use ``user_id=api.bot_id`` for the bot's own rights/kick/block."""
        if status not in tg.MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {tg.MEMBER_STATUSES}")
        self._ensure_chat(chat_id)
        self.members[(chat_id, user_id)] = status

    def fail_next(
        self,
        method: str,
        chat_id: int | str | None = None,
        *,
        error_code: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail.

        ``retry_after`` yields Telegram's 429 flood-wait (PTB raises ``RetryAfter``),
        ``migrate_to_chat_id`` the group-upgraded error (PTB raises ``ChatMigrated``).
        Checked before any validation, so the call leaves no state behind.
        """
        parameters: JSON = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
            error_code = error_code or 429
            description = description or f"Too Many Requests: retry after {retry_after}"
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
            description = description or "Bad Request: group chat was upgraded to a supergroup"
        error = ApiError(
            error_code or 400, description or "Bad Request: injected failure", parameters or None
        )
        self._failures.append(InjectedFailure(self._canonical_name(method), chat_id, error, times))

    def fail_chat(
        self,
        chat_id: int,
        kind: FailKind,
        *,
        migrate_to: int | None = None,
        hold: float = 30.0,
        times: int | None = None,
        description: str | None = None,
        error_code: int | None = None,
    ) -> None:
        """Make every send/edit to ``chat_id`` fail the way a real chat can, until ``heal_chat``.

        ``kind``: "blocked" (403 blocked by the user / kicked from the group), "migrated" (400
        with ``migrate_to_chat_id``: ``migrate_to``, registered as a supergroup that works),
        "timeout" (the message IS delivered and recorded, but the answer comes after ``hold``
        seconds: the client times out and cannot know), "bad_request" (400 chat not found, or
        ``description``), "server_error" (``error_code`` 500 or 502, once unless ``times``).
        ``times`` limits any kind to that many failing sends. Applies to the counted methods
        (sends and edits), after the flood check: failing sends count as sends.
        """
        chat_type = self.chats.get(chat_id, {}).get("type")
        chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
        if kind == "migrated":
            if chat_id > 0:
                raise ValueError("only a group chat can migrate to a supergroup")
            migrate_to = migrate_to if migrate_to is not None else int(f"-100{abs(chat_id)}")
            title = self.chats.get(chat_id, {}).get("title")
            self.register_chat(migrate_to, "supergroup", title=title)
        self._chat_failures[chat_id] = chat_failure(
            kind,
            chat_type,
            migrate_to=migrate_to,
            hold=hold,
            times=times,
            description=description,
            error_code=error_code,
        )

    def heal_chat(self, chat_id: int) -> None:
        """Undo ``fail_chat``: sends to the chat work again (no-op if it was not failing)."""
        self._chat_failures.pop(chat_id, None)

    # ------------------------------------------------------------------ user side

    def add_update(self, update: JSON) -> JSON:
        """Queue a raw Update dict for getUpdates; ``update_id`` is assigned if missing."""
        update.setdefault("update_id", next(self._update_ids))
        self._pending.append(update)
        self.updates.append(update)
        log.debug("queued update %s (%s)", update["update_id"], tg.update_type(update))
        self._notify()
        return update

    def send_text(
        self,
        text: str,
        *,
        chat_id: int,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Alice",
        username: str | None = None,
        language_code: str | None = "en",
        reply_to: int | None = None,
        forwarded_from: int | str | None = None,
        thread_id: int | None = None,
    ) -> JSON:
        """A user writes ``text`` (commands get bot_command entities). Returns the Update.

        In a private chat the user is the chat (``user_id`` defaults to ``chat_id``); a
        negative ``chat_id`` with the default ``chat_type`` is treated as a supergroup.
        ``reply_to`` is the id of a bot message in the chat the user replies to.
        ``forwarded_from`` makes the message a forward: a user id, or a name for a sender
        who hides their account in forwards (Telegram then gives only the name).
        ``thread_id``: written inside that topic of a forum supergroup.
        """
        if chat_id not in self.chats and chat_id < 0 and chat_type == "private":
            chat_type = "supergroup"
        uid = user_id if user_id is not None else self._default_user(chat_id, chat_type)
        self.users[uid] = tg.user_dict(
            uid, first_name, username=username, language_code=language_code
        )
        if chat_id not in self.chats or self.chats[chat_id]["type"] == "private":
            self.register_chat(
                chat_id,
                self.chats.get(chat_id, {}).get("type", chat_type),
                username=username if chat_id == uid else None,
            )
        message = tg.message_dict(
            self._new_message_id(chat_id),
            self.chats[chat_id],
            self.users[uid],
            text=text,
            entities=tg.detect_entities(text),
        )
        if reply_to is not None:
            message["reply_to_message"] = self._replied(chat_id, reply_to)
        if thread_id is not None:
            if not self.chats[chat_id].get("is_forum"):
                raise ValueError(f"chat {chat_id} has no topics")
            message.update(message_thread_id=thread_id, is_topic_message=True)
        if isinstance(forwarded_from, int):
            sender = self.users.setdefault(forwarded_from, tg.user_dict(forwarded_from, "Bob"))
            message["forward_origin"] = {"type": "user", "date": tg.now(), "sender_user": sender}
        elif isinstance(forwarded_from, str):
            message["forward_origin"] = {
                "type": "hidden_user",
                "date": tg.now(),
                "sender_user_name": forwarded_from,
            }
        self.user_messages[(chat_id, message["message_id"])] = message
        return self.add_update({"update_id": next(self._update_ids), "message": message})

    def _replied(self, chat_id: int, message_id: int) -> JSON:
        """The message a user replies to: one of the bot's, or one the user sent."""
        if (chat_id, message_id) in self.user_messages:
            return self.user_messages[(chat_id, message_id)]
        replied = self.messages.get(chat_id, {}).get(message_id)
        if replied is None or replied.deleted:
            raise LookupError(f"message {message_id} in chat {chat_id} not found")
        return self._message_json(replied)

    def send_document(
        self,
        chat_id: int,
        user_id: int | None,
        filename: str,
        data: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
    ) -> JSON:
        """A user sends a file; returns the Update (its ``message.document`` has the file_id).

        The bytes are stored under a new file_id, so the bot can ``getFile`` and download them.
        ``mime_type`` defaults to a guess from ``filename``, as clients do. ``user_id`` None:
        the chat's user in a private chat, ``DEFAULT_GROUP_USER_ID`` in a group.
        """
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        file_id = f"BQACAgFake{next(self._file_ids):06d}"
        self.files[file_id] = UploadedFile(filename, mime, bytes(data))
        return self._user_message(
            chat_id,
            user_id,
            document=tg.document_dict(file_id, filename, mime, len(data)),
            caption=caption or None,
            caption_entities=(tg.detect_entities(caption) if caption else None) or None,
        )

    def send_photo(
        self,
        chat_id: int,
        user_id: int | None,
        caption: str | None = None,
        caption_entities: list[JSON] | None = None,
    ) -> JSON:
        """A user sends a picture; returns the Update (``message.photo``, smallest size first).

        Each size is a small fake JPEG of exactly its ``file_size`` bytes, stored under its own
        file_id as Telegram does. ``caption_entities`` None: those Telegram detects in the
        caption (commands, links, hashtags); pass a list for formatting (bold, text_link...).
        """
        file_id = f"AgACAgFake{next(self._file_ids):06d}"
        sizes = tg.photo_sizes(file_id)
        for size in sizes:
            self.files[size["file_id"]] = UploadedFile(
                f"{size['file_id']}.jpg", "image/jpeg", _fake_jpeg(size["file_size"])
            )
        if caption_entities is None and caption:
            caption_entities = tg.detect_entities(caption)
        return self._user_message(
            chat_id,
            user_id,
            photo=sizes,
            caption=caption or None,
            caption_entities=caption_entities or None,
        )

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        user_id: int | None = None,
        forged: bool = False,
    ) -> JSON:
        """A user taps the inline button carrying ``callback_data`` on a bot message.

        Raises ``LookupError`` if the message does not exist / was deleted or has no such
        button: a real user could not press it, so the test itself is wrong. ``forged=True``
        sends the data anyway, as a modified client could.
        """
        msg = self.messages.get(chat_id, {}).get(message_id)
        if msg is None or msg.deleted:
            raise LookupError(f"bot message {message_id} in chat {chat_id} not found")
        rows = (msg.reply_markup or {}).get("inline_keyboard", [])
        data = [b.get("callback_data") for row in rows for b in row]
        if callback_data not in data and not forged:
            raise LookupError(f"message {message_id} has no button {callback_data!r}: {data}")
        uid = user_id if user_id is not None else self._default_user(chat_id, None)
        user = self.users.setdefault(uid, tg.user_dict(uid, "Alice"))
        query_id = str(next(self._query_ids))
        update = tg.callback_query_update(
            next(self._update_ids),
            query_id=query_id,
            from_user=user,
            message=self._message_json(msg),
            data=callback_data,
        )
        self._queries[query_id] = update["callback_query"]
        return self.add_update(update)

    def send_inline_query(
        self,
        user_id: int,
        query: str,
        offset: str = "",
        chat_type: str | None = "sender",
        *,
        language_code: str | None = "en",
    ) -> str:
        """A user types ``@bot query`` (scrolled to ``offset``); returns the inline query id.

        Read the bot's answer with :meth:`inline_answer`, or wait for the ``answerInlineQuery``
        call whose ``inline_query_id`` is the returned id.
        """
        user = self.users.get(user_id) or tg.user_dict(
            user_id, "Alice", language_code=language_code
        )
        self.users[user_id] = user
        query_id = str(next(self._query_ids))
        update = tg.inline_query_update(
            next(self._update_ids),
            query_id=query_id,
            from_user=user,
            query=query,
            offset=offset,
            chat_type=chat_type,
        )
        self.inline_queries[query_id] = update["inline_query"]
        self.add_update(update)
        return query_id

    def set_bot_membership(
        self,
        chat_id: int,
        new_status: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        title: str | None = None,
    ) -> JSON:
        """Someone adds/removes/promotes the bot, or a user blocks it (private + "kicked").

        Updates the bot's status and queues the ``my_chat_member`` Update Telegram sends.
        """
        if chat_id not in self.chats:
            self.register_chat(
                chat_id, chat_type or ("private" if chat_id > 0 else "supergroup"), title=title
            )
            old = "left" if chat_id < 0 else "member"
        else:
            old = self.members.get((chat_id, self.bot_id), "member")
        self.set_chat_member(chat_id, self.bot_id, new_status)
        uid = user_id if user_id is not None else self._default_user(chat_id, None)
        update = tg.my_chat_member_update(
            next(self._update_ids),
            chat=self.chats[chat_id],
            from_user=self.users.get(uid) or tg.user_dict(uid, "Alice"),
            bot_user=self.bot_user,
            old_status=old,
            new_status=new_status,
        )
        return self.add_update(update)

    def _user_message(self, chat_id: int, user_id: int | None, **content: Any) -> JSON:
        """Queue a user's non-text message (``content``: document, photo, caption...)."""
        uid = user_id if user_id is not None else self._default_user(chat_id, None)
        user = self.users.setdefault(uid, tg.user_dict(uid, "Alice"))
        self._ensure_chat(chat_id)
        message = tg.message_dict(
            self._new_message_id(chat_id), self.chats[chat_id], user, **content
        )
        return self.add_update({"update_id": next(self._update_ids), "message": message})

    # ------------------------------------------------------------------ HTTP plumbing

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            log.warning("request with wrong token to %s", request.path)
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        name = self._http_names.get(request.match_info["method"].lower())
        if name is None:
            log.warning("unknown Bot API method %s", request.match_info["method"])
            error = ApiError(404, "Not Found: method not found")
            return web.json_response(error.body(), status=404)
        try:
            params = await self._read_params(request)
        except ValueError as exc:
            return web.json_response(bad_request(f"can't parse request: {exc}").body(), status=400)
        call = ApiCall(name, params, time.monotonic())
        if name == "getUpdates":  # long polling: no latency, not a send
            body, status = await self._poll(call)
            return web.json_response(body, status=status)
        # Decided on arrival, synchronously with taking call.time: the flood windows see
        # arrivals in order. Everything else runs concurrently (latency is a plain sleep).
        error, hold = self._admit(call)
        if self.latency > 0:
            try:
                await asyncio.sleep(self.latency)
            except asyncio.CancelledError:
                # The client gave up (timeout, disconnect) or the server stops: Telegram still
                # handles a request it has received, so the bot cannot know the outcome.
                self._settle(call, error)
                raise
        body, status = self._settle(call, error)
        if hold > 0:  # fail_chat(..., "timeout"): delivered and recorded, answered late
            await asyncio.sleep(hold)
        return web.json_response(body, status=status)

    async def _download(self, request: web.Request) -> web.Response:
        """``GET /file/bot<token>/<file_path>``: the bytes of a file ``getFile`` gave a path."""
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["file_path"]
        source = self.files.get(self._file_paths.get(path, ""))
        if not isinstance(source, UploadedFile):
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        self.downloads.append(path)
        self._notify()
        return web.Response(
            body=source.data, content_type=source.content_type or "application/octet-stream"
        )

    def _admit(self, call: ApiCall) -> tuple[ApiError | None, float]:
        """Injected failure, flood check, per-chat failure: (error or None, hold seconds)."""
        error = self._take_injected(call)
        if error is not None or call.method not in COUNTED_METHODS:
            return error, 0.0
        chat_id = self._target_chat(call.params)
        chat = self.chats.get(chat_id) if chat_id is not None else None
        private = chat["type"] == "private" if chat is not None else (chat_id or 0) > 0
        error = self.stats.admit(self.limits, chat_id, private, call.time)
        if error is not None or chat_id is None:
            return error, 0.0
        failure = self._chat_failures.get(chat_id)
        if failure is None:
            return None, 0.0
        if failure.remaining is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                del self._chat_failures[chat_id]
        return failure.error, failure.hold

    def _settle(self, call: ApiCall, error: ApiError | None) -> tuple[JSON, int]:
        """Run a (synchronous) method unless ``error`` is decided already; record the call."""
        if error is not None:  # not raised: a re-raised instance would grow its traceback
            return self._finish(call, error)
        try:
            result = self._methods[call.method](call.params)
        except (ApiError, Rejected) as exc:
            return self._finish(call, exc)
        return self._finish(call, None, result)

    async def _poll(self, call: ApiCall) -> tuple[JSON, int]:
        error = self._take_injected(call)
        if error is not None:
            return self._finish(call, error)
        try:
            result = await self._get_updates(call.params)
        except (ApiError, Rejected) as exc:
            return self._finish(call, exc)
        return self._finish(call, None, result)

    def _finish(
        self, call: ApiCall, exc: ApiError | Rejected | None, result: Any = None
    ) -> tuple[JSON, int]:
        if exc is None:
            call.result, body, status = result, {"ok": True, "result": result}, 200
        else:
            error = exc if isinstance(exc, ApiError) else bad_request(str(exc))
            call.ok, call.error, body, status = False, error.body(), error.body(), error.error_code
            log.info("%s failed: %s", call.method, error.description)
        log.debug("%s %s -> %s", call.method, call.params, body)
        self._record(call)
        return body, status

    async def _read_params(self, request: web.Request) -> JSON:
        params: JSON = {k: decode_form_value(k, v) for k, v in request.query.items()}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else {}
            for key, value in body.items():
                if key in OBJECT_PARAMS and isinstance(value, str):
                    value = json.loads(value)
                params[key] = value
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    params[key] = UploadedFile(
                        value.filename, value.content_type, value.file.read()
                    )
                else:
                    params[key] = decode_form_value(key, str(value))
        return params

    def _record(self, call: ApiCall) -> None:
        if self.record_calls:
            self.calls.append(call)
        self._notify()
        for listener in list(self.on_call):
            try:
                listener(call)
            except Exception:  # a broken renderer must not break the bot under test
                log.exception("on_call listener %r failed", listener)

    def _notify(self) -> None:
        """Wake every waiter; each re-checks its own condition (see ``_wait_until``)."""
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    async def _wait_until(self, condition: Callable[[], bool], seconds: float) -> bool:
        """Wait until ``condition()`` holds (True) or ``seconds`` pass (False); no polling."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                return condition()
        return True

    def _take_injected(self, call: ApiCall) -> ApiError | None:
        """The ``fail_next`` error this call consumes, if any."""
        for failure in self._failures:
            target = failure.chat_id
            if failure.method == call.method and (
                target is None or str(call.params.get("chat_id")) == str(target)
            ):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure.error
        return None

    def _target_chat(self, params: JSON) -> int | None:
        """The numeric chat a request addresses, cheaply and without raising (None: unknown)."""
        raw = params.get("chat_id")
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            if raw.startswith("@"):
                return next(
                    (cid for cid, c in self.chats.items() if f"@{c.get('username')}" == raw), None
                )
            try:
                return int(raw)
            except ValueError:
                return None
        return None

    def _canonical_name(self, method: str) -> str:
        return self._canonical.get(canonical_key(method), method)

    # ------------------------------------------------------------------ state helpers

    def _default_user(self, chat_id: int, chat_type: str | None) -> int:
        chat_type = chat_type or self.chats.get(chat_id, {}).get("type")
        return chat_id if chat_id > 0 and chat_type in (None, "private") else DEFAULT_GROUP_USER_ID

    def _ensure_chat(self, chat_id: int) -> JSON:
        if chat_id not in self.chats:
            self.register_chat(chat_id, "private" if chat_id > 0 else "supergroup")
        return self.chats[chat_id]

    def _new_message_id(self, chat_id: int) -> int:
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def _user_json(self, user_id: int) -> JSON:
        if user_id == self.bot_id:
            return self.bot_user
        return self.users.get(user_id) or tg.user_dict(
            user_id, f"User{user_id}", language_code=None
        )

    def _chat_id(self, params: JSON, *, can_post: bool = False) -> int:
        """Resolve ``chat_id`` (id or @username) like Telegram; optionally check posting rights."""
        raw = params.get("chat_id")
        if isinstance(raw, str) and raw.startswith("@"):
            match = [cid for cid, c in self.chats.items() if f"@{c.get('username')}" == raw]
            if not match:
                raise bad_request("chat not found")
            chat_id = match[0]
        else:
            chat_id = as_int(params, "chat_id")
            assert chat_id is not None
        if chat_id not in self.chats:
            if chat_id < 0:
                raise bad_request("chat not found")
            self._ensure_chat(chat_id)
        status = self.members.get((chat_id, self.bot_id), "member")
        if can_post and status in ("left", "kicked"):
            chat_type = self.chats[chat_id]["type"]
            if chat_type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            verb = "was kicked from" if status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {chat_type} chat")
        return chat_id

    def _message_json(self, msg: SentMessage) -> JSON:
        extra: JSON = {"edit_date": msg.edit_date}
        if msg.photo is not None:
            extra["photo"] = tg.photo_sizes(msg.photo)
        if msg.document is not None:
            extra["document"] = self._document_json(msg.document)
        if msg.has_media and msg.caption:
            extra.update(caption=msg.visible_text, caption_entities=msg.entities or None)
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            extra["reply_markup"] = msg.reply_markup
        chat = self.chats[msg.chat_id]
        if chat["type"] == "channel":
            # A channel post is sent on behalf of the channel: no "from", the channel as
            # sender_chat (a tap on it still carries the presser in the query's "from").
            extra["sender_chat"] = chat
        return tg.message_dict(
            msg.message_id,
            chat,
            None if chat["type"] == "channel" else self.bot_user,
            date=msg.date,
            text=None if msg.has_media else msg.visible_text,
            entities=None if msg.has_media else msg.entities,
            **extra,
        )

    def _document_json(self, file_id: str) -> JSON:
        source = self.files.get(file_id)
        if isinstance(source, UploadedFile):
            return tg.document_dict(file_id, source.filename, source.content_type, len(source.data))
        name = str(source or "").rsplit("/", 1)[-1].split("?", 1)[0] or None  # sent by URL
        return tg.document_dict(file_id, name, mimetypes.guess_type(name or "")[0], None)

    def _find_message(self, params: JSON, action: str) -> SentMessage:
        chat_id = self._chat_id(params)
        message_id = as_int(params, "message_id")
        msg = self.messages.get(chat_id, {}).get(message_id or 0)
        if msg is None or msg.deleted:
            raise bad_request(f"message to {action} not found")
        return msg

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), params.get("language_code") or ""

    # ------------------------------------------------------------------ methods

    async def _get_updates(self, params: JSON) -> list[JSON]:
        """Long polling: confirm by offset, then wait up to ``timeout`` s for something new."""
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = as_int(params, "offset", required=False) or 0
        limit = min(max(as_int(params, "limit", required=False) or 100, 1), 100)
        try:
            timeout = max(float(params.get("timeout") or 0), 0.0)
        except (TypeError, ValueError):
            raise bad_request("invalid timeout specified") from None
        if params.get("allowed_updates") is not None:
            self._allowed_updates = set(params["allowed_updates"]) or None
        if offset < 0:
            self._pending = self._pending[offset:]
        elif offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._poll_generation += 1  # a newer poll terminates an older one with 409, as live
        generation = self._poll_generation
        self._notify()

        def deliverable() -> list[JSON]:
            if self._allowed_updates is not None:
                allowed = self._allowed_updates
                self._pending = [u for u in self._pending if tg.update_type(u) in allowed]
            return self._pending

        await self._wait_until(
            lambda: bool(deliverable()) or self._stopping or generation != self._poll_generation,
            timeout,
        )
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure "
                "that only one bot instance is running",
            )
        return [] if self._stopping else deliverable()[:limit]

    @property
    def webhook(self) -> Webhook | None:
        """The webhook set by the bot (its URL, secret, delivered ids, last error), if any."""
        return self._webhook.hook if self._webhook is not None else None

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if self._webhook is not None:
            pusher, self._webhook = self._webhook, None
            asyncio.get_running_loop().create_task(pusher.stop())
        return True

    def _set_webhook(self, params: JSON) -> bool:
        if not params.get("url"):  # Telegram: an empty URL removes the webhook
            return self._delete_webhook(params)
        hook = checked_webhook(params)
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._delete_webhook({})
        self._webhook = WebhookPusher(hook, lambda: self._pending, self._take, lambda: self._wakeup)
        self._webhook.start()
        self._poll_generation += 1  # a long poll in progress ends with 409, as on Telegram
        self._notify()
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        if self._webhook is None:
            pending = len(self._pending)
            return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
        return self._webhook.hook.info(len(self._pending))

    def _take(self, update: JSON) -> None:
        """A webhook delivered ``update``: it leaves the queue."""
        with contextlib.suppress(ValueError):
            self._pending.remove(update)

    async def _drop_webhook(self) -> None:
        if self._webhook is not None:
            pusher, self._webhook = self._webhook, None
            await pusher.stop()

    def _set_my_commands(self, params: JSON) -> bool:
        self.commands[self._commands_key(params)] = rules.check_commands(params.get("commands"))
        return True

    def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _text(self, params: JSON) -> ParsedText:
        return rules.check_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )

    def _caption(self, params: JSON) -> ParsedText:
        return rules.check_caption(
            params.get("caption"), params.get("parse_mode"), params.get("caption_entities")
        )

    def _checked_markup(self, chat_id: int, params: JSON) -> JSON | None:
        """The reply_markup as Telegram checks it; ``web_app`` buttons only in private chats."""
        markup = rules.check_reply_markup(params.get("reply_markup"))
        private = self.chats.get(chat_id, {}).get("type", "private" if chat_id > 0 else "group")
        if rules.has_web_app_button(markup) and private != "private":
            raise bad_request("BUTTON_TYPE_INVALID")
        return markup

    def _store(self, chat_id: int, parsed: ParsedText, params: JSON, **fields: Any) -> JSON:
        markup = self._checked_markup(chat_id, params)
        msg = SentMessage(
            chat_id=chat_id,
            message_id=self._new_message_id(chat_id),
            date=tg.now(),
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            visible_text=parsed.text,
            entities=parsed.entities,
            **fields,
        )
        self.messages.setdefault(chat_id, {})[msg.message_id] = msg
        return self._message_json(msg)

    def _count_delivery(self, method: str, chat_id: int) -> None:
        counts = self._deliveries[method]
        counts[chat_id] = counts.get(chat_id, 0) + 1

    def _thread(self, chat_id: int, params: JSON) -> int | None:
        """``message_thread_id``: only a forum supergroup has topics to post in."""
        thread = params.get("message_thread_id")
        if thread in (None, ""):
            return None
        if not self.chats.get(chat_id, {}).get("is_forum"):
            raise bad_request("message thread not found")
        return int(thread)

    def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params, can_post=True)
        message = self._store(
            chat_id,
            self._text(params),
            params,
            text=params["text"],
            message_thread_id=self._thread(chat_id, params),
        )
        self._count_delivery("sendMessage", chat_id)
        return message

    def _send_photo(self, params: JSON) -> JSON:
        """``photo`` may be an upload, an http(s) URL or a file_id this fake issued earlier."""
        chat_id = self._chat_id(params, can_post=True)
        photo = params.get("photo")
        if photo is None or photo == "":
            raise bad_request("there is no photo in the request")
        if isinstance(photo, str) and photo in self.files:
            file_id = photo
        elif isinstance(photo, UploadedFile) or re.fullmatch(r"https?://\S+", str(photo)):
            file_id = f"AgACAgFake{next(self._file_ids):06d}"
            for size in [{"file_id": file_id}, *tg.photo_sizes(file_id)]:
                self.files[size["file_id"]] = photo
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption = params.get("caption") or None
        message = self._store(
            chat_id, self._caption(params), params, caption=caption, photo=file_id
        )
        self._count_delivery("sendPhoto", chat_id)
        return message

    def _send_document(self, params: JSON) -> JSON:
        """``document`` may be an upload, an http(s) URL or a file_id this fake issued earlier.

        An upload keeps its file name, MIME type and bytes: ``api.file(message.document)``.
        """
        chat_id = self._chat_id(params, can_post=True)
        parsed = self._caption(params)
        document = params.get("document")
        if document is None or document == "":
            raise bad_request("there is no document in the request")
        if isinstance(document, str) and document in self.files:
            file_id = document
        elif isinstance(document, UploadedFile) or re.fullmatch(r"https?://\S+", str(document)):
            file_id = f"BQACAgFake{next(self._file_ids):06d}"
            self.files[file_id] = document
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        caption = params.get("caption") or None
        message = self._store(chat_id, parsed, params, caption=caption, document=file_id)
        self._count_delivery("sendDocument", chat_id)
        return message

    def _get_file(self, params: JSON) -> JSON:
        """A ``File`` with a ``file_path`` the download route serves (the same path each time).

        Only files whose bytes the fake holds can be fetched; one sent by URL is "temporarily
        unavailable", and one over 20 MB "too big", as the cloud Bot API answers.
        """
        file_id = str(params.get("file_id") or "")
        if not file_id:
            raise bad_request("file_id not specified")
        source = self.files.get(file_id)
        if not isinstance(source, UploadedFile):
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(source.data) > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        folder = "photos" if (source.content_type or "").startswith("image/") else "documents"
        suffix = "." + source.filename.rsplit(".", 1)[1] if "." in (source.filename or "") else ""
        path = f"{folder}/{file_id}{suffix}"
        self._file_paths[path] = file_id
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id}",
            "file_size": len(source.data),
            "file_path": path,
        }

    def _apply_edit(
        self, msg: SentMessage, parsed: ParsedText | None, markup: JSON | None, **fields: Any
    ) -> JSON:
        """Telegram refuses no-op edits; omitting reply_markup removes the keyboard."""
        new_text = msg.visible_text if parsed is None else parsed.text
        new_entities = msg.entities if parsed is None else parsed.entities
        if (new_text, new_entities, markup) == (msg.visible_text, msg.entities, msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        msg.history.append(
            {"text": msg.text, "caption": msg.caption, "reply_markup": msg.reply_markup}
        )
        msg.visible_text, msg.entities, msg.reply_markup = new_text, new_entities, markup
        for key, value in fields.items():
            setattr(msg, key, value)
        msg.edit_count += 1
        msg.edit_date = tg.now()
        return self._message_json(msg)

    def _edit_message_text(self, params: JSON) -> JSON | bool:
        parsed = self._text(params)
        markup = rules.check_reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        msg = self._find_message(params, "edit")
        markup = self._checked_markup(msg.chat_id, params)
        if msg.has_media:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(
            msg, parsed, markup, text=params["text"], parse_mode=params.get("parse_mode")
        )

    def _edit_message_caption(self, params: JSON) -> JSON | bool:
        parsed = self._caption(params)
        markup = rules.check_reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        msg = self._find_message(params, "edit")
        markup = self._checked_markup(msg.chat_id, params)
        if not msg.has_media:
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(
            msg,
            parsed,
            markup,
            caption=params.get("caption") or None,
            parse_mode=params.get("parse_mode"),
        )

    def _edit_message_reply_markup(self, params: JSON) -> JSON | bool:
        rules.check_reply_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        msg = self._find_message(params, "edit")
        return self._apply_edit(msg, None, self._checked_markup(msg.chat_id, params))

    def _delete_message(self, params: JSON) -> bool:
        self._find_message(params, "delete").deleted = True
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._queries or query_id in self._answers:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if rules.utf16_len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        url = params.get("url")
        if url not in (None, "") and not self._opens_this_bot(str(url)):
            raise bad_request("URL_INVALID")
        self._answers[query_id] = [params]
        return True

    def _opens_this_bot(self, url: str) -> bool:
        """answerCallbackQuery's ``url``: outside games, only a link that opens this bot with a
        start parameter (``t.me/<bot>?start=XXXX``, up to 64 of ``[A-Za-z0-9_-]``) is allowed;
        any other URL, another bot's link included, is URL_INVALID, as live."""
        match = _START_LINK.fullmatch(url)
        return match is not None and match.group(1).lower() == self.bot_username.lower()

    def _get_chat_member(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        user_id = as_int(params, "user_id")
        assert user_id is not None
        status = self.members.get((chat_id, user_id), "member")
        return tg.chat_member_dict(self._user_json(user_id), status)

    def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        chat_id = self._chat_id(params)
        if self.chats[chat_id]["type"] == "private":
            raise bad_request("there are no administrators in the private chat")
        return [
            tg.chat_member_dict(self._user_json(uid), status)
            for (cid, uid), status in self.members.items()
            if cid == chat_id and status in ("creator", "administrator")
        ]

    def _get_chat(self, params: JSON) -> JSON:
        return tg.chat_full_info_dict(self.chats[self._chat_id(params)])

    def _send_chat_action(self, params: JSON) -> bool:
        self._chat_id(params, can_post=True)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _set_chat_menu_button(self, params: JSON) -> bool:
        """A chat's menu button (no chat: every private chat's default); checked as Telegram."""
        chat_id = self._chat_id(params) if params.get("chat_id") is not None else None
        if chat_id is not None and self.chats.get(chat_id, {}).get("type", "private") != "private":
            raise bad_request("chat not found")  # menu buttons exist in private chats only
        self.menu_buttons[chat_id] = rules.check_menu_button(params.get("menu_button"))
        return True

    def _answer_inline_query(self, params: JSON) -> bool:
        """Validated like Telegram (see :mod:`bot.sandbox.fake_inline`); one answer a query."""
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self.inline_queries or query_id in self.inline_answers:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        check_inline_answer(params)
        self.inline_answers[query_id] = params
        return True

    def _leave_chat(self, params: JSON) -> bool:
        chat_id = self._chat_id(params)
        self.members[(chat_id, self.bot_id)] = "left"
        return True
