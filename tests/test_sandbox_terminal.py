"""The terminal sandbox: HTML → terminal text, button numbering, and a real session end to end.

The end-to-end tests run ``python -m bot`` as a person does (no token, so the sandbox starts),
type into its stdin and read what its stdout shows. They wait for expected text with a
deadline instead of sleeping, so they are fast and not timing-dependent.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bot.sandbox.fake_api import NOT_MODIFIED, ApiCall
from bot.sandbox.samples import sample_file
from bot.sandbox.terminal_render import (
    ChatView,
    html_to_terminal,
    keyboard_rows,
    numbered_buttons,
    render_message,
)
from storage.articles import count_articles
from storage.db import Database
from tests.factories import run_cli

REPO = Path(__file__).resolve().parents[1]
BOLD_ON, BOLD_OFF, ITALIC_ON, ITALIC_OFF = "\x1b[1m", "\x1b[22m", "\x1b[3m", "\x1b[23m"


# ---------------------------------------------------------------------- HTML → terminal


def test_bold_and_italic_become_ansi_on_a_terminal() -> None:
    text = "<b>Latest news</b>\n<i>Herald Desk</i>"
    assert html_to_terminal(text, color=True) == (
        f"{BOLD_ON}Latest news{BOLD_OFF}\n{ITALIC_ON}Herald Desk{ITALIC_OFF}"
    )
    assert html_to_terminal("<strong>a</strong><em>b</em>", color=True) == (
        f"{BOLD_ON}a{BOLD_OFF}{ITALIC_ON}b{ITALIC_OFF}"
    )


def test_no_ansi_codes_when_not_a_terminal() -> None:
    text = "<b>Top</b> <i>story</i> <u>x</u> <s>y</s> <code>/latest</code>"
    assert html_to_terminal(text, color=False) == "Top story x y /latest"


def test_link_shows_its_text_and_url() -> None:
    text = '<a href="https://example.com/a?x=1&amp;y=2">Read the full story</a>'
    assert html_to_terminal(text, color=False) == (
        "Read the full story <https://example.com/a?x=1&y=2>"
    )
    # A link whose text already is the URL is not repeated.
    same = '<a href="https://example.com/">https://example.com/</a>'
    assert html_to_terminal(same, color=False) == "https://example.com/"


def test_entities_are_unescaped() -> None:
    text = "Quillfox patches &quot;&lt;script&gt;&quot; flaw in Q&amp;A &#8212; &#x2019;"
    assert html_to_terminal(text, color=False) == 'Quillfox patches "<script>" flaw in Q&A — ’'


def test_nested_tags_keep_the_outer_style() -> None:
    assert html_to_terminal("<b>a <i>b</i> c</b>", color=True) == (
        f"{BOLD_ON}a {ITALIC_ON}b{ITALIC_OFF} c{BOLD_OFF}"
    )
    # Bold inside bold: switched on once, off only when the outer tag closes.
    assert html_to_terminal("<b><strong>x</strong> y</b>", color=True) == (
        f"{BOLD_ON}x y{BOLD_OFF}"
    )
    linked = '<a href="https://e.com/"><b>Bold link</b></a>'
    assert html_to_terminal(linked, color=False) == "Bold link <https://e.com/>"
    assert html_to_terminal(linked, color=True) == f"{BOLD_ON}Bold link{BOLD_OFF} <https://e.com/>"


def test_plain_messages_are_not_parsed_as_html() -> None:
    out = render_message("1 < 2 & <b>", None, None, color=False)
    assert out == "Herald\n  1 < 2 & <b>"


# ---------------------------------------------------------------------- keyboards


def _keyboard() -> dict:
    return {
        "inline_keyboard": [
            [{"text": "1. First", "callback_data": "a:1:l.0"}],
            [{"text": "2. Second", "callback_data": "a:2:l.0"}],
            [
                {"text": "◀ Newer", "callback_data": "l::0"},
                {"text": "Older ▶", "callback_data": "l::2"},
            ],
            [{"text": "Site", "url": "https://example.com/"}],
        ]
    }


def test_buttons_are_numbered_in_reading_order_across_rows() -> None:
    rows = keyboard_rows(_keyboard())
    assert [[b.number for b in row] for row in rows] == [[1], [2], [3, 4], [None]]
    buttons = numbered_buttons(_keyboard())
    assert {n: b.callback_data for n, b in buttons.items()} == {
        1: "a:1:l.0",
        2: "a:2:l.0",
        3: "l::0",
        4: "l::2",
    }
    assert numbered_buttons(None) == {} and numbered_buttons({"keyboard": [["x"]]}) == {}


def test_message_with_buttons_one_line_per_row() -> None:
    out = render_message("<b>Latest news</b>", "HTML", _keyboard(), edited=True, color=False)
    assert out.splitlines() == [
        "Herald (edited)",
        "  Latest news",
        "",
        "  [1] 1. First",
        "  [2] 2. Second",
        "  [3] ◀ Newer   [4] Older ▶",
        "  [↗] Site <https://example.com/>",
    ]


def test_wrapping_keeps_the_indent_and_long_urls_whole() -> None:
    url = "https://example.com/" + "x" * 40
    out = render_message(f"one two three four five {url}", None, None, color=False, width=20)
    assert out.splitlines() == ["Herald", "  one two three four", "  five", f"  {url}"]


# ---------------------------------------------------------------------- the chat view


def _call(method: str, params: dict, *, ok: bool = True, error: str = "") -> ApiCall:
    call = ApiCall(method, params, time.monotonic(), ok=ok)
    if not ok:
        call.error = {"ok": False, "error_code": 400, "description": error}
    return call


def test_view_shows_messages_edits_toasts_and_refusals() -> None:
    out = io.StringIO()
    view = ChatView(out, 1000, color=False, interactive=False)
    html = {"chat_id": 1000, "parse_mode": "HTML"}
    view.on_call(_call("sendMessage", {**html, "text": "<b>Hi</b> &amp; bye"}))
    view.on_call(_call("editMessageText", {**html, "message_id": 2, "text": "Edited"}))
    view.on_call(_call("answerCallbackQuery", {"callback_query_id": "1", "text": "Expired."}))
    view.on_call(_call("answerCallbackQuery", {"callback_query_id": "2"}))  # silent: nothing
    view.on_call(_call("sendMessage", {**html, "chat_id": 77, "text": "other chat"}))
    view.on_call(_call("editMessageText", html, ok=False, error=f"Bad Request: {NOT_MODIFIED}"))
    view.on_call(_call("sendMessage", html, ok=False, error="Bad Request: can't parse entities"))
    assert out.getvalue() == (
        "Herald\n  Hi & bye\n"
        "Herald (edited)\n  Edited\n"
        "ℹ Expired.\n"
        "⚠ Telegram refused Herald's sendMessage: Bad Request: can't parse entities\n"
    )


def test_a_late_message_redraws_the_prompt() -> None:
    out = io.StringIO()
    view = ChatView(out, 1000, color=False, interactive=True)
    view.prompt()
    view.on_call(_call("sendMessage", {"chat_id": 1000, "text": "late"}))
    assert out.getvalue() == "\nYou › \nHerald\n  late\n\nYou › "


# ---------------------------------------------------------------------- end to end


class Sandbox:
    """``python -m bot`` in a subprocess, driven through stdin and read through stdout."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        env.update(
            HERALD_LOG_LEVEL="INFO",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        self.stderr_path = cwd / "stderr.txt"
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        self._output = b""
        self._closed = False  # stdout reached end of file: nothing more will come
        self._changed = threading.Condition()
        self.cursor = 0  # expectations match only output after the previous match
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            with self._changed:
                self._output += chunk
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return self._output.decode("utf-8", "replace")

    def expect(self, text: str, timeout: float = 10.0) -> str:
        """Wait until ``text`` appears after the cursor; return the output up to its end."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (found := self.output.find(text, self.cursor)) < 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    pytest.fail(f"{text!r} not shown; output after cursor:\n{self.rest()}")
                self._changed.wait(remaining)
            seen = self.output[self.cursor : found + len(text)]
            self.cursor = found + len(text)
            return seen

    def rest(self) -> str:
        return self.output[self.cursor :]

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def quit(self, timeout: float = 10.0) -> int:
        """Ctrl-D: close stdin; the exit code once the sandbox has shut down."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"the sandbox did not exit after Ctrl-D; output:\n{self.output}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def sandboxes(tmp_path: Path):  # noqa: ANN201 - a factory fixture
    started: list[Sandbox] = []

    def start(*args: str) -> Sandbox:
        started.append(Sandbox(tmp_path, *args))
        return started[-1]

    yield start
    for sandbox in started:
        if sandbox.proc.poll() is None:
            sandbox.proc.kill()
            sandbox.proc.wait()


def test_reading_the_news_in_the_sandbox(sandboxes) -> None:  # noqa: ANN001
    sandbox = sandboxes()
    banner = sandbox.expect("Ctrl-D quits.")
    database = Path(
        re.search(r"Database: (\S+) \(36 sample articles, removed at exit\)", banner).group(1)
    )
    assert re.search(r"Log: +\S+herald-sandbox\.log", banner)

    sandbox.type("5")
    sandbox.expect("There are no buttons to press yet: try /latest.")

    sandbox.type("/latest")
    sandbox.expect("You › /latest\nHerald\n  Latest news\n")
    sandbox.expect("Tap a headline to read it.")
    sandbox.expect("[1] 1. ")
    sandbox.expect("Older ▶")

    sandbox.type("1")  # the newest headline
    sandbox.expect("Herald (edited)")
    article = sandbox.expect("◀ Back to the list")
    assert "Read the full story <https://example.com/news/" in article
    related = re.search(r"\[1\] 🔗 (.+)", article)
    assert related, article
    title_start = related.group(1).rstrip("…")

    sandbox.type("1")  # the first related story
    sandbox.expect("Herald (edited)\n  " + title_start)
    sandbox.expect("◀ Back to the list")

    sandbox.type("/search flood barrier")
    sandbox.expect("Results for “flood barrier”")
    results = sandbox.expect("\n\nYou › ")
    assert results.count("Marrowby") >= 3 and "[3] 3. " in results

    sandbox.type("/search zzzzqqq")
    sandbox.expect("Nothing found for “zzzzqqq”.")

    sandbox.type("/nonsense")
    sandbox.expect("Sorry, I don't know that command. Send /help to see what I can do.")

    sandbox.type("9")  # the search results have 3 buttons
    sandbox.expect("No button 9 on the last message with buttons (1–3).")

    assert sandbox.quit() == 0
    sandbox.expect("Bye.")
    output, stderr = sandbox.output, sandbox.stderr()
    assert "\x1b" not in output  # piped: no ANSI codes
    assert " INFO " not in output and " INFO " not in stderr  # logs go to the log file
    assert "Traceback" not in stderr and " ERROR " not in stderr, stderr
    assert not database.parent.exists()  # the temporary directory is removed


def test_sandbox_on_an_existing_database(sandboxes, tmp_path: Path) -> None:  # noqa: ANN001
    database = tmp_path / "data" / "herald.db"
    database.parent.mkdir()
    imported = run_cli("import", str(sample_file()), cwd=tmp_path, database=str(database))
    assert imported.returncode == 0, imported.stderr
    for _ in range(2):  # used as it is, each time
        sandbox = sandboxes("sandbox", "--database", str(database))
        sandbox.expect(f"Database: {database} (36 articles)")
        sandbox.type("/latest")
        sandbox.expect("Latest news")
        assert sandbox.quit() == 0
    assert "Herald is running as @HeraldSandboxBot" in (
        (database.parent / "herald-sandbox.log").read_text(encoding="utf-8")
    )


def test_a_message_of_several_lines_and_a_photo_in_the_sandbox(sandboxes) -> None:  # noqa: ANN001
    """The README's /post format (headline, body lines, #topics) can be tried in the terminal."""
    sandbox = sandboxes()
    sandbox.expect("Ctrl-D quits.")
    sandbox.type("/post Harbour reopens after the strike \\")
    sandbox.type("The port of Alder reopened on Monday.\\")
    sandbox.type("\\")
    sandbox.type("Ships queued overnight. \\")
    sandbox.type("#business")
    preview = sandbox.expect("✖ Cancel")
    assert "You › /post Harbour reopens after the strike \\\n    … " in preview
    shown = "Herald\n  Harbour reopens after the strike\n  The port of Alder reopened on Monday.\n"
    assert shown in preview
    assert preview.count("Herald\n") == 1  # one message of five lines, not five messages
    assert "Nothing found" not in preview and "Results for" not in preview
    publish = re.search(r"\[(\d+)\] ✅ Publish", preview)
    assert publish, preview
    sandbox.type(publish.group(1))
    sandbox.expect("✅ Published: Harbour reopens after the strike")

    sandbox.type("/latest business")
    sandbox.expect("Latest in #business")
    sandbox.expect("1. Harbour reopens after the strike")

    sandbox.type("!photo Ferry returns to Alder \\")
    sandbox.type("The ferry sailed again on Tuesday. #business")
    photo = sandbox.expect("✖ Cancel")
    assert "Herald\n  🖼 [photo]\n  Ferry returns to Alder\n" in photo, photo
    assert sandbox.quit() == 0
    assert "Traceback" not in sandbox.stderr()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
        return response.status, response.read()


def test_sandbox_serves_the_mini_app_as_its_reader(sandboxes) -> None:  # noqa: ANN001
    sandbox = sandboxes()
    banner = sandbox.expect("Ctrl-D quits.")
    found = re.search(r"Mini App: (http://127\.0\.0\.1:\d+/app/)#tgWebAppData=(\S+)", banner)
    assert found, banner
    app_url, init_data = found.group(1), urllib.parse.unquote(found.group(2))
    status, page = _get(app_url)
    assert status == 200 and b"static/app.js" in page
    api = app_url.removesuffix("app/") + "api/"
    latest = json.loads(_get(api + "latest")[1])
    assert len(latest["items"]) == 20  # the sample articles, newest first

    sandbox.type("/subscribe politics")
    sandbox.expect("Subscribed to #politics")
    mine = json.loads(_get(api + "me", {"Authorization": f"tma {init_data}"})[1])
    assert [s["label"] for s in mine["subscriptions"]] == ["#politics"]  # the same reader

    sandbox.type("/start")
    sandbox.expect(f"[↗] 📰 Open Herald <{app_url}>")
    assert sandbox.quit() == 0


def test_sandbox_never_fills_a_database_it_did_not_make(sandboxes, tmp_path: Path) -> None:  # noqa: ANN001
    mistyped = tmp_path / "herlad.db"
    done = run_cli("sandbox", "--database", str(mistyped), cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.splitlines() == [
        f"herald: no such database: {mistyped} (--database opens an existing Herald database; "
        "leave it out for a fresh one with sample articles)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no database, no log left behind

    empty = tmp_path / "empty.db"
    asyncio.run(_create_empty(empty))
    sandbox = sandboxes("sandbox", "--database", str(empty))
    sandbox.expect(f"Database: {empty} (no articles yet: add some with `import FILE`)")
    assert sandbox.quit() == 0
    assert asyncio.run(_count(empty)) == 0


async def _create_empty(path: Path) -> None:
    db = await Database.open(path)
    await db.close()


async def _count(path: Path) -> int:
    db = await Database.open(path)
    try:
        return await count_articles(db)
    finally:
        await db.close()
