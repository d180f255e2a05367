"""Pure builders of Telegram Bot API JSON (Update, Message, User, Chat, ChatMember dicts).

They describe what a *user* does (sends a text or a command, presses an inline button, adds or
blocks the bot) in exactly the shape Telegram delivers it, so the same dicts can be fed to the
fake Bot API server (``getUpdates``), to the terminal sandbox, or straight to
``telegram.Update.de_json`` in unit tests. Nothing here has state or does I/O; ids and dates are
parameters so callers stay deterministic.

Offsets and lengths of entities are in UTF-16 code units, as Telegram specifies.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bot.sandbox.telegram_html import utf16_len

JSON = dict[str, Any]

#: Chat member statuses as Telegram spells them (``kicked`` is PTB's ``BANNED``).
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")

# Telegram detects these entities in user messages. A bot command is "/" + up to 64 of
# [A-Za-z0-9_], optionally "@" + a 3..32 char username, not glued to a preceding word.
_ENTITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bot_command", re.compile(r"(?<![\w/.@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?!\w)")),
    ("url", re.compile(r"(?<![\w@])https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")),
    ("mention", re.compile(r"(?<![\w/])@[A-Za-z][A-Za-z0-9_]{4,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#[^\W\d][\w]{0,255}")),
)


def now() -> int:
    """Unix time in seconds, the unit of every ``date`` field."""
    return int(time.time())


def user_dict(
    user_id: int,
    first_name: str = "Alice",
    *,
    username: str | None = None,
    language_code: str | None = "en",
    is_bot: bool = False,
    last_name: str | None = None,
) -> JSON:
    """A ``User`` object; optional fields are omitted rather than null, as Telegram does."""
    user: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if last_name:
        user["last_name"] = last_name
    if username:
        user["username"] = username
    if language_code and not is_bot:
        user["language_code"] = language_code
    return user


def chat_dict(
    chat_id: int,
    chat_type: str = "private",
    *,
    title: str | None = None,
    username: str | None = None,
    first_name: str | None = None,
) -> JSON:
    """A ``Chat`` object: private chats carry the user's names, groups/channels a title."""
    chat: JSON = {"id": chat_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = first_name or f"User{chat_id}"
    else:
        chat["title"] = title or f"Chat {chat_id}"
    if username:
        chat["username"] = username
    if chat_type == "supergroup":
        chat["is_forum"] = False
    return chat


def bot_info_dict(bot_user: JSON) -> JSON:
    """The ``getMe`` result: the bot's User plus the bot-only capability flags."""
    return {
        **bot_user,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def chat_full_info_dict(chat: JSON) -> JSON:
    """The ``getChat`` result (ChatFullInfo): the Chat plus the fields PTB requires."""
    gifts = dict.fromkeys(
        ("limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels"), False
    )
    return {
        **chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {**gifts, "unlimited_gifts": True},
    }


def photo_sizes(file_id: str) -> list[JSON]:
    """The ``photo`` array of a Message: Telegram returns several sizes of one picture."""
    return [
        {
            "file_id": f"{file_id}_{width}",
            "file_unique_id": f"U{file_id}_{width}",
            "width": width,
            "height": height,
            "file_size": width * height // 10,
        }
        for width, height in ((90, 60), (320, 213), (800, 533))
    ]


def document_dict(
    file_id: str, file_name: str | None, mime_type: str | None, file_size: int | None
) -> JSON:
    """The ``document`` of a Message (a general file); unknown fields are omitted, as live."""
    document: JSON = {"file_id": file_id, "file_unique_id": f"U{file_id}"}
    for key, value in (("file_name", file_name), ("mime_type", mime_type)):
        if value:
            document[key] = value
    if file_size is not None:
        document["file_size"] = file_size
    return document


def detect_entities(text: str) -> list[JSON]:
    """Entities Telegram's clients/servers attach to a plain user message.

    Covers ``bot_command`` (incl. ``/cmd@BotName``), ``url`` (with scheme only), ``mention``
    and ``hashtag``; enough for handlers that filter on them. Sorted by offset.
    """
    found: list[JSON] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _ENTITY_PATTERNS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append(
                {
                    "type": kind,
                    "offset": utf16_len(text[:start]),
                    "length": utf16_len(text[start:end]),
                }
            )
    found.sort(key=lambda e: e["offset"])
    return found


def message_dict(
    message_id: int,
    chat: JSON,
    from_user: JSON | None,
    *,
    text: str | None = None,
    entities: list[JSON] | None = None,
    date: int | None = None,
    **extra: Any,
) -> JSON:
    """A ``Message`` object; ``extra`` adds fields verbatim (photo, caption, reply_markup...)."""
    message: JSON = {"message_id": message_id, "date": now() if date is None else date}
    if from_user is not None:
        message["from"] = from_user
    message["chat"] = chat
    if text is not None:
        message["text"] = text
    if entities:
        message["entities"] = entities
    message.update({key: value for key, value in extra.items() if value is not None})
    return message


def text_message_update(
    update_id: int,
    text: str,
    *,
    chat_id: int,
    message_id: int,
    user_id: int | None = None,
    chat_type: str = "private",
    first_name: str = "Alice",
    username: str | None = None,
    language_code: str | None = "en",
    title: str | None = None,
    chat_username: str | None = None,
    date: int | None = None,
) -> JSON:
    """An Update with a user's text message; commands get their ``bot_command`` entities.

    ``user_id`` defaults to ``chat_id`` (in a private chat they are the same number).
    """
    user = user_dict(
        chat_id if user_id is None else user_id,
        first_name,
        username=username,
        language_code=language_code,
    )
    chat = chat_dict(
        chat_id,
        chat_type,
        title=title,
        username=chat_username if chat_type != "private" else username,
        first_name=first_name,
    )
    message = message_dict(
        message_id, chat, user, text=text, entities=detect_entities(text), date=date
    )
    return {"update_id": update_id, "message": message}


def callback_query_update(
    update_id: int,
    *,
    query_id: str,
    from_user: JSON,
    message: JSON,
    data: str,
    chat_instance: str | None = None,
) -> JSON:
    """An Update for a press on an inline button of the bot's ``message`` (full Message dict)."""
    query: JSON = {
        "id": query_id,
        "from": from_user,
        "message": message,
        "chat_instance": chat_instance or str(abs(hash(message["chat"]["id"])) % 10**18),
        "data": data,
    }
    return {"update_id": update_id, "callback_query": query}


def inline_query_update(
    update_id: int,
    *,
    query_id: str,
    from_user: JSON,
    query: str,
    offset: str = "",
    chat_type: str | None = "sender",
) -> JSON:
    """An Update for a user typing ``@bot query`` in some chat's input field.

    ``chat_type`` is where the user types ("sender" is their own chat with the bot; "private",
    "group", "supergroup", "channel"); None leaves it out, as Telegram does for secret chats.
    ``offset`` is the ``next_offset`` of the bot's previous answer when the user scrolls on.
    """
    inline: JSON = {"id": query_id, "from": from_user, "query": query, "offset": offset}
    if chat_type is not None:
        inline["chat_type"] = chat_type
    return {"update_id": update_id, "inline_query": inline}


def chat_member_dict(user: JSON, status: str, *, until_date: int = 0) -> JSON:
    """A ``ChatMember`` object with the fields Telegram sends for ``status``.

    Administrators get the usual rights of a bot admin (delete/restrict/invite...). Restricted
    members may write but not send media. ``kicked`` uses ``until_date=0`` (forever).
    """
    if status not in MEMBER_STATUSES:
        raise ValueError(f"unknown chat member status {status!r}; use one of {MEMBER_STATUSES}")
    member: JSON = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
            can_manage_topics=False,
            can_post_messages=True,  # sent for channels; harmless elsewhere
            can_edit_messages=True,
        )
    elif status == "restricted":
        rights = (
            "can_change_info can_invite_users can_pin_messages can_send_polls "
            "can_send_other_messages can_add_web_page_previews can_manage_topics "
            "can_send_audios can_send_documents can_send_photos can_send_videos "
            "can_send_video_notes can_send_voice_notes can_edit_tag can_react_to_messages"
        )
        member.update(dict.fromkeys(rights.split(), False))
        member.update(is_member=True, can_send_messages=True, until_date=until_date)
    elif status == "kicked":
        member["until_date"] = until_date
    return member


def my_chat_member_update(
    update_id: int,
    *,
    chat: JSON,
    from_user: JSON,
    bot_user: JSON,
    old_status: str,
    new_status: str,
    date: int | None = None,
) -> JSON:
    """An Update telling the bot its own membership changed.

    E.g. ``member -> kicked`` in a private chat means the user blocked the bot,
    ``left -> administrator`` in a group means someone added it as admin.
    """
    payload: JSON = {
        "chat": chat,
        "from": from_user,
        "date": now() if date is None else date,
        "old_chat_member": chat_member_dict(bot_user, old_status),
        "new_chat_member": chat_member_dict(bot_user, new_status),
    }
    return {"update_id": update_id, "my_chat_member": payload}


def update_type(update: JSON) -> str:
    """The kind of an Update dict ("message", "callback_query"...), as in allowed_updates."""
    return next((key for key in update if key != "update_id"), "")
