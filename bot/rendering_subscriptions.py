"""Rendering for subscriptions, groups and channels. Pure, like rendering."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rendering import ADD_TOPIC, REMOVE_SUBSCRIPTION, Rendered, callback, shorten
from bot.services.subscriptions import Change, describe
from storage.articles import Topic
from storage.subscriptions import Subscription

ADMINS_ONLY = "Only this chat's admins can change what Herald sends here."
SUBSCRIBE_USAGE = (
    "\n\nUse <code>/subscribe</code> for everything, <code>/subscribe politics sport</code> for "
    'topics (see /topics), or <code>/subscribe "climate deal"</code> for a keyword or phrase.'
)


def change(kind: str, result: Change) -> Rendered:
    """The reply to /subscribe (kind 'subscribe') or /unsubscribe (kind 'unsubscribe')."""
    lines = []
    if result.done:
        verb = "Subscribed to" if kind == "subscribe" else "Unsubscribed from"
        lines.append(f"✅ {verb} {html.escape(', '.join(result.done))}.")
    if result.unchanged:
        what = "Already subscribed to" if kind == "subscribe" else "Not subscribed to"
        lines.append(f"{what} {html.escape(', '.join(result.unchanged))}.")
    for word, suggestions in result.unknown.items():
        line = f"I don't know the topic “{html.escape(shorten(word, 40))}”."
        if suggestions:
            line += (
                " Did you mean "
                + " or ".join(f"<code>/{kind} {html.escape(s)}</code>" for s in suggestions)
                + "?"
            )
        elif kind == "subscribe" and not word.startswith("“"):
            line += (
                f" To follow it as a keyword, put it in quotes: "
                f'<code>/subscribe "{html.escape(shorten(word, 40))}"</code>.'
            )
        lines.append(line)
    if result.too_many:
        lines.append("That is as many subscriptions as one chat can have; remove some first.")
    if not lines:
        lines.append("Nothing changed.")
    if result.unknown and not result.done:
        lines[-1] += SUBSCRIBE_USAGE
    return Rendered("\n".join(lines))


def subscription_list(title: str, subs: list[Subscription], topics: list[Topic]) -> Rendered:
    """The chat's subscriptions, a remove button on each, and buttons to add topics."""
    if subs:
        lines = [f"<b>{html.escape(title)} receives:</b>"]
        lines += [f"• {html.escape(describe(s))}" for s in subs]
    else:
        lines = [
            f"<b>{html.escape(title)} has no subscriptions yet.</b>",
            "Send /subscribe for everything, or add a topic below.",
        ]
    rows = [
        [
            InlineKeyboardButton(
                f"✖ {shorten(describe(s), 40)}", callback_data=callback(REMOVE_SUBSCRIPTION, s.id)
            )
        ]
        for s in subs[:40]
    ]
    followed = {s.topic_id for s in subs}
    if not any(s.kind == "all" for s in subs):
        extra = [t for t in topics if t.id not in followed][:8]
        buttons = [
            InlineKeyboardButton(
                f"➕ #{shorten(t.name, 24)}", callback_data=callback(ADD_TOPIC, t.id)
            )
            for t in extra
        ]
        rows += [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return Rendered("\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


def topic_list(topics: list[Topic]) -> Rendered:
    if not topics:
        return Rendered("There are no topics yet.")
    lines = ["<b>Topics</b> (articles)"]
    lines += [f"#{html.escape(t.name.replace(' ', '_'))} ({t.articles:,})" for t in topics[:60]]
    lines.append(
        "\nFollow one with <code>/subscribe TOPIC</code>; browse with <code>/latest TOPIC</code>."
    )
    return Rendered("\n".join(lines))


def group_welcome(bot_username: str) -> Rendered:
    name = html.escape(bot_username)
    return Rendered(
        "👋 <b>Herald is here.</b> I can post news to this group.\n\n"
        f"Admins choose what arrives: <code>/subscribe@{name}</code> for everything, "
        f"<code>/subscribe@{name} politics</code> for a topic (see /topics), or "
        f'<code>/subscribe@{name} "phrase"</code> for a keyword. '
        f"<code>/subscriptions@{name}</code> shows and changes the list.\n"
        f"Anyone can use <code>/latest@{name}</code> and <code>/search@{name} words</code>."
    )


CHANNEL_PROBLEMS = {
    "not_found": "I can't find that channel. Send its @username or numeric id, e.g. "
    "<code>/channel @mychannel</code>, and make sure Herald is an admin there.",
    "not_channel": "That chat is not a channel. For groups, add Herald to the group instead.",
    "not_admin": "Only an admin of that channel can set Herald up for it.",
    "bot_not_admin": "Herald needs to be an admin of the channel with the right to post "
    "messages. Add it in the channel's settings, then try again.",
}
CHANNEL_USAGE = (
    "Send <code>/channel @name</code> (or its id) to manage a channel you run: your "
    "/subscribe, /unsubscribe and /subscriptions here then change what Herald posts there. "
    "<code>/channel off</code> goes back to this chat."
)


def channel_ready(title: str) -> Rendered:
    return Rendered(
        f"📣 You now manage <b>{html.escape(title)}</b> from here: /subscribe, /unsubscribe "
        "and /subscriptions in this chat change what Herald posts there. "
        "<code>/channel off</code> to manage this chat again."
    )
