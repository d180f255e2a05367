"""How the terminal sandbox shows Telegram content: HTML → terminal text, keyboards → numbers.

The conversions are pure functions, unit-tested without a terminal; :class:`ChatView` prints
them to a stream. Herald sends Telegram-flavoured
HTML (``<b>``, ``<i>``, ``<a href>``, ``<code>``...); a terminal gets ANSI styles instead, or plain
text when output is not a TTY (piped into a file or a test), where escape codes would be noise.
Inline keyboards become numbered lines, because typing a number is how the reader presses a button.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TextIO

from bot.sandbox.fake_api import NOT_MODIFIED, ApiCall

# Telegram tag → (ANSI on, ANSI off). The "off" codes switch off only that style, so nested
# tags (<b><i>x</i> y</b>) keep the outer style without a full reset.
_STYLES: dict[str, tuple[str, str]] = {
    "b": ("\x1b[1m", "\x1b[22m"),
    "strong": ("\x1b[1m", "\x1b[22m"),
    "i": ("\x1b[3m", "\x1b[23m"),
    "em": ("\x1b[3m", "\x1b[23m"),
    "u": ("\x1b[4m", "\x1b[24m"),
    "ins": ("\x1b[4m", "\x1b[24m"),
    "s": ("\x1b[9m", "\x1b[29m"),
    "strike": ("\x1b[9m", "\x1b[29m"),
    "del": ("\x1b[9m", "\x1b[29m"),
}
DIM, BOLD, RESET = "\x1b[2m", "\x1b[1m", "\x1b[0m"
PROMPT = "You › "
MORE_PROMPT = "    … "  # after a line ending with a backslash: the same message goes on
PHOTO_MARK = "🖼 [photo]"
MESSAGE_METHODS = ("sendMessage", "editMessageText", "sendPhoto", "editMessageCaption")


class _TelegramHTMLToText(HTMLParser):
    """Collects visible text, turning style tags into ANSI codes and links into "text <url>"."""

    def __init__(self, *, color: bool) -> None:
        super().__init__(convert_charrefs=True)  # entities (&lt; &amp; &#8217;) come unescaped
        self.color = color
        self.out: list[str] = []
        self._depth: dict[str, int] = {}  # open count per ANSI "on" code, for nesting
        self._links: list[tuple[str, int]] = []  # (href, position of the link text in out)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _STYLES:
            self._style(tag, +1)
        elif tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in _STYLES:
            self._style(tag, -1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            text = "".join(self.out[start:])
            if href and _strip_ansi(text).strip() != href:
                self.out.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def _style(self, tag: str, step: int) -> None:
        """Emit "on" when a style's depth goes 0 → 1 and "off" when it returns to 0."""
        if not self.color:
            return
        on, off = _STYLES[tag]
        before = self._depth.get(on, 0)
        after = max(before + step, 0)
        self._depth[on] = after
        if before == 0 and after == 1:
            self.out.append(on)
        elif before == 1 and after == 0:
            self.out.append(off)

    def text(self) -> str:
        """The converted text; styles left open by broken HTML are reset at the end."""
        tail = RESET if self.color and any(self._depth.values()) else ""
        return "".join(self.out) + tail


def _strip_ansi(text: str) -> str:
    for on, off in _STYLES.values():
        text = text.replace(on, "").replace(off, "")
    return text


def html_to_terminal(text: str, *, color: bool) -> str:
    """Telegram HTML as a terminal shows it: ANSI bold/italic if ``color``, else plain text."""
    parser = _TelegramHTMLToText(color=color)
    parser.feed(text)
    parser.close()
    return parser.text()


def message_to_terminal(text: str, parse_mode: str | None, *, color: bool) -> str:
    """A message's text: HTML is converted; plain messages (no parse_mode) are shown as sent."""
    if parse_mode and parse_mode.lower() == "html":
        return html_to_terminal(text, color=color)
    return text


@dataclass(frozen=True, slots=True)
class Button:
    """One inline button; ``number`` is what the reader types, None for URL-only buttons."""

    number: int | None
    text: str
    callback_data: str | None = None
    url: str | None = None

    def label(self) -> str:
        if self.number is not None:
            return f"[{self.number}] {self.text}"
        return f"[↗] {self.text} <{self.url}>" if self.url else f"[-] {self.text}"


def keyboard_rows(reply_markup: dict[str, Any] | None) -> list[list[Button]]:
    """The inline keyboard's rows, pressable buttons numbered 1.. in reading order across rows.

    Only callback buttons get a number: a URL button opens a link rather than talking to the bot.
    """
    rows: list[list[Button]] = []
    number = 0
    for raw_row in (reply_markup or {}).get("inline_keyboard") or []:
        row = []
        for raw in raw_row:
            data = raw.get("callback_data")
            if data is not None:
                number += 1
            url = raw.get("url") or (raw.get("web_app") or {}).get("url")  # a Mini App: its page
            row.append(Button(number if data is not None else None, raw.get("text", ""), data, url))
        rows.append(row)
    return rows


def numbered_buttons(reply_markup: dict[str, Any] | None) -> dict[int, Button]:
    """Pressable buttons by the number the reader types."""
    return {
        button.number: button
        for row in keyboard_rows(reply_markup)
        for button in row
        if button.number is not None
    }


def render_message(
    text: str,
    parse_mode: str | None,
    reply_markup: dict[str, Any] | None,
    *,
    edited: bool = False,
    color: bool,
    width: int | None = None,
    photo: bool = False,
) -> str:
    """A bot message as a block: a "Herald" header, the indented text, then its buttons.

    A photo (``sendPhoto``) shows as a picture mark above its caption.

    With a ``width`` (a terminal), paragraphs are wrapped so that wrapped lines keep the indent.
    """
    header = "Herald" + (" (edited)" if edited else "")
    lines = [f"{BOLD}{header}{RESET}" if color else header]
    if photo:
        lines.append(f"  {PHOTO_MARK}")
    for line in message_to_terminal(text, parse_mode, color=color).split("\n"):
        lines += _indented(line, width)
    rows = keyboard_rows(reply_markup)
    if rows:
        lines.append("")
    for row in rows:
        lines.append("  " + "   ".join(button.label() for button in row))
    return "\n".join(lines)


def _indented(line: str, width: int | None) -> list[str]:
    if not line:
        return [""]
    if width is None:
        return [f"  {line}"]
    return textwrap.wrap(
        line,
        width,
        initial_indent="  ",
        subsequent_indent="  ",
        break_long_words=False,  # a long URL stays whole (and clickable)
        break_on_hyphens=False,
    )


def render_toast(text: str, *, alert: bool = False, color: bool) -> str:
    """A callback-query answer: Telegram shows it as a brief notice (or an alert box)."""
    line = f"{'⚠' if alert else 'ℹ'} {text}"
    return f"{DIM}{line}{RESET}" if color else line


class ChatView:
    """Everything the reader sees: the banner, the prompt, and Herald's messages as they come."""

    def __init__(
        self,
        out: TextIO,
        chat_id: int,
        *,
        color: bool,
        interactive: bool,
        width: int | None = None,
    ) -> None:
        self.out = out
        self.width = width  # wrap messages to this many columns; None: leave lines whole
        self.chat_id = chat_id  # the reader's private chat; other chats are not shown
        self.color = color
        self.interactive = interactive  # stdin is a terminal, which echoes what is typed
        self._prompt_shown = False

    @classmethod
    def on_stdout(cls, chat_id: int) -> ChatView:
        """A view on stdout: ANSI styles only on a terminal (and without NO_COLOR), wrapping to
        at most 100 columns (a readable bubble) only on a terminal, echo only for piped input.
        """
        tty = sys.stdout.isatty()
        return cls(
            sys.stdout,
            chat_id,
            color=tty and not os.environ.get("NO_COLOR"),
            interactive=_is_tty(sys.stdin),
            width=min(shutil.get_terminal_size().columns, 100) - 2 if tty else None,
        )

    def on_call(self, call: ApiCall) -> None:
        """The fake's listener: print what a Telegram client would show for this Bot API call."""
        if call.method == "answerCallbackQuery" and call.ok and call.params.get("text"):
            alert = bool(call.params.get("show_alert"))
            self._block(render_toast(str(call.params["text"]), alert=alert, color=self.color))
        elif call.method in MESSAGE_METHODS:
            if not call.ok:
                if NOT_MODIFIED not in str((call.error or {}).get("description")):
                    self._refused(call)
            elif str(call.params.get("chat_id")) == str(self.chat_id):
                photo = call.method in ("sendPhoto", "editMessageCaption")
                self._block(
                    render_message(
                        str(call.params.get("caption" if photo else "text", "")),
                        call.params.get("parse_mode"),
                        call.params.get("reply_markup"),
                        edited=call.method.startswith("edit"),
                        color=self.color,
                        width=self.width,
                        photo=photo,
                    )
                )

    def _refused(self, call: ApiCall) -> None:
        """A message Telegram would reject is a bug worth seeing in the chat itself."""
        reason = (call.error or {}).get("description", "?")
        self._block(f"⚠ Telegram refused Herald's {call.method}: {reason}")

    def banner(self, database: str, log_path: Path, app_url: str | None = None) -> None:
        title = _styled("Herald sandbox", BOLD, self.color)
        app = f"  Mini App: {app_url}\n" if app_url else ""
        self._write(
            f"{title}: you are chatting with the real Herald bot, offline,\n"
            "through a fake Telegram on this computer.\n"
            f"  Database: {database}\n"
            f"  Log:      {log_path}\n"
            f"{app}"
            "Type /latest, /search flood barrier, /help; type a number to press a button; "
            "Ctrl-D quits.\n"
            "You are an editor here too: end a line with \\ to go on on the next one, e.g.\n"
            "  /post Headline \\  then the body, then #topics;  !photo Caption sends a photo.\n"
        )

    def prompt(self, *, gap: bool = True) -> None:
        """The prompt, after a blank line that separates it from the conversation above."""
        self._write(("\n" if gap else "") + PROMPT)
        self._prompt_shown = True

    def prompt_more(self) -> None:
        """The prompt for the next line of a message of several lines."""
        self._write(MORE_PROMPT)
        self._prompt_shown = True

    def echo(self, line: str) -> None:
        """After the prompt, the line as typed: piped input is not shown by any terminal."""
        if not self.interactive:
            self._write(line + "\n")
        self._prompt_shown = False

    def note(self, text: str) -> None:
        """A hint from the sandbox itself, styled apart from Herald's messages."""
        self._block(_styled(text, DIM, self.color))

    def goodbye(self, ok: bool) -> None:
        if self._prompt_shown:
            self._write("\n")
        self._write("Bye.\n" if ok else "Herald stopped with an error (see above and the log).\n")

    def _block(self, text: str) -> None:
        """Print a block; if it arrives while the prompt is shown, redraw the prompt after it."""
        redraw = self._prompt_shown
        self._write(("\n" if redraw else "") + text + "\n")
        self._prompt_shown = False
        if redraw:
            self.prompt()

    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()


def _is_tty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):  # closed, or not backed by a descriptor
        return False


def _styled(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{RESET}" if color else text
