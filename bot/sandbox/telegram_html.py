"""Telegram's content rules (HTML parsing, length limits, keyboards, commands) for the fake API.

Herald formats every outgoing message as HTML, and the most common production failure of such
bots is a ``BadRequest: can't parse entities`` caused by an unescaped ``<`` or an unsupported
tag slipping in from a feed. The fake server therefore has to reject exactly what Telegram
rejects, and measure text exactly as Telegram does (visible characters, UTF-16 code units).

This is a small hand-written scanner modelled on TDLib's ``parse_html`` (the parser Telegram's
servers use) rather than :mod:`html.parser`: the stdlib parser is deliberately lenient (it
accepts comments, ``<br/>``, entity references without ``;``, a ``<`` followed by a space, ...)
and would hide the very mistakes we want to catch. One intentional deviation: a bare ``&`` that
does not start a valid entity is rejected here, while Telegram silently keeps it. Telegram's
documentation requires ``&`` to be escaped, so being stricter keeps the bot honest.

The ``check_*`` functions raise :class:`Rejected` carrying the reason Telegram gives after
``"Bad Request: "``, so the fake server only has to wrap it into an HTTP 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

#: Tags Telegram accepts in HTML mode, mapped to the entity type they produce.
ALLOWED_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]{2,4}));")
_NAME_TOKEN_RE = re.compile(r"[A-Za-z0-9.\-]*")
_SPACES = " \t\r\n\f\v"


class EntityParseError(ValueError):
    """Raised for HTML Telegram would refuse; ``str(exc)`` is TDLib's parser message."""


class Rejected(ValueError):
    """Content Telegram refuses; ``str(exc)`` is the reason after ``"Bad Request: "``."""


@dataclass
class ParsedText:
    """The visible text of a message plus the MessageEntity dicts Telegram would return."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def utf16_length(self) -> int:
        """Length as Telegram counts it (UTF-16 code units), used by every length limit."""
        return utf16_len(self.text)


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the visible text
    extra: dict[str, str]
    language: str | None = None  # set on <pre> by a nested <code class="language-x">


def utf16_len(text: str) -> int:
    """Number of UTF-16 code units: characters outside the BMP (most emoji) count twice."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the HTML entity at ``text[pos]`` (an ``&``); return (char, end) or None."""
    match = _ENTITY_RE.match(text, pos)
    if match is None:
        return None
    dec, hexa, name = match.groups()
    if name is not None:
        char = _NAMED_ENTITIES.get(name)
        return (char, match.end()) if char else None
    code = int(dec) if dec is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(text: str) -> ParsedText:
    """Parse Telegram-flavoured HTML into visible text and entities.

    Raises :class:`EntityParseError` with a TDLib-style message ("Unsupported start tag "x" at
    byte offset N", ...) for anything Telegram's server would reject.
    """
    out: list[str] = []
    out_len = 0  # UTF-16 length of "".join(out)
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {_byte_offset(text, i)}: use &amp;'
                )
            out.append(decoded[0])
            out_len += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            out.append(ch)
            out_len += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            i = _parse_end_tag(text, begin, stack)
            opened = stack.pop()
            entity = _close(opened, out_len, stack[-1] if stack else None)
            if entity is not None:
                entities.append(entity)
        else:
            i, opened = _parse_start_tag(text, begin)
            opened.start = out_len
            stack.append(opened)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _parse_start_tag(text: str, begin: int) -> tuple[int, _Open]:
    n = len(text)
    i = begin + 1
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    if i >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    tag = text[begin + 1 : i].lower()
    if tag not in ALLOWED_TAGS:
        raise EntityParseError(
            f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
        )
    attrs: dict[str, str] = {}
    while True:
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] == ">":
            i += 1
            break
        name_start = i
        while i < n and text[i] not in _SPACES and text[i] not in "=>":
            i += 1
        name = text[name_start:i].lower()
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n or text[i] != "=":
            attrs[name] = ""  # valueless attribute, e.g. <blockquote expandable>
            continue
        i += 1
        while i < n and text[i] in _SPACES:
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end < 0:
                raise EntityParseError(
                    f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                )
            attrs[name] = _unescape_attr(text[i + 1 : end])
            i = end + 1
        else:
            token = _NAME_TOKEN_RE.match(text, i)
            assert token is not None  # the pattern matches the empty string
            if token.end() >= n or text[token.end()] not in _SPACES + ">":
                raise EntityParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, i)}"
                )
            attrs[name] = token.group().lower()
            i = token.end()
    if tag == "span" and attrs.get("class") != "tg-spoiler":
        raise EntityParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
        )
    return i, _Open(tag, 0, attrs)


def _unescape_attr(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        decoded = _decode_entity(match.group(), 0)
        return decoded[0] if decoded else match.group()

    return _ENTITY_RE.sub(repl, value)


def _parse_end_tag(text: str, begin: int, stack: list[_Open]) -> int:
    n = len(text)
    offset = _byte_offset(text, begin)
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {offset}")
    i = begin + 2
    while i < n and text[i] not in _SPACES and text[i] != ">":
        i += 1
    name = text[begin + 2 : i].lower()
    while i < n and text[i] in _SPACES:
        i += 1
    if i >= n or text[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {offset}")
    expected = stack[-1].tag
    if name and name != expected:
        raise EntityParseError(
            f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", '
            f'found "</{name}>"'
        )
    return i + 1


def _close(opened: _Open, end: int, parent: _Open | None) -> dict[str, Any] | None:
    """Turn a closed tag into a MessageEntity dict (None when Telegram would drop it)."""
    length = end - opened.start
    attrs = opened.extra
    kind = ALLOWED_TAGS[opened.tag]
    if (
        opened.tag == "code"
        and parent is not None
        and parent.tag == "pre"
        and attrs.get("class", "").startswith("language-")
    ):
        # <pre><code class="language-x"> is a single pre entity carrying the language.
        parent.language = attrs["class"].removeprefix("language-")
        return None
    if length == 0:
        return None
    entity: dict[str, Any] = {"type": kind, "offset": opened.start, "length": length}
    if kind == "text_link":
        if not attrs.get("href"):
            return None
        entity["url"] = attrs["href"]
    elif kind == "pre" and opened.language:
        entity["language"] = opened.language
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


def visible_text(text: str, parse_mode: str | None) -> ParsedText:
    """What the recipient sees for ``text`` sent with ``parse_mode``.

    Only HTML is parsed; Markdown modes are passed through unparsed (Herald does not use them),
    so their lengths are an upper bound.
    """
    if parse_mode is not None and parse_mode.lower() == "html":
        return parse_html(text)
    return ParsedText(text)


# ---------------------------------------------------------------------- content limits

_PARSE_MODES = {"html", "markdown", "markdownv2"}
_BUTTON_ACTIONS = (
    "url callback_data web_app login_url switch_inline_query switch_inline_query_current_chat "
    "switch_inline_query_chosen_chat copy_text callback_game pay".split()
)
_BUTTON_URL_RE = re.compile(r"(https?|tg)://\S+")
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


def _parse(text: str, parse_mode: str | None, entities: Any) -> ParsedText:
    if parse_mode and parse_mode.lower() not in _PARSE_MODES:
        raise Rejected("unsupported parse_mode")
    try:
        parsed = visible_text(text, parse_mode)
    except EntityParseError as exc:
        raise Rejected(f"can't parse entities: {exc}") from None
    if not parse_mode and isinstance(entities, list):
        parsed.entities = entities  # explicit entities instead of a parse_mode
    return parsed


def check_text(text: Any, parse_mode: str | None = None, entities: Any = None) -> ParsedText:
    """A message text: parsed, 1..4096 UTF-16 units once markup is stripped."""
    if not isinstance(text, str) or not text.strip():
        raise Rejected("message text is empty")
    parsed = _parse(text, parse_mode, entities)
    if not parsed.text.strip():
        raise Rejected("message text is empty")
    if parsed.utf16_length > MAX_MESSAGE_LENGTH:
        raise Rejected("message is too long")
    return parsed


def check_caption(caption: Any, parse_mode: str | None = None, entities: Any = None) -> ParsedText:
    """A media caption: optional, at most 1024 visible UTF-16 units."""
    if not caption:
        return ParsedText("")
    parsed = _parse(str(caption), parse_mode, entities)
    if parsed.utf16_length > MAX_CAPTION_LENGTH:
        raise Rejected("message caption is too long")
    return parsed


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup; inline keyboards get Telegram's strict per-button checks.

    Each button needs a text and exactly one action, ``callback_data`` must be 1..64 bytes of
    UTF-8 (not characters: Cyrillic or emoji data overflows quickly), at most 100 buttons.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise Rejected("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # reply keyboards, remove_keyboard, force_reply: accepted as they are
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise Rejected('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    buttons = [button for row in rows for button in row]
    if len(buttons) > MAX_INLINE_BUTTONS:
        raise Rejected("BUTTONS_TOO_MUCH")
    for button in buttons:
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise Rejected('can\'t parse inline keyboard button: Field "text" must be a String')
        actions = [key for key in _BUTTON_ACTIONS if key in button]
        if not actions:
            raise Rejected("text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise Rejected("can't parse inline keyboard button: too many optional fields")
        data = button.get("callback_data")
        if "callback_data" in button and not (
            isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
        ):
            raise Rejected("BUTTON_DATA_INVALID")
        url = button.get("url")
        if "url" in button and not _BUTTON_URL_RE.fullmatch(str(url)):
            raise Rejected(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        if "web_app" in button:
            check_web_app(button["web_app"])
    return markup


def check_web_app(info: Any) -> None:
    """A ``WebAppInfo``: Telegram opens Mini Apps over HTTPS only. The sandbox serves its app
    on 127.0.0.1 over plain HTTP, which this double (not Telegram) lets through."""
    url = info.get("url") if isinstance(info, dict) else None
    if not isinstance(url, str) or not (
        url.startswith("https://") or url.startswith(("http://127.0.0.1", "http://localhost"))
    ):
        raise Rejected("BUTTON_URL_INVALID")


def has_web_app_button(markup: dict[str, Any] | None) -> bool:
    rows = (markup or {}).get("inline_keyboard") or []
    return any("web_app" in button for row in rows for button in row)


def check_menu_button(button: Any) -> dict[str, Any]:
    """setChatMenuButton's ``menu_button``: commands, default, or web_app with text and URL."""
    if button is None:
        return {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
        raise Rejected("can't parse menu button")
    if button["type"] == "web_app":
        if not isinstance(button.get("text"), str) or not button["text"].strip():
            raise Rejected("BUTTON_TEXT_INVALID")
        check_web_app(button.get("web_app"))
    return button


def check_commands(commands: Any) -> list[dict[str, Any]]:
    """setMyCommands: at most 100 commands, names ``[a-z0-9_]{1,32}``, descriptions 1..256."""
    if not isinstance(commands, list):
        raise Rejected("commands is empty")
    if len(commands) > 100:
        raise Rejected("BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(
            str(command.get("command", ""))
        ):
            raise Rejected("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise Rejected("BOT_COMMAND_DESCRIPTION_INVALID")
    return commands
