"""Telegram's rules for ``answerInlineQuery``, for the fake Bot API.

Inline answers fail in ways a bot only finds out in production: a 51st result, two results
with one id, a 65-byte id, HTML the parser refuses inside ``input_message_content``, a deep-link
``start_parameter`` with a dot in it. :func:`check_inline_answer` refuses what Telegram refuses,
with the reason Telegram gives after ``"Bad Request: "``, reusing the message-text, caption and
keyboard checks of :mod:`bot.sandbox.telegram_html` (an inline result's text becomes a message).

Not modelled: the 10-second deadline for an answer, and result types' optional fields beyond
the URLs (thumbnails and the like), which are checked only for being http(s) URLs.
"""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox import telegram_html as rules
from bot.sandbox.telegram_html import Rejected

JSON = dict[str, Any]

MAX_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
MAX_NEXT_OFFSET_BYTES = 64
START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_URL = re.compile(r"https?://\S+")

# Each result type's required fields; a tuple inside is "one of these" (URL or cached file id).
_REQUIRED: dict[str, tuple[str | tuple[str, ...], ...]] = {
    "article": ("title", "input_message_content"),
    "photo": (("photo_url", "photo_file_id"),),
    "gif": (("gif_url", "gif_file_id"),),
    "mpeg4_gif": (("mpeg4_url", "mpeg4_file_id"),),
    "video": (("video_url", "video_file_id"), "title"),
    "audio": (("audio_url", "audio_file_id"),),
    "voice": (("voice_url", "voice_file_id"),),
    "document": (("document_url", "document_file_id"), "title"),
    "sticker": ("sticker_file_id",),
    "location": ("latitude", "longitude", "title"),
    "venue": ("latitude", "longitude", "title", "address"),
    "contact": ("phone_number", "first_name"),
    "game": ("game_short_name",),
}
# Fields that must be http(s) URLs when present (Telegram fetches them).
_URL_FIELDS = (
    "thumbnail_url photo_url gif_url mpeg4_url video_url audio_url voice_url document_url".split()
)


def check_inline_answer(params: JSON) -> list[JSON]:
    """Validate ``answerInlineQuery``'s parameters (but the query id); the results if valid."""
    results = params.get("results")
    if not isinstance(results, list):
        raise Rejected("can't parse inline query results JSON object")
    if len(results) > MAX_RESULTS:
        raise Rejected("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    for result in results:
        _check_result(result, seen)
    cache_time = params.get("cache_time")
    if cache_time is not None and (not isinstance(cache_time, int) or cache_time < 0):
        raise Rejected("invalid cache_time specified")
    next_offset = params.get("next_offset")
    if next_offset is not None and (
        not isinstance(next_offset, str) or len(next_offset.encode("utf-8")) > MAX_NEXT_OFFSET_BYTES
    ):
        raise Rejected("NEXT_OFFSET_INVALID")
    if params.get("button") is not None:
        _check_button(params["button"])
    if params.get("switch_pm_parameter") is not None:  # the pre-6.7 spelling of the button
        if not START_PARAMETER.fullmatch(str(params["switch_pm_parameter"])):
            raise Rejected("START_PARAM_INVALID")
    return results


def _check_result(result: Any, seen: set[str]) -> None:
    if not isinstance(result, dict):
        raise Rejected("can't parse inline query result JSON object")
    kind = result.get("type")
    if kind not in _REQUIRED:
        raise Rejected("RESULT_TYPE_INVALID")
    result_id = result.get("id")
    if not isinstance(result_id, str) or not (
        1 <= len(result_id.encode("utf-8")) <= MAX_RESULT_ID_BYTES
    ):
        raise Rejected("RESULT_ID_INVALID")
    if result_id in seen:
        raise Rejected("RESULT_ID_DUPLICATE")
    seen.add(result_id)
    for required in _REQUIRED[kind]:
        choices = required if isinstance(required, tuple) else (required,)
        if not any(result.get(name) not in (None, "") for name in choices):
            raise Rejected(f'can\'t parse inline query result: Field "{choices[0]}" is required')
    for name in ("title", "description"):
        if name in result and not isinstance(result[name], str):
            raise Rejected(f'can\'t parse inline query result: Field "{name}" must be a String')
    for name in _URL_FIELDS:
        if name in result and not _URL.fullmatch(str(result[name])):
            raise Rejected("WEBDOCUMENT_URL_INVALID")
    if result.get("caption"):
        rules.check_caption(
            result["caption"], result.get("parse_mode"), result.get("caption_entities")
        )
    if result.get("input_message_content") is not None:
        _check_content(result["input_message_content"])
    markup = result.get("reply_markup")
    if markup is not None:
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            raise Rejected("can't parse inline keyboard markup JSON object")
        rules.check_reply_markup(markup)


def _check_content(content: Any) -> None:
    """An InputMessageContent: a text is checked like sendMessage's; others loosely."""
    if not isinstance(content, dict):
        raise Rejected("can't parse input message content JSON object")
    if "message_text" in content:
        rules.check_text(
            content["message_text"], content.get("parse_mode"), content.get("entities")
        )
        return
    kinds = ("latitude", "phone_number", "payload")  # location/venue, contact, invoice
    if not any(key in content for key in kinds):
        raise Rejected("can't parse input message content: unknown content type")


def _check_button(button: Any) -> None:
    """The InlineQueryResultsButton above the results: a text and one action."""
    if not isinstance(button, dict) or not str(button.get("text") or "").strip():
        raise Rejected("BUTTON_TEXT_INVALID")
    actions = [key for key in ("web_app", "start_parameter") if key in button]
    if len(actions) != 1:
        raise Rejected("can't parse inline query results button: exactly one action is needed")
    if actions == ["start_parameter"] and not START_PARAMETER.fullmatch(
        str(button["start_parameter"])
    ):
        raise Rejected("START_PARAM_INVALID")
