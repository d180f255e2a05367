"""Rendering for subscriptions, groups and channels. Pure and translated, like rendering."""

from __future__ import annotations

import html

from babel.numbers import format_decimal
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n
from bot.i18n import N_, _
from bot.rendering.base import ADD_TOPIC, REMOVE_SUBSCRIPTION, Rendered, callback, either, shorten
from bot.services.subscriptions import Change, describe
from storage.articles import Topic
from storage.subscriptions import Subscription

# Constants are marked with N_ and translated where they are shown: _(ADMINS_ONLY).
ADMINS_ONLY = N_("Only this chat's admins can change what Herald sends here.")
MANAGING_THIS_CHAT = N_("Managing this chat again.")
THIS_CHAT = N_("This chat")
YOUR_CHANNEL = N_("Your channel")
REMOVED = N_("Removed.")
ADDED = N_("Added.")


def _subscribe_usage() -> str:
    return _(
        "Use {everything} for everything, {topics} for topics (see /topics), or {keyword} for "
        "a keyword or phrase."
    ).format(
        everything="<code>/subscribe</code>",
        topics="<code>/subscribe politics sport</code>",
        keyword='<code>/subscribe "climate deal"</code>',
    )


def change(kind: str, result: Change) -> Rendered:
    """The reply to /subscribe (kind 'subscribe') or /unsubscribe (kind 'unsubscribe')."""
    subscribing = kind == "subscribe"
    lines = []
    if result.done:
        items = html.escape(", ".join(result.done))
        if subscribing:
            lines.append("✅ " + _("Subscribed to {items}.").format(items=items))
        else:
            lines.append("✅ " + _("Unsubscribed from {items}.").format(items=items))
    if result.unchanged:
        items = html.escape(", ".join(result.unchanged))
        if subscribing:
            lines.append(_("Already subscribed to {items}.").format(items=items))
        else:
            lines.append(_("Not subscribed to {items}.").format(items=items))
    for word, suggestions in result.unknown.items():
        shown = html.escape(shorten(word, 40))
        line = _("I don't know the topic “{topic}”.").format(topic=shown)
        if suggestions:
            choices = [f"<code>/{kind} {html.escape(s)}</code>" for s in suggestions]
            line += " " + _("Did you mean {suggestions}?").format(suggestions=either(choices))
        elif subscribing and not word.startswith("“"):
            line += " " + _("To follow it as a keyword, put it in quotes: {example}.").format(
                example=f'<code>/subscribe "{shown}"</code>'
            )
        lines.append(line)
    if result.too_many:
        lines.append(_("That is as many subscriptions as one chat can have; remove some first."))
    if not lines:
        lines.append(_("Nothing changed."))
    if result.unknown and not result.done:
        lines[-1] += "\n\n" + _subscribe_usage()
    return Rendered("\n".join(lines))


def subscription_list(title: str, subs: list[Subscription], topics: list[Topic]) -> Rendered:
    """The chat's subscriptions, a remove button on each, and buttons to add topics."""
    name = html.escape(title)
    if subs:
        heading = _("{title} receives:").format(title=name)
        lines = [f"<b>{heading}</b>"]
        lines += [f"• {html.escape(describe(s))}" for s in subs]
    else:
        heading = _("{title} has no subscriptions yet.").format(title=name)
        lines = [
            f"<b>{heading}</b>",
            _("Send /subscribe for everything, or add a topic below."),
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
        return Rendered(_("There are no topics yet."))
    locale = i18n.current()
    lines = [_("<b>Topics</b> (articles)")]
    lines += [
        f"#{html.escape(t.name.replace(' ', '_'))} ({format_decimal(t.articles, locale=locale)})"
        for t in topics[:60]
    ]
    lines.append(
        "\n"
        + _(
            "Follow one with <code>/subscribe TOPIC</code>; browse with <code>/latest TOPIC</code>."
        )
    )
    return Rendered("\n".join(lines))


def group_welcome(bot_username: str) -> Rendered:
    """The setup guide Herald posts when added to a group, in the adding user's language."""
    name = html.escape(bot_username)
    here, can_post = _("Herald is here."), _("I can post news to this group.")
    # Translators: a placeholder in an example command, /subscribe "phrase".
    phrase = html.escape(_("phrase"))
    # Translators: a placeholder in an example command, /search words.
    words = html.escape(_("words"))
    admins = _(
        "Admins choose what arrives: {everything} for everything, {topic} for a topic (see "
        "/topics), or {keyword} for a keyword. {listing} shows and changes the list."
    ).format(
        everything=f"<code>/subscribe@{name}</code>",
        topic=f"<code>/subscribe@{name} politics</code>",
        keyword=f'<code>/subscribe@{name} "{phrase}"</code>',
        listing=f"<code>/subscriptions@{name}</code>",
    )
    anyone = _("Anyone can use {latest} and {search}.").format(
        latest=f"<code>/latest@{name}</code>",
        search=f"<code>/search@{name} {words}</code>",
    )
    return Rendered(f"👋 <b>{here}</b> {can_post}\n\n{admins}\n{anyone}")


CHANNEL_PROBLEMS = {
    "not_found": N_(
        "I can't find that channel. Send its @username or numeric id, e.g. "
        "<code>/channel @mychannel</code>, and make sure Herald is an admin there."
    ),
    "not_channel": N_("That chat is not a channel. For groups, add Herald to the group instead."),
    "not_admin": N_("Only an admin of that channel can set Herald up for it."),
    "bot_not_admin": N_(
        "Herald needs to be an admin of the channel with the right to post "
        "messages. Add it in the channel's settings, then try again."
    ),
}
CHANNEL_USAGE = N_(
    "Send <code>/channel @name</code> (or its id) to manage a channel you run: your "
    "/subscribe, /unsubscribe and /subscriptions here then change what Herald posts there. "
    "<code>/channel off</code> goes back to this chat."
)


def channel_ready(title: str) -> Rendered:
    return Rendered(
        "📣 "
        + _(
            "You now manage {channel} from here: /subscribe, /unsubscribe and /subscriptions "
            "in this chat change what Herald posts there. {off} to manage this chat again."
        ).format(channel=f"<b>{html.escape(title)}</b>", off="<code>/channel off</code>")
    )
