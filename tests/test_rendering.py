"""Rendering keeps Telegram's limits whatever the content."""

from __future__ import annotations

import pytest

from bot.rendering import base, reading
from bot.sandbox.telegram_html import check_text
from bot.services.reading import ArticleView, LatestPage
from bot.services.search import SearchPage
from storage.articles import Article, Headline, Topic
from storage.search import SearchHit


def _article(**fields: object) -> Article:
    base = dict(
        id=1,
        title="Title",
        summary="",
        body="Body",
        url="https://example.com/a",
        authors=("Ann Lee",),
        source="Desk",
        topics=("politics",),
        image_url=None,
        published_at=1_700_000_000,
        updated_at=1_700_000_000,
        status="published",
    )
    base.update(fields)
    return Article(**base)


def _valid(text: str) -> None:
    check_text(text, "HTML")  # the fake Bot API's validator: raises if Telegram would refuse


@pytest.mark.parametrize(
    "body",
    [
        "x" * 10_000,
        "&<>" * 3_000,
        "😀" * 5_000,
        ("word " * 3_000),
        "a" * 4_090 + "&&&&&&&&",
    ],
)
def test_article_always_fits_and_parses(body: str) -> None:
    view = ArticleView(_article(body=body, title="<b>" * 100), [])
    out = reading.article(view, reading.ALL_LATEST)
    assert base.utf16_len(out.text) <= base.MAX_MESSAGE
    _valid(out.text)
    assert "…" in out.text


def test_article_shows_byline_topics_link_and_buttons() -> None:
    related = [Headline(i, f"Related {i} " + "x" * 80, 1_700_000_000, "Desk") for i in range(2, 6)]
    out = reading.article(ArticleView(_article(), related), reading.Origin("s", 12345, 3))
    assert "By Ann Lee · Desk" in out.text and "#politics" in out.text
    assert 'href="https://example.com/a"' in out.text
    rows = out.keyboard.inline_keyboard
    assert len(rows) == 5 and rows[-1][0].callback_data == "s:12345:3"
    assert rows[0][0].callback_data == "a:2:s12345.3"


def test_callback_data_fits_64_bytes_at_extremes() -> None:
    origin = reading.Origin("s", 10**15, 999_999)
    data = base.callback(base.OPEN, 10**15, origin.encode())
    assert len(data.encode()) <= 64
    assert reading.parse_callback(data) == reading.OpenArticle(10**15, origin)
    with pytest.raises(ValueError):
        base.callback("a", "x" * 70)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "a",
        "a::",
        "a:1",
        "a:x:l.0",
        "a:1:q.0",
        "s::0",
        "l:1:-1",
        "l:1:1.5",
        "a:1:s.0",
        "a:1:l1",
        "zz:1:0",
        "a:1:l.9999999",
        "l:1:0:0",
        "a:٣:l.0",
        "n:",
        "n:x",
        "n:1:l.0",
        "n:٣",
        "n:" + "9" * 19,
    ],
)
def test_parse_callback_rejects_what_herald_never_made(data: str) -> None:
    assert reading.parse_callback(data) is None


def test_parse_callback_round_trips() -> None:
    assert reading.parse_callback("l::2") == reading.Navigate(reading.Origin("l", None, 2))
    assert reading.parse_callback("l:7:0") == reading.Navigate(reading.Origin("l", 7, 0))
    assert reading.parse_callback("s:9:1") == reading.Navigate(reading.Origin("s", 9, 1))
    opened_below = reading.OpenArticle(12, reading.ALL_LATEST, new_message=True)
    assert reading.parse_callback("n:12") == opened_below


def test_lists_escape_titles_and_snippets() -> None:
    items = [Headline(1, "A & B <script>", 1_700_000_000, "S&P")]
    latest = reading.latest(LatestPage(Topic(3, "r&d"), 0, items, True), 5)
    _valid(latest.text)
    assert "A &amp; B &lt;script&gt;" in latest.text
    hit = SearchHit(1, "<i>x", 1_700_000_000, "", "a \x02<b>\x03 c & \x02d")
    page = SearchPage(5, "<q>", 0, [hit], False)
    out = reading.search_results(page, 5)
    _valid(out.text)
    assert "<b>&lt;b&gt;</b>" in out.text and "<b>d</b>" in out.text


def test_shorten_counts_utf16() -> None:
    assert base.utf16_len(base.shorten("😀" * 10, 7)) <= 7
    assert base.shorten("short", 10) == "short"
