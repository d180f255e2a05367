"""Rendering for editors: previews and their decisions, roles, the audit log and figures.

Pure functions like ``bot.rendering``; a preview reuses ``rendering.push`` so it is exactly
the message subscribers will get, with the editor's decision buttons under it.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rendering.base import (
    BREAKING,
    CANCEL,
    DRAFT,
    MAX_MESSAGE,
    PUBLISH,
    Rendered,
    callback,
    escaped_within,
    is_number,
    utf16_len,
)
from bot.rendering.push import push, related_rows
from bot.services.editors import Roster
from bot.services.newsroom import EDIT, Decided, Retracted
from bot.services.reading import ArticleView
from bot.services.stats import ArticleFigures, Stats
from storage.articles import Article
from storage.editors import AuditEntry

EDITORS_ONLY = "Sorry, only Herald's editors can do that."
PRIVATE_ONLY = "Editor commands work only in a private chat with me."
HIDDEN_SENDER = (
    "That person hides their account in forwarded messages, so Telegram does not tell me who "
    "they are. Ask them for their numeric user id and send <code>/editors add ID</code>."
)

POST_USAGE = (
    "<b>Post an article</b>\n"
    "<code>/post Headline</code>, then the text on the next lines. <code>#tags</code> become "
    "topics; a link on a line of its own becomes the article's link.\n"
    "<code>/post https://…</code> – make a draft from a web page.\n"
    "Send a photo with a caption (headline first) for an article with a picture.\n"
    "You get a preview first: nothing goes out until you press Publish or Breaking."
)
EDIT_USAGE = (
    "<b>Correct an article</b>\n"
    "<code>/edit 123</code> and, on the next lines, the headline, then the new text. Leave out "
    "the text to keep it; <code>#tags</code> replace the topics; a link line replaces the link.\n"
    "Or reply <code>/edit …</code> to the preview or to a delivered copy. You get a preview; "
    "every copy already delivered is edited in place when you apply it."
)
RETRACT_USAGE = (
    "<code>/retract 123</code> (or in reply to a copy) withdraws an article: it leaves /latest, "
    "search and related stories, and every delivered copy is replaced by a short notice."
)
EDITORS_USAGE = (
    "<code>/editors</code> – who the editors are\n"
    "<code>/editors add 123456789</code> – or reply <code>/editors add</code> to a message "
    "forwarded from that person\n"
    "<code>/editors remove 123456789</code>"
)


def preview(view: ArticleView, draft_id: int, kind: str) -> Rendered:
    """The push as subscribers will see it, and the decision buttons under it.

    The reader's related-story buttons stay, but each opens its story in a new message: turning
    the preview into that story would take the draft and its decision buttons with it. The Read
    button is left out because the article has no page until it is published.
    """
    message = push(view)
    rows = related_rows(view, new_message=True)
    if kind == EDIT:
        decisions = [
            InlineKeyboardButton(
                "✅ Apply correction", callback_data=callback(DRAFT, draft_id, PUBLISH)
            ),
            InlineKeyboardButton("✖ Cancel", callback_data=callback(DRAFT, draft_id, CANCEL)),
        ]
    else:
        decisions = [
            InlineKeyboardButton("✅ Publish", callback_data=callback(DRAFT, draft_id, PUBLISH)),
            InlineKeyboardButton("🚨 Breaking", callback_data=callback(DRAFT, draft_id, BREAKING)),
            InlineKeyboardButton("✖ Cancel", callback_data=callback(DRAFT, draft_id, CANCEL)),
        ]
    return Rendered(message.text, InlineKeyboardMarkup([*rows, decisions]))


def parse_draft_button(data: str) -> tuple[int, str] | None:
    kind, _, rest = data.partition(":")
    number, _, action = rest.partition(":")
    if kind != DRAFT or not is_number(number) or action not in "pbc":
        return None
    return int(number), action


def published(result: Decided, breaking: bool) -> str:
    what = "🚨 Published as breaking news" if breaking else "✅ Published"
    return (
        f"{what}: <b>{escaped_within(result.title, 200)}</b> (#{result.article_id}).\n"
        f"Going out to {result.copies:,} chats.\n"
        f"<code>/edit {result.article_id}</code> to correct it, "
        f"<code>/retract {result.article_id}</code> to withdraw it, "
        f"<code>/stats {result.article_id}</code> for its figures."
    )


def corrected(result: Decided) -> str:
    copies = "no copies to update" if not result.copies else f"{result.copies:,} delivered copies"
    return (
        f"✏️ Correction applied to <b>{escaped_within(result.title, 200)}</b> "
        f"(#{result.article_id}): {copies} will be edited in place and marked as updated."
    )


def retracted(result: Retracted) -> str:
    lines = [
        f"🚫 Retracted <b>{escaped_within(result.title, 200)}</b> (#{result.article_id}). "
        "It is gone from /latest, search and related stories."
    ]
    if result.copies:
        lines.append(f"{result.copies:,} delivered copies will be replaced.")
    if result.withdrawn:
        lines.append(f"{result.withdrawn:,} deliveries that had not gone out were stopped.")
    return "\n".join(lines)


CANCELLED = "✖ Cancelled. Nothing was sent."


def edit_prompt(article: Article) -> str:
    """/edit ID alone: what the article says now, and how to send the correction."""
    topics = " ".join("#" + t.replace(" ", "_") for t in article.topics)
    return (
        f"#{article.id} now reads:\n<code>{escaped_within(article.title, 300)}</code>"
        + (f"\n<code>{html.escape(topics)}</code>" if topics else "")
        + f"\n\nSend <code>/edit {article.id}</code> with the corrected headline on the next "
        "line, then the new text if it changes too (leave it out to keep it), and #tags to "
        "replace the topics."
    )


def editor_changed(verb: str, user_id: int, name: str, changed: bool) -> str:
    who = f"<code>{user_id}</code>" + (f" ({escaped_within(name, 60)})" if name else "")
    if verb == "add":
        if not changed:
            return f"{who} is already an editor."
        return f"✅ {who} is now an editor. They can use /post, /edit, /retract, /feeds and /stats."
    if not changed:
        return f"{who} was not an editor."
    return f"✅ {who} is no longer an editor."


def already_decided(state: str) -> str:
    return {
        "published": "This draft was already published.",
        "cancelled": "This draft was cancelled.",
    }.get(state, "This draft no longer exists.")


def problem(text: str) -> str:
    return f"⚠️ {html.escape(text[:1].upper() + text[1:])}."


def _when(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%-d %b %H:%M UTC")


def editors_list(roster: Roster) -> str:
    lines = ["<b>Editors</b>", "Owners (HERALD_EDITOR_IDS, may add and remove editors):"]
    lines += [f"• <code>{user_id}</code>" for user_id in sorted(roster.owners)] or ["• none"]
    lines.append("Editors:")
    lines += [
        f"• <code>{e.user_id}</code> {escaped_within(e.name, 60)}"
        f" <i>added by {e.added_by}, {_when(e.added_at)}</i>"
        for e in roster.editors
    ] or ["• none yet"]
    return "\n".join([*lines, "", EDITORS_USAGE])


def audit(entries: list[AuditEntry]) -> str:
    if not entries:
        return "The audit log is empty: no editor has done anything yet."
    lines = ["<b>Recent editor actions</b> (newest first)"]
    for e in entries:
        article = f" #{e.article_id}" if e.article_id is not None else ""
        detail = f" – {escaped_within(e.detail, 120)}" if e.detail else ""
        lines.append(
            f"{_when(e.at)} · <code>{e.editor_id}</code> {html.escape(e.action)}{article}{detail}"
        )
    return _fit(lines)


def stats(figures: Stats) -> Rendered:
    d = figures.deliveries
    lines = ["<b>Herald figures</b>", "", "<b>Subscribers</b> (chats, by kind)"]
    if not figures.subscribers:
        lines.append("none yet")
    for row in figures.subscribers[:30]:
        what = {"all": "everything", "keyword": "keywords"}.get(row.kind, f"#{row.label}")
        lines.append(f"• {html.escape(what)} — {row.chat_kind}: {row.chats:,}")
    lines += [
        "",
        "<b>Deliveries</b>",
        f"pending now: {d.pending:,}",
        f"last 24 h: {d.sent:,} sent, {d.failed:,} failed, {d.unknown:,} unknown",
        f"paused chats (blocked or removed): {figures.paused_chats:,}",
        "",
        "<b>Most read today</b> (taps on buttons that open an article)",
    ]
    if not figures.most_read:
        lines.append("no taps yet today")
    for number, (headline, taps) in enumerate(figures.most_read, start=1):
        lines.append(
            f"{number}. {escaped_within(headline.title, 120)} (#{headline.id}) – {taps:,} taps"
        )
    lines += ["", "<code>/stats 123</code> for one article's figures."]
    return Rendered(_fit(lines))


def article_figures(figures: ArticleFigures) -> str:
    a, d = figures.article, figures.deliveries
    state = "" if a.status == "published" else " <i>(retracted)</i>"
    lines = [
        f"<b>{escaped_within(a.title, 300)}</b> (#{a.id}){state}",
        f"published {_when(a.published_at)}"
        + (f", corrected {_when(a.edited_at)}" if a.edited_at else ""),
        "",
        f"reached: {d.reached:,} chats",
        f"failed: {d.failed:,}" + (f" · unknown: {d.unknown:,}" if d.unknown else ""),
        *([f"withdrawn by the retraction: {d.withdrawn:,}"] if d.withdrawn else []),
        f"still to send: {d.pending:,}",
        f"taps on its buttons: {figures.taps:,}",
    ]
    if d.updated:
        lines.append(f"copies updated by corrections: {d.updated:,}")
    if d.retracted:
        lines.append(f"copies replaced by the retraction: {d.retracted:,}")
    return "\n".join(lines)


def _fit(lines: list[str]) -> str:
    """Join lines, dropping the last ones that would pass Telegram's 4096 characters."""
    text = "\n".join(lines)
    while utf16_len(text) > MAX_MESSAGE - 10 and len(lines) > 1:
        lines = lines[:-1]
        text = "\n".join(lines) + "\n…"
    return text
