"""Rendering of pushes: the message a subscriber gets, and the Bot API calls that carry it.

A push is rendered once per article and language and sent to every chat that wants it, so it is
rendered here as the Bot API calls themselves (``Prepared``): the send, the correction that
edits a delivered copy in place, and the retraction notice. The delivery worker only adds the
chat (and the message id); it never builds a payload itself. Digests are in
``bot.rendering.digest``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.i18n import _
from bot.rendering.base import (
    MAX_BUTTON_TITLE,
    OPEN,
    OPEN_NEW,
    Rendered,
    callback,
    date,
    escaped_within,
    shorten,
    updated_mark,
)
from bot.rendering.reading import ALL_LATEST
from bot.services.reading import ArticleView
from storage.articles import PUBLISHED, Article

NO_PREVIEW: dict[str, Any] = {"is_disabled": True}


def _lead(summary: str, body: str, limit: int = 200) -> str:
    """One line of summary: the summary, or the body's first sentence."""
    text = (summary or body).strip().split("\n", 1)[0]
    if not summary:
        end = text.find(". ")
        text = text[: end + 1] if 0 < end < limit else text
    return shorten(text, limit)


def push(view: ArticleView, app_link: str | None = None) -> Rendered:
    """The pushed headline: title, one-line summary, link; Read and related buttons, and
    ``app_link`` (the Mini App's direct link to this article) when Herald has one.

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
        lines.append(updated_mark(a.edited_at))
    rows = [
        [
            InlineKeyboardButton(
                "📖 " + _("Read"), callback_data=callback(OPEN, a.id, ALL_LATEST.encode())
            )
        ]
    ]
    rows += related_rows(view, new_message=False)
    if app_link:  # the Mini App's direct link: a URL button works in groups and channels too
        rows.append([InlineKeyboardButton("📰 " + _("Open in Herald"), url=app_link)])
    return Rendered("\n".join(lines), InlineKeyboardMarkup(rows))


def related_rows(view: ArticleView, *, new_message: bool) -> list[list[InlineKeyboardButton]]:
    """A push's related-story buttons (three at most); ``new_message``: each opens its story
    in a new message instead of turning the tapped message into it."""
    return [
        [
            InlineKeyboardButton(
                "🔗 " + shorten(r.title, MAX_BUTTON_TITLE),
                callback_data=(
                    callback(OPEN_NEW, r.id)
                    if new_message
                    else callback(OPEN, r.id, ALL_LATEST.encode())
                ),
            )
        ]
        for r in view.related[:3]
    ]


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
    withdrawn = _("The editors withdrew this article on {date}.").format(date=date(when))
    title = f"<i>{escaped_within(article.title, 300)}</i>"
    gone = _("{title} is no longer available.").format(title=title)
    return f"🚫 <b>{retracted}</b> {withdrawn}\n{gone}"


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article's Bot API calls, minus the chat (and message) they go to."""

    send: tuple[str, dict[str, Any]]  # the push: sendMessage, or sendPhoto for a photo post
    edit: tuple[str, dict[str, Any]]  # a correction: the same text, edited in place
    retract: tuple[str, dict[str, Any]]  # the retraction notice, edited in place
    photo: bool
    retracted: bool  # withdrawn: nothing new goes out, copies get the notice


def prepared(view: ArticleView, retracted_at: int, app_link: str | None = None) -> Prepared:
    """The calls that send, correct or retract the push of ``view``'s article.

    ``retracted_at`` dates the retraction notice (the article's last change, when it has one).
    """
    article = view.article
    message = push(view, app_link)
    keyboard = message.keyboard.to_dict() if message.keyboard else None
    notice = retraction_notice(article, retracted_at)
    if article.image_file_id:
        caption = {"caption": message.text, "parse_mode": "HTML", "reply_markup": keyboard}
        return Prepared(
            send=("sendPhoto", {"photo": article.image_file_id} | caption),
            edit=("editMessageCaption", caption),
            retract=("editMessageCaption", {"caption": notice, "parse_mode": "HTML"}),
            photo=True,
            retracted=article.status != PUBLISHED,
        )
    text = {
        "text": message.text,
        "parse_mode": "HTML",
        "link_preview_options": push_link_preview(article).to_dict(),
        "reply_markup": keyboard,
    }
    return Prepared(
        send=("sendMessage", text),
        edit=("editMessageText", text),
        retract=(
            "editMessageText",
            {"text": notice, "parse_mode": "HTML", "link_preview_options": NO_PREVIEW},
        ),
        photo=False,
        retracted=article.status != PUBLISHED,
    )
