"""/subscribe, /unsubscribe, /subscriptions, /topics, /channel and their buttons."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Chat, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import HeraldContext
from bot.i18n import _
from bot.rendering import base
from bot.rendering import subscriptions as texts
from bot.sender import reply, show
from bot.services import chats, reading, subscriptions
from handlers.reading import command_argument

log = logging.getLogger(__name__)


async def may_change(update: Update, context: HeraldContext) -> bool:
    """In private chats anyone; in groups and channels only the chat's admins, asked now.

    ``sender_chat`` is trusted for messages only: a message sent as the chat itself comes from
    one of its admins (an anonymous group admin, or a channel's post). A button press is never
    sent as the chat: it carries the message it sits under, whose ``sender_chat`` is the
    channel for every channel post, and the presser, who may be any subscriber, in ``from``.
    """
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat.type == Chat.PRIVATE:
        return True
    if update.callback_query is None and message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id
    return user is not None and await chats.is_admin(context.bot, chat.id, user.id)


async def target_chat(update: Update, context: HeraldContext) -> tuple[int, str] | None:
    """(chat id, title) that the command changes, or None after a polite refusal."""
    if not await may_change(update, context):
        await reply(update.effective_message, base.Rendered(_(texts.ADMINS_ONLY)))
        return None
    chat, db = update.effective_chat, context.services.db
    await chats.remember(db, chat.id, chat.type, chat.title or "")
    return await target_chat_quietly(update, context)


async def subscribe(update: Update, context: HeraldContext) -> None:
    await _change(update, context, "subscribe", subscriptions.subscribe)


async def unsubscribe(update: Update, context: HeraldContext) -> None:
    await _change(update, context, "unsubscribe", subscriptions.unsubscribe)


async def _change(
    update: Update,
    context: HeraldContext,
    kind: str,
    action: Callable[..., Awaitable[subscriptions.Change]],
) -> None:
    """/subscribe and /unsubscribe: same checks, same target, same kind of reply."""
    target = await target_chat(update, context)
    if target is not None:
        change = await action(context.services.db, target[0], command_argument(update))
        await reply(update.effective_message, texts.change(kind, change))


async def list_subscriptions(update: Update, context: HeraldContext) -> None:
    target = await target_chat(update, context)
    if target is not None:
        await reply(update.effective_message, await _listing(context, *target))


async def _listing(context: HeraldContext, chat_id: int, title: str) -> base.Rendered:
    db = context.services.db
    subs = await subscriptions.list_for(db, chat_id)
    return texts.subscription_list(title, subs, await reading.topics(db))


async def topics(update: Update, context: HeraldContext) -> None:
    await reply(
        update.effective_message, texts.topic_list(await reading.topics(context.services.db))
    )


async def subscription_button(update: Update, context: HeraldContext) -> None:
    """✖ removes one subscription, ➕ adds a topic; then the list is shown again."""
    query = update.callback_query
    if not await may_change(update, context):
        await query.answer(_(texts.ADMINS_ONLY))
        return
    chat = update.effective_chat
    await chats.remember(context.services.db, chat.id, chat.type, chat.title or "")
    target = await target_chat_quietly(update, context)
    kind, _sep, number = (query.data or "").partition(":")
    db = context.services.db
    if kind == base.REMOVE_SUBSCRIPTION:
        changed = await subscriptions.remove_one(db, target[0], int(number))
    else:
        changed = await subscriptions.add_topic(db, target[0], int(number))
    if not changed:
        await query.answer(_(base.EXPIRED))
        return
    await query.answer(_(texts.REMOVED if kind == base.REMOVE_SUBSCRIPTION else texts.ADDED))
    await show(query, await _listing(context, *target))


async def target_chat_quietly(update: Update, context: HeraldContext) -> tuple[int, str]:
    """The chat itself, or the channel its user manages while still that channel's admin."""
    chat, services = update.effective_chat, context.services
    target = await chats.target_of(services.db, chat.id)
    if target is not None and target.id != chat.id:
        user = update.effective_user
        if user is not None and await chats.still_admin(context.bot, services.db, user.id, target):
            return target.id, target.title or _(texts.YOUR_CHANNEL)
    this_chat = _(texts.THIS_CHAT)
    return chat.id, this_chat if chat.type == Chat.PRIVATE else (chat.title or this_chat)


async def channel(update: Update, context: HeraldContext) -> None:
    """/channel @name: manage a channel from this private chat; /channel off: stop."""
    argument, db = command_argument(update), context.services.db
    user = update.effective_user
    await chats.remember(db, update.effective_chat.id, Chat.PRIVATE, "")
    if not argument:
        await reply(update.effective_message, base.Rendered(_(texts.CHANNEL_USAGE)))
        return
    if argument.casefold() == "off":
        await chats.stop_managing(db, user.id)
        await reply(update.effective_message, base.Rendered(_(texts.MANAGING_THIS_CHAT)))
        return
    setup = await chats.set_up_channel(context.bot, db, user.id, argument)
    if not setup.ok:
        await reply(
            update.effective_message, base.Rendered(_(texts.CHANNEL_PROBLEMS[setup.problem]))
        )
        return
    await reply(update.effective_message, texts.channel_ready(setup.title))


def register(app: Application) -> None:
    app.add_handler(CommandHandler("subscribe", subscribe))
    app.add_handler(CommandHandler("unsubscribe", unsubscribe))
    app.add_handler(CommandHandler("subscriptions", list_subscriptions))
    app.add_handler(CommandHandler("topics", topics))
    app.add_handler(CommandHandler("channel", channel, filters=filters.ChatType.PRIVATE))
    app.add_handler(
        CallbackQueryHandler(subscription_button, pattern=base.SUBSCRIPTION_PATTERN)
    )
