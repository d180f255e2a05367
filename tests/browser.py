"""Headless Chromium (Debian's ``chromium`` package) driven by Playwright for Python.

Nothing is downloaded: Playwright's wheel carries its driver, the browser is /usr/bin/chromium
(``apt-get install chromium``), and every request that is not to Herald on 127.0.0.1 is
answered here: Telegram's ``telegram-web-app.js`` by a stub that records each call in
``window.__tgCalls``, images by a 1×1 PNG, anything else by an empty 204.

Without a browser the tests skip with one line; ``HERALD_TEST_REQUIRE_BROWSER=1`` (set by
``.ci/run``) turns that skip into a failure, so CI cannot pass without running them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("HERALD_TEST_CHROMIUM", "/usr/bin/chromium")
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#707579",
    "link_color": "#3390ec",
    "button_color": "#3390ec",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f4f4f5",
}
DARK = {
    "bg_color": "#212121",
    "text_color": "#ffffff",
    "hint_color": "#aaaaaa",
    "link_color": "#8774e1",
    "button_color": "#8774e1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#181818",
}

STUB = """
(function () {
  const config = %s;
  const calls = (window.__tgCalls = []);
  const handlers = {};
  const record = (name, args) => calls.push([name].concat(Array.from(args)));
  function button(prefix) {
    const clicks = [];
    const b = {
      isVisible: false, text: "",
      show() { record(prefix + ".show", arguments); b.isVisible = true; return b; },
      hide() { record(prefix + ".hide", arguments); b.isVisible = false; return b; },
      setText(text) { record(prefix + ".setText", arguments); b.text = text; return b; },
      onClick(cb) { record(prefix + ".onClick", []); clicks.push(cb); return b; },
      offClick(cb) { const i = clicks.indexOf(cb); if (i >= 0) clicks.splice(i, 1); return b; },
      __press() { clicks.forEach((cb) => cb()); },
    };
    return b;
  }
  const app = {
    initData: config.initData,
    initDataUnsafe: config.initDataUnsafe,
    version: "8.0",
    platform: "tdesktop",
    colorScheme: config.colorScheme,
    themeParams: config.themeParams,
    ready() { record("ready", arguments); },
    expand() { record("expand", arguments); },
    openLink(url) { record("openLink", arguments); },
    openTelegramLink(url) { record("openTelegramLink", arguments); },
    onEvent(name, cb) {
      record("onEvent", [name]);
      (handlers[name] = handlers[name] || []).push(cb);
    },
    offEvent(name, cb) { record("offEvent", [name]); },
    BackButton: button("BackButton"),
    MainButton: button("MainButton"),
    __emit(name) { (handlers[name] || []).forEach((cb) => cb.call(app)); },
  };
  window.Telegram = { WebApp: app };
})();
"""


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    return None


def require_browser() -> None:
    """Skip the module with one clear line, or fail when CI requires the browser tests."""
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("HERALD_TEST_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}", allow_module_level=True)


@dataclass
class Page:
    """A Playwright page on the Mini App, with what its console and Telegram stub saw."""

    page: Any
    errors: list[str] = field(default_factory=list)

    async def telegram_calls(self) -> list[list[Any]]:
        return await self.page.evaluate("window.__tgCalls || []")

    async def calls_named(self, name: str) -> list[list[Any]]:
        return [call for call in await self.telegram_calls() if call[0] == name]


@asynccontextmanager
async def chromium(profile: Path) -> AsyncIterator[Any]:
    """A fresh headless Chromium context (its own --user-data-dir), closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 420, "height": 860},
            device_scale_factor=1,
        )
        try:
            yield context
        finally:
            await context.close()


async def open_app(
    context: Any,
    url: str,
    *,
    init_data: str = "",
    theme: dict[str, str] | None = None,
    color_scheme: str = "light",
    start_param: str | None = None,
    telegram: bool = True,
) -> Page:
    """Open the app at ``url`` with the Telegram stub (or none: an ordinary browser)."""
    page = await context.new_page()
    seen = Page(page)
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda exc: seen.errors.append(f"uncaught: {exc}"))
    unsafe: dict[str, Any] = {}
    if start_param:
        unsafe["start_param"] = start_param
    config = {
        "initData": init_data,
        "initDataUnsafe": unsafe,
        "colorScheme": color_scheme,
        "themeParams": theme or LIGHT,
    }
    stub = STUB % json.dumps(config)

    async def answer(route: Any) -> None:
        request_url = route.request.url
        if request_url.startswith(TELEGRAM_SCRIPT):
            if telegram:
                await route.fulfill(status=200, content_type="text/javascript", body=stub)
            else:
                await route.fulfill(status=200, content_type="text/javascript", body="")
        elif request_url.startswith(("http://127.0.0.1", "http://localhost")):
            await route.continue_()
        elif route.request.resource_type == "image":
            await route.fulfill(status=200, content_type="image/png", body=PIXEL)
        else:
            await route.fulfill(status=204, body="")

    await page.route("**/*", answer)
    await page.goto(url)
    return seen
