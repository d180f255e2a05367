"""Rendering: domain objects → HTML text and inline keyboards. Pure functions, no I/O.

Callback-data prefixes live here so handlers' patterns and keyboards cannot drift apart.
Every text is escaped here and fitted to Telegram's limits (4096 a message, counted in UTF-16
code units, and 64 bytes of callback data), so no caller has to remember to. Every text a reader
sees goes through ``_`` (``bot.i18n``) and dates are written with Babel in the current language,
so the same function renders English or Spanish depending on whose update is being handled.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from babel.dates import format_date, format_datetime
from babel.lists import format_list
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot import i18n
from bot.i18n import N_, _
from bot.services.reading import ArticleView, LatestPage
from bot.services.search import SearchPage
from storage.articles import Article, Headline
from storage.search import MATCH_END, MATCH_START

MAX_MESSAGE = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TITLE = 60

# Callback data: "a:<article>:<origin>", "l:<topic or empty>:<page>", "s:<search>:<page>".
OPEN = "a"
LATEST = "l"
SEARCH = "s"
CALLBACK_PATTERN = r"^[als]:"
# Subscription buttons: "u:<subscription>" removes one, "t:<topic>" adds a topic.
REMOVE_SUBSCRIPTION = "u"
ADD_TOPIC = "t"
SUBSCRIPTION_PATTERN = r"^[ut]:\d{1,18}$"


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


@dataclass(frozen=True, slots=True)
class Navigate:
    origin: Origin  # the page to show


ALL_LATEST = Origin(LATEST, None, 0)


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    keyboard: InlineKeyboardMarkup | None = None


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def shorten(text: str, limit: int) -> str:
    """Cut plain text to at most ``limit`` UTF-16 units, at a word boundary, with '…'."""
    if utf16_len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    while cut and utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def escaped_within(text: str, limit: int) -> str:
    """HTML-escape ``text`` and shorten it first so the escaped form fits ``limit`` units."""
    budget = limit
    while True:
        result = html.escape(shorten(text, budget), quote=False)
        if utf16_len(result) <= limit or budget <= 0:
            return result if utf16_len(result) <= limit else ""
        budget -= utf16_len(result) - limit


def callback(*parts: object) -> str:
    data = ":".join(str(p) for p in parts)
    if len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {data!r}")
    return data


def _number(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts '٣' and '²', which Herald never writes."""
    return text.isascii() and text.isdigit()


def _origin(token: str) -> Origin | None:
    kind, key, dot, page = token[:1], token[1:].partition(".")[0], ".", token.partition(".")[2]
    if kind not in (LATEST, SEARCH) or not _number(page) or len(page) > 6 or dot not in token:
        return None
    if key and not _number(key):
        return None
    if kind == SEARCH and not key:
        return None
    return Origin(kind, int(key) if key else None, int(page))


def parse_callback(data: str) -> OpenArticle | Navigate | None:
    """Decode a button's data; None for anything Herald did not make (stale or forged)."""
    parts = data.split(":")
    if len(parts) != 3 or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    kind, first, second = parts
    if kind == OPEN and _number(first):
        origin = _origin(second)
        return None if origin is None else OpenArticle(int(first), origin)
    if kind in (LATEST, SEARCH):
        origin = _origin(f"{kind}{first}.{second}")
        return None if origin is None else Navigate(origin)
    return None


def _date(ts: int) -> str:
    """'14 Nov 2023' / '14 nov 2023': Babel's month names, not strftime's C-locale English."""
    return format_date(datetime.fromtimestamp(ts, UTC).date(), "d MMM y", locale=i18n.current())


def _datetime(ts: int) -> str:
    return format_datetime(
        datetime.fromtimestamp(ts, UTC), "d MMM y, HH:mm 'UTC'", tzinfo=UTC, locale=i18n.current()
    )


def either(choices: list[str]) -> str:
    """'a or b', 'a, b, or c', 'a, b o c': the current language's way to list alternatives."""
    return format_list(choices, style="or", locale=i18n.current())


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
            f"{_date(item.published_at)}</i>"
        )
    lines.append("\n" + _("Tap a headline to read it."))
    origin = Origin(LATEST, None if page.topic is None else page.topic.id, page.page)
    return Rendered("\n".join(lines), _list_keyboard(page.items, origin, first, page.has_next))


def _page_suffix(page: int) -> str:
    """' · page 2' after a heading, from the second page on."""
    return " · " + _("page {number}").format(number=page + 1) if page else ""


def _snippet_html(snippet: str, limit: int) -> str:
    plain = shorten(snippet.replace(MATCH_START, "").replace(MATCH_END, ""), limit)
    if plain != snippet.replace(MATCH_START, "").replace(MATCH_END, ""):
        snippet = snippet[: len(plain)]  # marks only shift positions by at most their count
    escaped = html.escape(snippet, quote=False).replace("\n", " ")
    # Balance the marks before turning them into tags, so a cut never leaves <b> open.
    out, open_ = [], False
    for ch in escaped:
        if ch == MATCH_START and not open_:
            out.append("<b>")
            open_ = True
        elif ch == MATCH_END and open_:
            out.append("</b>")
            open_ = False
        elif ch not in (MATCH_START, MATCH_END):
            out.append(ch)
    if open_:
        out.append("</b>")
    return "".join(out)


def search_results(page: SearchPage, page_size: int) -> Rendered:
    query = escaped_within(page.query, 100)
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
            f" <i>{_date(hit.published_at)}</i>\n{_snippet_html(hit.snippet, 300)}"
        )
    origin = Origin(SEARCH, page.search_id, page.page)
    return Rendered("\n".join(lines), _list_keyboard(page.hits, origin, first, page.has_next))


def _updated(ts: int) -> str:
    """The correction mark on an article page and on pushed copies."""
    updated = _("Updated {date}").format(date=_datetime(ts))
    return f"<i>✏️ {updated}</i>"


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
    meta = _datetime(a.published_at)
    if a.topics:
        meta += " · " + " ".join("#" + t.replace(" ", "_") for t in a.topics)
    head.append(escaped_within(meta, 300))
    if a.edited_at is not None:
        head.append(_updated(a.edited_at))
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


# Constants are marked with N_ for extraction and translated where they are shown: _(EXPIRED).
SEARCH_USAGE = N_(
    "Tell me what to look for, e.g. <code>/search election results</code>.\n"
    "Use quotes for a phrase, <code>word*</code> for a prefix, <code>-word</code> to leave out."
)
NOTHING_TO_SEARCH = N_(
    "I couldn't find any words to search for in that. Try letters or numbers, e.g. "
    "<code>/search budget</code>."
)
EXPIRED = N_("This button has expired.")
UNKNOWN_COMMAND = N_("Sorry, I don't know that command. Send /help to see what I can do.")
ARTICLE_GONE = N_("This article is no longer available.")
SORRY = N_("Sorry, something went wrong on my side. Please try again in a moment.")
SORRY_BUTTON = N_("Sorry, something went wrong. Please try again.")
SLOW_DOWN = N_("You're going a little fast: please wait a few seconds, then try again.")


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


def _lead(summary: str, body: str, limit: int = 200) -> str:
    """One line of summary: the summary, or the body's first sentence."""
    text = (summary or body).strip().split("\n", 1)[0]
    if not summary:
        end = text.find(". ")
        text = text[: end + 1] if 0 < end < limit else text
    return shorten(text, limit)


def push(view: ArticleView) -> Rendered:
    """The pushed headline: title, one-line summary, link; Read and related buttons.

    An article with a photo posted from Telegram goes out as that photo with this text as its
    caption, so the text always fits a caption (1024 units) too.
    """
    a = view.article
    lines = [f"<b>{escaped_within(a.title, 500)}</b>"]
    lead = _lead(a.summary, a.body)
    if lead:
        lines.append(html.escape(lead, quote=False))
    if a.url:
        label = html.escape(a.source or _("Read at the source"), quote=False)
        lines.append(f'<a href="{html.escape(a.url, quote=True)}">{label}</a>')
    if a.edited_at is not None:
        lines.append(_updated(a.edited_at))
    rows = [
        [
            InlineKeyboardButton(
                "📖 " + _("Read"), callback_data=callback(OPEN, a.id, ALL_LATEST.encode())
            )
        ]
    ]
    rows += [
        [
            InlineKeyboardButton(
                "🔗 " + shorten(r.title, MAX_BUTTON_TITLE),
                callback_data=callback(OPEN, r.id, ALL_LATEST.encode()),
            )
        ]
        for r in view.related[:3]
    ]
    return Rendered("\n".join(lines), InlineKeyboardMarkup(rows))


def push_link_preview(article: Article) -> LinkPreviewOptions:
    """A pushed text shows the article's image (a web image) as a large preview, else none.

    A preview cannot fail a send the way a photo URL Telegram cannot fetch would.
    """
    if article.image_url and not article.image_file_id:
        return LinkPreviewOptions(
            url=article.image_url, prefer_large_media=True, show_above_text=True
        )
    return LinkPreviewOptions(is_disabled=True)


def retraction_notice(article: Article, when: int) -> str:
    """What a retracted article's delivered copies are replaced with."""
    retracted = _("Retracted.")
    withdrawn = _("The editors withdrew this article on {date}.").format(date=_date(when))
    title = f"<i>{escaped_within(article.title, 300)}</i>"
    gone = _("{title} is no longer available.").format(title=title)
    return f"🚫 <b>{retracted}</b> {withdrawn}\n{gone}"
