"""The Mini App as a reader meets it: the real Herald on 127.0.0.1, headless Chromium.

Each test opens the page Herald serves with Telegram's script replaced by a stub that records
calls (``tests/browser.py``), does what a reader does, and checks what the page shows, what it
asked Telegram to do, what the chat shows afterwards, and that the console stayed clean.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from bot.sandbox.samples import seed_samples
from bot.services.importer import import_file
from storage.db import Database
from tests.browser import DARK, LIGHT, Page, chromium, open_app, require_browser
from tests.conftest import shared_file
from tests.factories import READER, Herald, article, store
from tests.webapp_client import base_url, init_data

require_browser()

SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
WAIT = 10_000  # ms: how long Playwright waits for something to appear, never a timing claim


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    async with chromium(tmp_path / "profile") as context:
        yield context


async def open_for(herald: Herald, browser: Any, language: str = "en", **kwargs: Any) -> Page:
    data = init_data(herald, READER, language=language)
    return await open_app(browser, base_url(herald) + "/app/", init_data=data, **kwargs)


async def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in await page.page.locator(selector).all_inner_texts()]


async def shown(page: Page, selector: str) -> None:
    await page.page.locator(selector).first.wait_for(state="visible", timeout=WAIT)


async def test_front_page_newest_first_with_endless_scroll(
    herald: Herald, db: Database, browser: Any
) -> None:
    await store(db, *[article(f"Story number {i}") for i in range(30)])
    page = await open_for(herald, browser)
    await shown(page, "#latest-list li")
    titles = await texts(page, "#latest-list .title")
    assert titles[:3] == ["Story number 29", "Story number 28", "Story number 27"]
    assert len(titles) == 20
    await page.page.locator("#latest-sentinel").scroll_into_view_if_needed()
    await page.page.locator("#latest-list li").nth(29).wait_for(timeout=WAIT)
    assert (await texts(page, "#latest-list .title"))[-1] == "Story number 0"
    assert await page.calls_named("ready") and await page.calls_named("expand")
    assert page.errors == []


async def test_search_as_you_type_on_the_bbc_corpus(
    herald: Herald, db: Database, browser: Any
) -> None:
    await import_file(db, shared_file("bbc_news.jsonl"))
    page = await open_for(herald, browser)
    await page.page.click("#tab-search")
    await page.page.locator("#search-input").press_sequentially("mobile phone", delay=30)
    await shown(page, "#search-list li")
    titles = await texts(page, "#search-list .title")
    snippets = await page.page.locator("#search-list .snippet").evaluate_all(
        "els => els.map(e => e.innerHTML)"
    )
    assert titles and any("phone" in t.lower() for t in titles)
    assert all("<b>" in s for s in snippets[:3])
    searches = await page.page.evaluate("window.__herald.searches")
    assert [s["query"] for s in searches] == ["mobile phone"]  # debounced: one request
    print(f"debounce → results on screen: {searches[0]['ms']:.0f} ms")  # bench/ holds targets
    await page.page.fill("#search-input", "zzqqxxnothing")
    await shown(page, "#search-empty")
    assert "zzqqxxnothing" in await page.page.inner_text("#search-empty")
    assert page.errors == []


async def test_article_related_back_button_and_main_button(
    herald: Herald, db: Database, browser: Any
) -> None:
    await seed_samples(db)
    page = await open_for(herald, browser)
    await page.page.click("#tab-search")
    await page.page.fill("#search-input", "flood barrier")
    await shown(page, "#search-list li")
    await page.page.locator("#search-list a").first.click()
    await shown(page, "#related-list li")
    first_title = await page.page.inner_text("#article-title")
    assert "River Tane" in first_title
    assert await page.page.inner_text("#article-text")
    related = await texts(page, "#related-list .title")
    assert related and all("Marrowby" in t for t in related[:2])
    assert await page.calls_named("BackButton.show")
    assert ["MainButton.setText", "Open original"] in await page.telegram_calls()
    await page.page.locator("#related-list a").first.click()
    await page.page.wait_for_function(
        "t => document.getElementById('article-title').textContent !== t", arg=first_title
    )
    assert await page.page.inner_text("#article-title") == related[0]
    await page.page.evaluate("Telegram.WebApp.MainButton.__press()")
    opened = await page.calls_named("openLink")
    assert len(opened) == 1 and opened[0][1].startswith("https://")
    await page.page.click("#article-share")
    assert (await page.calls_named("openTelegramLink"))[0][1].startswith("https://t.me/share/url")
    await page.page.evaluate("Telegram.WebApp.BackButton.__press()")
    await shown(page, "#view-search")
    assert await page.page.is_hidden("#view-article")
    assert await page.calls_named("BackButton.hide")
    assert page.errors == []


async def test_subscriptions_and_settings_match_the_chat_both_ways(
    herald: Herald, db: Database, browser: Any
) -> None:
    await store(db, article("Cup final", topics=("sport",)), article("Vote", topics=("politics",)))
    page = await open_for(herald, browser)
    await page.page.click("#tab-mine")
    await shown(page, "#mine-panel")
    await page.page.fill("#subscribe-input", '"climate deal"')
    await page.page.click("#subscribe-form button[type=submit]")
    await subscription_shown(page, "“climate deal”")
    await page.page.get_by_role("button", name="+ #sport").click()
    await subscription_shown(page, "#sport")
    async with saved(page):
        await page.page.select_option("#set-mode", "daily")
    await shown(page, "#daily-row")
    async with saved(page):
        await page.page.select_option("#set-quiet", "23:00-07:00")
    await page.page.fill("#set-tz", "europe/madrid")
    async with saved(page):
        await page.page.click("#save-tz")
    await page.page.wait_for_function(  # as the server stored it
        "() => document.getElementById('set-tz').value === 'Europe/Madrid'"
    )

    listing = (await herald.send("/subscriptions")).visible_text
    assert "#sport" in listing and "climate deal" in listing
    panel = (await herald.send("/settings")).visible_text
    assert "daily digest at 08:00" in panel and "23:00–07:00" in panel
    assert "Europe/Madrid" in panel

    await herald.send('/unsubscribe "climate deal"')
    await herald.send("/subscribe politics")
    await herald.send("/quiet off")
    await page.page.click("#tab-latest")
    await page.page.click("#tab-mine")
    await subscription_shown(page, "#politics")
    assert sorted(await texts(page, "#subs-list li span")) == ["#politics", "#sport"]
    assert await page.page.input_value("#set-quiet") == "off"
    await page.page.get_by_role("button", name="Remove #sport").click()
    await page.page.wait_for_function(
        "() => document.querySelectorAll('#subs-list li').length === 1"
    )
    assert "#sport" not in (await herald.send("/subscriptions")).visible_text
    assert page.errors == []


async def subscription_shown(page: Page, label: str) -> None:
    await page.page.locator("#subs-list").get_by_text(label, exact=True).wait_for(timeout=WAIT)


@asynccontextmanager
async def saved(page: Page) -> AsyncIterator[None]:
    """Wait for the settings request the block's action makes, and for its answer."""
    async with page.page.expect_response(lambda r: "/api/settings" in r.url) as response:
        yield
    assert (await response.value).ok


async def test_theme_colours_follow_theme_changed(
    herald: Herald, db: Database, browser: Any
) -> None:
    await store(db, article("Anything"))
    page = await open_for(herald, browser, theme=LIGHT)
    await shown(page, "#latest-list li")
    background = "getComputedStyle(document.body).backgroundColor"
    assert await page.page.evaluate(background) == "rgb(255, 255, 255)"
    link = "getComputedStyle(document.getElementById('tab-latest')).color"
    assert await page.page.evaluate(link) == "rgb(51, 144, 236)"
    await page.page.evaluate(
        "(p) => { Telegram.WebApp.themeParams = p; Telegram.WebApp.colorScheme = 'dark';"
        " Telegram.WebApp.__emit('themeChanged'); }",
        DARK,
    )
    assert await page.page.evaluate(background) == "rgb(33, 33, 33)"
    assert await page.page.evaluate(link) == "rgb(135, 116, 225)"
    assert ["onEvent", "themeChanged"] in await page.telegram_calls()
    assert page.errors == []


async def test_a_spanish_user_reads_spanish(herald: Herald, db: Database, browser: Any) -> None:
    await store(db, article("Hola mundo", topics=("deportes",)))
    page = await open_for(herald, browser, language="es")
    await shown(page, "#latest-list li")
    assert await texts(page, ".tabs button") == ["Últimas", "Buscar", "Mis noticias"]
    assert "nov 2023" in (await texts(page, "#latest-list .meta"))[0]
    await page.page.click("#tab-mine")
    await shown(page, "#mine-panel")
    assert "Suscripciones" in await page.page.inner_text("#mine-panel")
    assert await page.page.evaluate("document.documentElement.lang") == "es"
    assert page.errors == []


async def test_an_ordinary_browser_reads_without_telegram(
    herald: Herald, db: Database, browser: Any
) -> None:
    await seed_samples(db)
    page = await open_app(browser, base_url(herald) + "/app/", telegram=False)
    await shown(page, "#latest-list li")
    await page.page.locator("#latest-list a").first.click()
    await shown(page, "#article-title")
    await page.page.click("#article-back")
    await shown(page, "#view-latest")
    await page.page.click("#tab-mine")
    await shown(page, "#mine-guest")
    assert "Telegram" in await page.page.inner_text("#mine-guest")
    assert page.errors == []


async def test_startapp_parameter_opens_that_article(
    herald: Herald, db: Database, browser: Any
) -> None:
    ids = await store(db, article("The one linked from a group"), article("Something newer"))
    data = init_data(herald, READER, start_param=f"a{ids[0]}")
    page = await open_app(
        browser, base_url(herald) + "/app/", init_data=data, start_param=f"a{ids[0]}"
    )
    await shown(page, "#view-article")
    assert await page.page.inner_text("#article-title") == "The one linked from a group"
    assert page.errors == []


@pytest.mark.parametrize(("theme", "scheme"), [(LIGHT, "light"), (DARK, "dark")])
async def test_screenshots_of_every_view(
    herald: Herald, db: Database, browser: Any, theme: dict[str, str], scheme: str
) -> None:
    """docs/screenshots/<view>-<theme>.png, shown in the README."""
    await seed_samples(db)
    await herald.send("/subscribe politics")
    await herald.send('/subscribe "flood barrier"')
    page = await open_for(herald, browser, theme=theme, color_scheme=scheme)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await shown(page, "#latest-list li")
    await page.page.screenshot(path=SCREENSHOTS / f"latest-{scheme}.png")
    await page.page.click("#tab-search")
    await page.page.fill("#search-input", "flood barrier")
    await shown(page, "#search-list li")
    await page.page.screenshot(path=SCREENSHOTS / f"search-{scheme}.png")
    await page.page.locator("#search-list a").first.click()
    await shown(page, "#related-list li")
    await page.page.screenshot(path=SCREENSHOTS / f"article-{scheme}.png", full_page=True)
    await page.page.click("#tab-mine")
    await shown(page, "#subs-list li")
    await page.page.screenshot(path=SCREENSHOTS / f"mine-{scheme}.png", full_page=True)
    assert page.errors == []


async def test_init_data_in_the_address_without_telegrams_script(
    herald: Herald, db: Database, browser: Any
) -> None:
    """As the sandbox's link opens it: the signed initData in the hash, no Telegram script."""
    await store(db, article("Budget passes", topics=("politics",)))
    await herald.send("/subscribe politics")
    data = quote(init_data(herald, READER), safe="")
    page = await open_app(browser, f"{base_url(herald)}/app/#tgWebAppData={data}", telegram=False)
    await shown(page, "#latest-list li")
    await page.page.click("#tab-mine")
    await subscription_shown(page, "#politics")
    assert page.errors == []
