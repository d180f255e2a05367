"""Editors' commands: /post, /edit, /retract, /editors, /audit, /stats, and draft buttons.

Access is decided at registration: the handlers below are reached only by editors in a private
chat, through one shared ``filters.User`` that holds the owners (``HERALD_EDITOR_IDS``) and the
editors added at run time (kept in step by /editors add and remove). Everyone else's editor
commands get a polite refusal and change nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Message, MessageOriginHiddenUser, MessageOriginUser, Update
from telegram.constants import ChatType
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import HeraldContext
from bot.i18n import _
from bot.rendering import base
from bot.rendering import editors as texts
from bot.sender import reply, reply_as_push
from bot.services import editors, newsroom, stats
from bot.services.ingest import ArticleInput, InvalidArticle
from bot.services.newsroom import EDIT, POST, Draft
from handlers.reading import command_argument

log = logging.getLogger(__name__)

EDITORS_FILTER_KEY = "herald.editors"
COMMANDS = ("post", "edit", "retract", "editors", "audit", "stats")


def editor_filter(app: Application) -> filters.User:
    """The one filter every editor-only handler uses; /editors add and remove update it."""
    return app.bot_data[EDITORS_FILTER_KEY]


async def load_editors(app: Application) -> None:
    """At start-up: let the editors added at run time in, next to the owners."""
    services = app.bot_data["herald"]
    roster = await editors.roster(services.db, services.settings.editor_ids)
    editor_filter(app).add_user_ids(roster.ids)


async def follow_roster(app: Application) -> None:
    """Let in exactly the owners and the roster's editors: another instance may have added
    or removed one (the database is the one record)."""
    services = app.bot_data["herald"]
    roster = await editors.roster(services.db, services.settings.editor_ids)
    wanted = set(services.settings.editor_ids) | set(roster.ids)
    current = editor_filter(app)
    if set(current.user_ids) != wanted:
        current.user_ids = wanted


# ------------------------------------------------------------------------------ posting


async def post(update: Update, context: HeraldContext) -> None:
    """/post Headline⏎text, or /post URL: a draft and its preview; nothing is sent yet."""
    message, argument = update.effective_message, command_argument(update)
    if not argument:
        await reply(message, base.Rendered(texts.POST_USAGE))
        return
    if (
        " " not in argument
        and "\n" not in argument
        and argument.startswith(("http://", "https://"))
    ):
        item = await _from_page(message, context, argument)
    else:
        item = await _checked(message, lambda: newsroom.post_input(newsroom.parse_post(argument)))
    if item is not None:
        await _preview(update, context, POST, item, None, None)


async def photo_post(update: Update, context: HeraldContext) -> None:
    """A photo from an editor: its caption is the post (headline first), the photo its image."""
    message = update.effective_message
    caption = (message.caption or "").strip()
    words = caption.split(maxsplit=1) if caption.startswith("/") else []
    if words and words[0].split("@", 1)[0].lower() != "/post":
        await reply(message, base.Rendered(texts.POST_USAGE))  # another command: say how
        return
    post = newsroom.parse_post(words[1] if len(words) > 1 else "" if words else caption)
    item = await _checked(message, lambda: newsroom.post_input(post))
    if item is not None:
        await _preview(update, context, POST, item, message.photo[-1].file_id, None)


async def _from_page(message: Message, context: HeraldContext, url: str) -> ArticleInput | None:
    services = context.services
    settings = services.settings
    await message.reply_text("⏳ Reading the page…")
    try:
        return await newsroom.page_input(
            url, settings.page_timeout, settings.page_max_bytes, services.fetch_guard
        )
    except newsroom.PageProblem as exc:
        log.info("/post %s: %s", url[:200], exc)
        await reply(message, base.Rendered(texts.problem(str(exc))))
        return None


async def _checked(message: Message, make: Callable[[], ArticleInput]) -> ArticleInput | None:
    """Run ``make`` (a parser); an ``InvalidArticle`` becomes a short reply and None."""
    try:
        return make()
    except InvalidArticle as exc:
        await reply(
            message, base.Rendered(texts.problem(str(exc)) + "\n\n" + texts.POST_USAGE)
        )
        return None


async def _preview(
    update: Update,
    context: HeraldContext,
    kind: str,
    item: ArticleInput,
    image_file_id: str | None,
    article_id: int | None,
) -> None:
    """Store the draft and show it exactly as subscribers will see it, with decision buttons."""
    message, db = update.effective_message, context.services.db
    try:
        draft_id, view = await newsroom.new_draft(
            db,
            kind,
            update.effective_user.id,
            message.chat.id,
            item,
            image_file_id,
            article_id,
            int(time.time()),
        )
    except (InvalidArticle, newsroom.ArticleGone) as exc:
        await reply(message, base.Rendered(texts.problem(str(exc))))
        return
    sent = await reply_as_push(message, texts.preview(view, draft_id, kind), view.article)
    await newsroom.remember_preview(db, draft_id, sent.message_id)


async def draft_button(update: Update, context: HeraldContext) -> None:
    """Publish, Breaking or Cancel under a preview: decided once, by an editor."""
    query, services = update.callback_query, context.services
    parsed = texts.parse_draft_button(query.data or "")
    if parsed is None or query.from_user.id not in editor_filter(context.application).user_ids:
        log.info("draft button %r refused for user %s", query.data, query.from_user.id)
        await query.answer(_(base.EXPIRED if parsed is None else texts.EDITORS_ONLY))
        return
    draft_id, action = parsed
    now, editor = int(time.time()), query.from_user.id
    try:
        if action == base.CANCEL:
            await newsroom.cancel(services.db, draft_id, editor, now)
            answer = texts.CANCELLED
        else:
            breaking = action == base.BREAKING
            result = await newsroom.publish(services.db, draft_id, editor, breaking, now)
            if result.draft.kind == EDIT:
                services.article_changed(result.article_id)
                answer = texts.corrected(result)
            else:
                services.outbox_changed(urgent=breaking)
                answer = texts.published(result, breaking)
    except newsroom.DraftClosed as exc:
        await query.answer(texts.already_decided(str(exc)), show_alert=True)
        await _drop_buttons(query.message)
        return
    except (InvalidArticle, newsroom.ArticleGone) as exc:
        await query.answer()
        await reply(query.message, base.Rendered(texts.problem(str(exc))))
        return
    await query.answer()
    await _drop_buttons(query.message)
    await reply(query.message, base.Rendered(answer))


async def _drop_buttons(message: Message | None) -> None:
    """A decided preview keeps its text and loses its buttons."""
    if message is not None and message.reply_markup is not None:
        await message.edit_reply_markup(reply_markup=None)


# ----------------------------------------------------------------- corrections, retractions


async def edit(update: Update, context: HeraldContext) -> None:
    """/edit ID⏎corrected text, or /edit⏎text in reply to a preview or a delivered copy."""
    message, db = update.effective_message, context.services.db
    argument = command_argument(update)
    first_line, _, following = argument.partition("\n")
    if message.reply_to_message is not None:
        # In a reply, an id counts only alone on the first line: "3 killed" is a headline.
        article_id = newsroom.parse_article_id(first_line) if first_line.strip().isdigit() else None
        rest = following if article_id is not None else argument
    else:
        article_id = newsroom.parse_article_id(argument)
        words = argument.split(maxsplit=1)
        rest = words[1] if article_id is not None and len(words) > 1 else ""
    if article_id is None and message.reply_to_message is not None:
        draft = await newsroom.draft_for_reply(
            db, message.chat.id, message.reply_to_message.message_id
        )
        if draft is not None and draft.kind == POST and draft.status == "open":
            await _redraft(update, context, draft, argument)
            return
        article_id = await newsroom.article_for_reply(
            db, message.chat.id, message.reply_to_message.message_id
        )
        rest = argument
    if article_id is None:
        await reply(message, base.Rendered(texts.EDIT_USAGE))
        return
    try:
        current = await newsroom.published_article(db, article_id)
        if not rest:
            await reply(message, base.Rendered(texts.edit_prompt(current)))
            return
        correction = newsroom.parse_post(rest, inline_tags=False)
        item = newsroom.corrected_input(newsroom.input_of(current), correction)
    except (InvalidArticle, newsroom.ArticleGone) as exc:
        await reply(message, base.Rendered(texts.problem(str(exc))))
        return
    await _preview(update, context, EDIT, item, current.image_file_id, article_id)


async def _redraft(update: Update, context: HeraldContext, draft: Draft, text: str) -> None:
    """/edit in reply to a preview not yet published: a new preview replaces the old one."""
    db, now = context.services.db, int(time.time())
    try:
        item = newsroom.corrected_input(newsroom.draft_input(draft), newsroom.parse_post(text))
    except InvalidArticle as exc:
        await reply(update.effective_message, base.Rendered(texts.problem(str(exc))))
        return
    try:
        await newsroom.cancel(db, draft.id, update.effective_user.id, now)
    except newsroom.DraftClosed as exc:  # published or cancelled meanwhile
        await reply(update.effective_message, base.Rendered(texts.already_decided(str(exc))))
        return
    await _preview(update, context, POST, item, draft.image_file_id, None)


async def retract(update: Update, context: HeraldContext) -> None:
    """/retract ID (or in reply to a copy): withdraw the article and replace every copy."""
    message, services = update.effective_message, context.services
    article_id = newsroom.parse_article_id(command_argument(update))
    if article_id is None and message.reply_to_message is not None:
        article_id = await newsroom.article_for_reply(
            services.db, message.chat.id, message.reply_to_message.message_id
        )
    if article_id is None:
        await reply(message, base.Rendered(texts.RETRACT_USAGE))
        return
    try:
        result = await newsroom.retract(
            services.db, article_id, update.effective_user.id, int(time.time())
        )
    except newsroom.ArticleGone as exc:
        await reply(message, base.Rendered(texts.problem(str(exc))))
        return
    services.article_changed(article_id)
    await reply(message, base.Rendered(texts.retracted(result)))


# ------------------------------------------------------------------- roles, audit, figures


async def editors_command(update: Update, context: HeraldContext) -> None:
    """/editors, /editors add ID (or in reply to a forward), /editors remove ID."""
    message, services = update.effective_message, context.services
    verb, _, rest = command_argument(update).partition(" ")
    verb = verb.lower()
    owners = services.settings.editor_ids
    if verb not in ("", "add", "remove"):
        await reply(message, base.Rendered(texts.EDITORS_USAGE))
        return
    if not verb:
        roster = await editors.roster(services.db, owners)
        await reply(message, base.Rendered(texts.editors_list(roster)))
        return
    who = _person(message, rest.strip())
    if isinstance(who, str):
        await reply(message, base.Rendered(who))
        return
    user_id, name = who
    actor, now = update.effective_user.id, int(time.time())
    try:
        if verb == "add":
            changed = await editors.add_editor(services.db, owners, actor, user_id, name, now)
            editor_filter(context.application).add_user_ids(user_id)
        else:
            changed = await editors.remove_editor(services.db, owners, actor, user_id, now)
            editor_filter(context.application).remove_user_ids(user_id)
    except editors.NotAllowed as exc:
        await reply(message, base.Rendered(texts.problem(str(exc))))
        return
    await reply(message, base.Rendered(texts.editor_changed(verb, user_id, name, changed)))


def _person(message: Message, argument: str) -> tuple[int, str] | str:
    """(user id, name) from the argument or the forwarded message replied to; else a hint."""
    if argument:
        word = argument.split()[0]
        if word.isascii() and word.isdigit() and len(word) <= 18 and int(word) > 0:
            return int(word), ""
        return texts.EDITORS_USAGE
    origin = message.reply_to_message.forward_origin if message.reply_to_message else None
    if isinstance(origin, MessageOriginUser):
        return origin.sender_user.id, origin.sender_user.full_name
    if isinstance(origin, MessageOriginHiddenUser):
        return texts.HIDDEN_SENDER
    return texts.EDITORS_USAGE


async def audit(update: Update, context: HeraldContext) -> None:
    entries = await editors.recent_actions(context.services.db)
    await reply(update.effective_message, base.Rendered(texts.audit(entries)))


async def show_stats(update: Update, context: HeraldContext) -> None:
    """/stats: subscribers, deliveries, today's most read; /stats ID: one article's figures."""
    db, argument = context.services.db, command_argument(update)
    if not argument:
        await reply(update.effective_message, texts.stats(await stats.collect(db)))
        return
    article_id = newsroom.parse_article_id(argument)
    figures = None if article_id is None else await stats.article_figures(db, article_id)
    text = texts.article_figures(figures) if figures else texts.problem("there is no such article")
    await reply(update.effective_message, base.Rendered(text))


async def not_an_editor(update: Update, context: HeraldContext) -> None:
    """Refuse politely; an editor in a group is told where editor commands work."""
    message, user = update.effective_message, update.effective_user
    is_editor = user is not None and user.id in editor_filter(context.application).user_ids
    if is_editor and message.chat.type != ChatType.PRIVATE:
        await reply(message, base.Rendered(_(texts.PRIVATE_ONLY)))
        return
    log.info("editor command %r refused for user %s", (message.text or "")[:40], user and user.id)
    await reply(message, base.Rendered(_(texts.EDITORS_ONLY)))


def register(app: Application, owners: frozenset[int]) -> filters.User:
    """Register the editor handlers; return the shared editors filter (for /feeds too)."""
    editors_only = filters.User(user_id=owners)
    app.bot_data[EDITORS_FILTER_KEY] = editors_only
    # New messages only: editing an old "/retract 12" into "/retract 13" must not retract 13.
    private_editor = editors_only & filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    handlers = {
        "post": post,
        "edit": edit,
        "retract": retract,
        "editors": editors_command,
        "audit": audit,
        "stats": show_stats,
    }
    for name, callback in handlers.items():
        app.add_handler(CommandHandler(name, callback, filters=private_editor))
    app.add_handler(CommandHandler(list(COMMANDS), not_an_editor))
    app.add_handler(MessageHandler(private_editor & filters.PHOTO, photo_post))
    app.add_handler(CallbackQueryHandler(draft_button, pattern=base.DRAFT_PATTERN))
    return editors_only
