"""Rendering of reading: /latest and /search pages, the article page, help and topics.

An article button carries where the reader came from (``Origin``), so "Back to the list"
returns to the same page of the same list; ``parse_callback`` refuses anything Herald did not
make (stale or forged data).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import N_, _
from bot.rendering.base import (
    LATEST,
    MAX_BUTTON_TITLE,
    MAX_CALLBACK_BYTES,
    MAX_MESSAGE,
    OPEN,
    OPEN_NEW,
    SEARCH,
    Rendered,
    callback,
    date,
    date_time,
    either,
    escaped_within,
    is_number,
    shorten,
    updated_mark,
    utf16_len,
)
from bot.services.reading import ArticleView, LatestPage
from bot.services.search import SearchPage
from storage.articles import Headline
from storage.search import MATCH_END, MATCH_START

_QUOTED = re.compile(r'"([^"]*)"?')  # a quoted phrase as the search reads it (one unterminated)


@dataclass(frozen=True, slots=True)
class Origin:
    """The list a reader came from, so the back button can return to it."""

    kind: str  # LATEST or SEARCH
    key: int | None  # topic id, search id, or None for all of /latest
    page: int

    def encode(self) -> str:
        return f"{self.kind}{'' if self.key is None else self.key}.{self.page}"


@dataclass(frozen=True, slots=True)
class OpenArticle:
    article_id: int
    origin: Origin
    new_message: bool = False  # True: below the tapped message, which stays as it is
    new_message: bool = False  # True: below the tapped message, which stays as it is


@dataclass(frozen=True, slots=True)
class Navigate:
    origin: Origin  # the page to show


ALL_LATEST = Origin(LATEST, None, 0)


def _origin(token: str) -> Origin | None:
    kind, key, dot, page = token[:1], token[1:].partition(".")[0], ".", token.partition(".")[2]
    if kind not in (LATEST, SEARCH) or not is_number(page) or len(page) > 6 or dot not in token:
        return None
    if key and not is_number(key):
        return None
    if kind == SEARCH and not key:
        return None
    return Origin(kind, int(key) if key else None, int(page))


def parse_callback(data: str) -> OpenArticle | Navigate | None:
    """Decode a button's data; None for anything Herald did not make (stale or forged)."""
    parts = data.split(":")
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    if len(parts) == 2 and parts[0] == OPEN_NEW and is_number(parts[1]) and len(parts[1]) <= 18:
        return OpenArticle(int(parts[1]), ALL_LATEST, new_message=True)
    if len(parts) != 3:
        return None
    kind, first, second = parts
    if kind == OPEN and is_number(first):
        origin = _origin(second)
        return None if origin is None else OpenArticle(int(first), origin)
    if kind in (LATEST, SEARCH):
        origin = _origin(f"{kind}{first}.{second}")
        return None if origin is None else Navigate(origin)
    return None


def _button_title(number: int, title: str) -> str:
    return shorten(f"{number}. {title}", MAX_BUTTON_TITLE)


def _nav_row(origin: Origin, has_next: bool) -> list[InlineKeyboardButton]:
    key = "" if origin.key is None else origin.key
    row = []
    if origin.page > 0:
        row.append(
            InlineKeyboardButton(
                "◀ " + (_("Newer") if origin.kind == LATEST else _("Back")),
                callback_data=callback(origin.kind, key, origin.page - 1),
            )
        )
    if has_next:
        row.append(
            InlineKeyboardButton(
                (_("Older") if origin.kind == LATEST else _("More")) + " ▶",
                callback_data=callback(origin.kind, key, origin.page + 1),
            )
        )
    return row


def _list_keyboard(
    headlines: list[Headline], origin: Origin, first_number: int, has_next: bool
) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                _button_title(first_number + i, h.title),
                callback_data=callback(OPEN, h.id, origin.encode()),
            )
        ]
        for i, h in enumerate(headlines)
    ]
    nav = _nav_row(origin, has_next)
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def latest(page: LatestPage, page_size: int) -> Rendered:
    if page.topic is None:
        heading = _("Latest news")
    else:
        heading = _("Latest in {topic}").format(topic=f"#{page.topic.name}")
    if not page.items:
        empty = _("No articles yet.") if page.page == 0 else _("No more articles.")
        return Rendered(f"<b>{html.escape(heading)}</b>\n\n{empty}")
    first = page.page * page_size + 1
    lines = [f"<b>{html.escape(heading)}</b>" + _page_suffix(page.page)]
    for i, item in enumerate(page.items):
        lines.append(
            f"\n{first + i}. {escaped_within(item.title, 300)}"
            f"\n<i>{html.escape(item.source)}{' · ' if item.source else ''}"
            f"{date(item.published_at)}</i>"
        )
    lines.append("\n" + _("Tap a headline to read it."))
    origin = Origin(LATEST, None if page.topic is None else page.topic.id, page.page)
    return Rendered("\n".join(lines), _list_keyboard(page.items, origin, first, page.has_next))


def _page_suffix(page: int) -> str:
    """' · page 2' after a heading, from the second page on."""
    return " · " + _("page {number}").format(number=page + 1) if page else ""


_MARKS = re.compile(f"([{MATCH_START}{MATCH_END}])")


def _snippet_html(snippet: str, limit: int) -> str:
    plain = shorten(snippet.replace(MATCH_START, "").replace(MATCH_END, ""), limit)
    if plain != snippet.replace(MATCH_START, "").replace(MATCH_END, ""):
        snippet = snippet[: len(plain)]  # marks only shift positions by at most their count
    escaped = html.escape(snippet, quote=False).replace("\n", " ")
    # Balance the marks before turning them into tags, so a cut never leaves <b> open.
    out, open_ = [], False
    for part in _MARKS.split(escaped):
        if part == MATCH_START:
            if not open_:
                out.append("<b>")
                open_ = True
        elif part == MATCH_END:
            if open_:
                out.append("</b>")
                open_ = False
        else:
            out.append(part)
    if open_:
        out.append("</b>")
    return "".join(out)


def query_echo(query: str, limit: int = 100) -> str:
    """The reader's query for inside the heading's own quotes, escaped and shortened.

    A query that is one quoted phrase loses its straight quotes ('"flood barrier"' would show
    as “"flood barrier"”); a quoted phrase among other words gets the language's inner quotes.
    """
    text = " ".join(query.split())
    whole = _QUOTED.fullmatch(text)
    if whole and whole.group(1).strip():
        text = whole.group(1).strip()
    else:
        text = _QUOTED.sub(lambda m: _("‘{phrase}’").format(phrase=m.group(1).strip()), text)
    return escaped_within(text, limit)


def search_results(page: SearchPage, page_size: int) -> Rendered:
    query = query_echo(page.query)
    if not page.hits:
        if page.page == 0:
            return Rendered(
                _("Nothing found for “{query}”.").format(query=query)
                + "\n\n"
                + _("Try fewer or different words, check the spelling, or browse with /latest.")
            )
        return Rendered(_("No more results for “{query}”.").format(query=query))
    first = page.page * page_size + 1
    heading = _("Results for “{query}”").format(query=query)
    lines = [f"🔎 <b>{heading}</b>" + _page_suffix(page.page)]
    for i, hit in enumerate(page.hits):
        lines.append(
            f"\n{first + i}. <b>{escaped_within(hit.title, 300)}</b>"
            f" <i>{date(hit.published_at)}</i>\n{_snippet_html(hit.snippet, 300)}"
        )
    origin = Origin(SEARCH, page.search_id, page.page)
    return Rendered("\n".join(lines), _list_keyboard(page.hits, origin, first, page.has_next))


def article(view: ArticleView, origin: Origin) -> Rendered:
    """The article page: fits 4096 units whatever the body's length or content."""
    a = view.article
    head = [f"<b>{escaped_within(a.title, 600)}</b>"]
    byline = ", ".join(a.authors)
    credit = " · ".join(
        p for p in (byline and _("By {authors}").format(authors=byline), a.source) if p
    )
    if credit:
        head.append(f"<i>{escaped_within(credit, 300)}</i>")
    meta = date_time(a.published_at)
    if a.topics:
        meta += " · " + " ".join("#" + t.replace(" ", "_") for t in a.topics)
    head.append(escaped_within(meta, 300))
    if a.edited_at is not None:
        head.append(updated_mark(a.edited_at))
    top = "\n".join(head)
    tail = ""
    if a.url:
        link = html.escape(a.url, quote=True)
        label = html.escape(_("Read the full story"))
        tail = f'\n\n<a href="{link}">{label}</a>'
    text_parts = [p for p in (a.summary, a.body) if p]
    if a.summary and a.body.startswith(a.summary):
        text_parts = [a.body]
    budget = MAX_MESSAGE - utf16_len(top) - utf16_len(tail) - 2
    body = escaped_within("\n\n".join(text_parts), budget) if budget > 0 else ""
    text = top + (f"\n\n{body}" if body else "") + tail
    rows = [
        [
            InlineKeyboardButton(
                "🔗 " + shorten(r.title, MAX_BUTTON_TITLE),
                callback_data=callback(OPEN, r.id, origin.encode()),
            )
        ]
        for r in view.related
    ]
    key = "" if origin.key is None else origin.key
    rows.append(
        [
            InlineKeyboardButton(
                "◀ " + _("Back to the list"),
                callback_data=callback(origin.kind, key, origin.page),
            )
        ]
    )
    return Rendered(text, InlineKeyboardMarkup(rows))


def help_text(bot_username: str | None) -> str:
    """What /start and /help answer: what Herald does, each command, and how to search.

    Commands and examples that must be typed as shown stay out of the translated sentences
    (placeholders); a translator never has to copy them exactly.
    """
    mention = f"@{bot_username}" if bot_username else "Herald"
    lines = [
        _(
            "{herald} brings the newsroom to Telegram: the latest headlines, search across "
            "every story, and related stories one tap away."
        ).format(herald="<b>Herald</b>"),
        "",
        _("/latest – the newest articles"),
        _("/latest <i>topic</i> – the newest in one topic, e.g. {example}").format(
            example="<code>/latest politics</code>"
        ),
        _("/search <i>words</i> – find articles, e.g. {example}").format(
            example='<code>/search "climate deal" -coal</code>'
        ),
        _(
            "/subscribe – new articles as they are published: everything, topics ({topics}) "
            "or keywords ({keywords})"
        ).format(
            topics="<code>/subscribe politics</code>",
            keywords='<code>/subscribe "climate deal"</code>',
        ),
        _("/unsubscribe, /subscriptions, /topics – manage what you receive"),
        _("/channel <i>@name</i> – manage a channel you run from here"),
        _(
            "/settings – instant news or a digest, quiet hours, time zone, link previews, "
            "language"
        ),
        _("/here – in a group with topics, post news in the topic where you send it"),
        _("/help – this message"),
        _("Or just type a few words here to search."),
        "",
        _(
            'Search tips: <code>"exact phrase"</code>, <code>word*</code> for a prefix, '
            "<code>-word</code> to leave out, <code>a OR b</code> for either."
        ),
        _("In groups, address me as {example}.").format(
            example=f"/latest@{html.escape(mention.lstrip('@'))}"
        ),
        _("In any chat, type {mention} and a few words to share an article.").format(
            mention=html.escape(mention)
        ),
    ]
    return "\n".join(lines)


# Constants are marked with N_ and translated where they are shown: _(SEARCH_USAGE).
SEARCH_USAGE = N_(
    "Tell me what to look for, e.g. <code>/search election results</code>.\n"
    "Use quotes for a phrase, <code>word*</code> for a prefix, <code>-word</code> to leave out."
)
NOTHING_TO_SEARCH = N_(
    "I couldn't find any words to search for in that. Try letters or numbers, e.g. "
    "<code>/search budget</code>."
)
# A tap on a list's ◀ ▶ under a channel post: paging would change the post for every subscriber.
BROWSE_PRIVATELY = N_(
    "This list belongs to the channel. Send /latest to me in a private chat to browse."
)
ONLY_EXCLUDED = N_(
    "A search needs at least one word to look for, besides the ones to leave out with "
    "<code>-word</code>, e.g. <code>/search flood -coal</code>."
)
ARTICLE_GONE = N_("This article is no longer available.")


def unknown_topic(name: str, suggestions: list[str]) -> str:
    text = _("I don't know the topic “{topic}”.").format(topic=escaped_within(name, 60))
    if suggestions:
        choices = [f"<code>/latest {html.escape(s)}</code>" for s in suggestions]
        text += " " + _("Did you mean {suggestions}?").format(suggestions=either(choices))
    return text + "\n" + _("Send /latest for everything.")


# The command menu (setMyCommands), published once per language by bot.app.register_commands.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("latest", N_("Newest articles, optionally of one topic")),
    ("search", N_("Search all articles")),
    ("subscribe", N_('Get new articles: everything, topics or "keywords"')),
    ("unsubscribe", N_("Stop some or all subscriptions")),
    ("subscriptions", N_("See and change this chat's subscriptions")),
    ("topics", N_("Topics and how many articles each has")),
    ("settings", N_("Delivery, quiet hours, time zone, language")),
    ("help", N_("What Herald does and how to use it")),
    ("start", N_("Start Herald")),
)
