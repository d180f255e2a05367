"""Plain data of the fake Bot API: errors, recorded calls, sent messages, parameter decoding.

Split out of :mod:`bot.sandbox.fake_api` (which re-exports every public name here) so the server
module holds behaviour only. Nothing in this module does I/O or keeps global state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
# PTB sends every non-string value JSON-encoded in form fields (ints become "42", markups become
# JSON text) but strings raw, so a text of "42" must not be decoded. These are string-typed.
STRING_PARAMS = frozenset(
    "text caption parse_mode callback_query_id inline_query_id inline_message_id url photo "
    "action title description custom_title language_code next_offset switch_pm_text "
    "switch_pm_parameter button_text business_connection_id message_effect_id emoji "
    "short_description name document file_id".split()
)
# Object-typed parameters that some clients send as JSON text even inside a JSON body.
OBJECT_PARAMS = frozenset(
    "reply_markup entities caption_entities commands scope results allowed_updates "
    "link_preview_options reply_parameters menu_button button media".split()
)


class ApiError(Exception):
    """A Bot API error response; raised by handlers, turned into ``{"ok": false, ...}``."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None):
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """The 400 error most validation produces; PTB turns it into ``telegram.error.BadRequest``."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class UploadedFile:
    """A file's name, type and bytes, kept so ``getFile`` and downloads can serve it.

    The bot's come from multipart ``sendPhoto``/``sendDocument``; a user's from
    ``FakeBotAPI.send_document``/``send_photo``.
    """

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class ApiCall:
    """One request the bot made. ``ok``/``result``/``error`` are filled once it is handled.

    ``time`` is the ``time.monotonic()`` arrival time (the clock the flood limits use).
    """

    method: str
    params: JSON
    time: float
    ok: bool = True
    result: Any = None
    error: JSON | None = None


@dataclass
class SentMessage:
    """A message the bot sent; edits mutate it in place and keep the old versions in history."""

    chat_id: int
    message_id: int
    date: int
    text: str | None = None  # raw, as the bot sent it (HTML included)
    caption: str | None = None
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    photo: str | None = None  # file_id
    document: str | None = None  # file_id; the bytes are ``FakeBotAPI.file(document).data``
    message_thread_id: int | None = None  # the forum topic it was posted in
    visible_text: str = ""  # what the user sees, after entity parsing
    entities: list[JSON] = field(default_factory=list)
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False
    history: list[JSON] = field(default_factory=list)

    @property
    def has_media(self) -> bool:
        """A photo or a document: it has a caption, not a text (and edits must say which)."""
        return self.photo is not None or self.document is not None

    @property
    def edited(self) -> bool:
        """True once any edit succeeded (Telegram then shows "edited" and sets edit_date)."""
        return self.edit_count > 0


@dataclass
class InjectedFailure:
    """A ``fail_next`` entry: the next ``remaining`` matching calls answer ``error``."""

    method: str
    chat_id: int | str | None
    error: ApiError
    remaining: int


def canonical_key(method: str) -> str:
    """Lookup key for test helpers: "sendMessage", "sendmessage" and "send_message" agree."""
    return method.replace("_", "").lower()


def decode_form_value(name: str, value: str) -> Any:
    """Undo PTB's form encoding: JSON-decode everything except string-typed parameters."""
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


def as_int(params: JSON, name: str, *, required: bool = True) -> int | None:
    """Integer parameter that may arrive as int or numeric string (JSON vs form bodies)."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"{name} is empty")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None
