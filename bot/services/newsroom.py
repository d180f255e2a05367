"""The newsroom: an editor's post or correction becomes a draft, a preview, then news.

Nothing an editor sends goes out by itself. ``/post`` and ``/edit`` make a *draft* that is
previewed exactly as subscribers will see it; only a decision (Publish, Breaking, Apply, Cancel)
changes anything, once, however often the button is tapped. Publishing goes through
``ingest`` like every other article. Corrections and retractions change the stored article and
queue one outbox row per delivered copy, so the delivery worker edits every copy in place under
the same rate limits as the original push. Every decision is written to the audit log.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from bot.services import editors, page_extract
from bot.services.fanout import BREAKING, CORRECTION, NORMAL
from bot.services.ingest import ArticleInput, InvalidArticle, ingest, normalise
from bot.services.reading import ArticleView
from bot.services.related import Document, related_ids, similar_to
from storage import articles, drafts, outbox
from storage.articles import Article
from storage.db import Database
from storage.drafts import Draft

POST, EDIT = drafts.POST, drafts.EDIT  # the kinds of draft, for handlers and rendering

BASE = "base"  # in a correction's draft: the fingerprint of the text it corrects

_TAG = re.compile(r"(?<![\w&#])#(\w[\w-]{0,39})")
_URL_LINE = re.compile(r"https?://\S+")
_ID = re.compile(r"#?(\d{1,18})")


PageProblem = page_extract.PageProblem  # /post URL could not use the page; str() says why


class ArticleGone(LookupError):
    """No such article, or it was retracted; the message says which, for a person."""


class DraftClosed(RuntimeError):
    """The draft was decided already (a second tap, or an old preview)."""


@dataclass(frozen=True, slots=True)
class PostText:
    """What an editor typed, split into an article's parts; None means "not given"."""

    title: str | None
    body: str | None
    url: str | None
    topics: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Decided:
    draft: Draft
    article_id: int
    title: str
    copies: int  # chats queued (a post) or delivered copies to correct (a correction)


@dataclass(frozen=True, slots=True)
class Retracted:
    article_id: int
    title: str
    copies: int  # delivered copies to replace
    withdrawn: int  # deliveries that had not gone out yet and now never will


def parse_post(text: str, *, inline_tags: bool = True) -> PostText:
    """First line the headline, the rest the body; ``#tags`` are topics, a lone URL the link.

    Lines made only of tags are taken out of the text; a tag inside a sentence stays in it and
    names a topic too (``#climate_change`` is the topic "climate change") unless
    ``inline_tags`` is False: a correction replaces the topics only with a line of tags, never
    because the corrected text happens to mention one.
    """
    topics: list[str] = []
    url: str | None = None
    kept: list[str] = []
    for line in text.strip().splitlines():
        stripped = line.strip()
        tags = _TAG.findall(stripped)
        tags_only = bool(tags) and not _TAG.sub("", stripped).strip(" ,;·")
        if tags_only or inline_tags:
            topics += [tag.replace("_", " ") for tag in tags]
        if tags_only:
            continue
        if url is None and _URL_LINE.fullmatch(stripped):
            url = stripped
            continue
        kept.append(line.rstrip())
    while kept and not kept[0].strip():
        kept.pop(0)
    title = kept[0].strip() if kept else None
    if title and inline_tags:
        title = headline_without_tags(title)
    body = "\n".join(kept[1:]).strip() if len(kept) > 1 else None
    return PostText(title or None, body or None, url, tuple(topics) if topics else None)


_TRAILING_TAGS = re.compile(r"(?:[\s,;·]*" + _TAG.pattern + r")+[\s,;·]*$")


def headline_without_tags(title: str) -> str:
    """A headline as readers see it: "Storm hits coast #weather" → "Storm hits coast".

    Tags after the headline only name topics; a tag inside it ("#Brexit talks resume") keeps
    its word without the '#' (and ``_`` becomes a space). Left alone if only tags are left.
    """
    cut = _TRAILING_TAGS.sub("", title).strip()
    cut = _TAG.sub(lambda m: m.group(1).replace("_", " "), cut if cut else title)
    return cut.strip() or title


def post_input(post: PostText) -> ArticleInput:
    """A new article from a post; ``InvalidArticle`` when it has no headline."""
    if not post.title:
        raise InvalidArticle("the first line must be the headline")
    return ArticleInput(
        title=post.title, body=post.body or "", url=post.url, topics=post.topics or ()
    )


def corrected_input(current: ArticleInput, post: PostText) -> ArticleInput:
    """``current`` with what the correction gives replaced and the rest kept.

    A new body replaces the summary too: a summary of the old text may carry the very error
    being corrected.
    """
    if post.title is None and post.body is None and post.url is None and post.topics is None:
        raise InvalidArticle("the correction is empty: send the headline, text or #topics")
    changed = replace(
        current,
        title=post.title or current.title,
        url=post.url or current.url,
        topics=post.topics if post.topics is not None else current.topics,
    )
    if post.body is not None:
        changed = replace(changed, body=post.body, summary="")
    return changed


def parse_article_id(text: str) -> int | None:
    """``123`` or ``#123`` as an article id (the first word of a command's argument)."""
    word = text.split(maxsplit=1)[0] if text.strip() else ""
    match = _ID.fullmatch(word)
    return int(match.group(1)) if match else None


async def page_input(
    url: str, seconds: float, max_bytes: int, guard: page_extract.AddressGuard
) -> ArticleInput:
    """/post URL: the article a web page makes (``PageProblem`` says why it cannot)."""
    page = await page_extract.extract_page(url, timeout=seconds, max_bytes=max_bytes, guard=guard)
    return ArticleInput(
        title=page.title,
        summary=page.lead,
        body=page.body,
        url=page.url,
        authors=page.authors,
        source=page.source,
        image_url=page.image_url,
    )


def input_of(article: Article) -> ArticleInput:
    return ArticleInput(
        title=article.title,
        summary=article.summary,
        body=article.body,
        url=article.url,
        authors=article.authors,
        source=article.source,
        topics=article.topics,
        image_url=article.image_url,
        published_at=article.published_at,
        external_id=None,
    )


def fingerprint(article: Article) -> str:
    """What a correction replaces, as one value: a draft made from other text must not apply."""
    parts = [article.title, article.summary, article.body, article.url or "", *article.topics]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


async def published_article(db: Database, article_id: int) -> Article:
    """The article ``article_id`` if readers can see it, else ``ArticleGone``."""
    article = await articles.get_article(db, article_id)
    if article is None:
        raise ArticleGone(f"there is no article #{article_id}")
    if article.status != articles.PUBLISHED:
        raise ArticleGone(f"article #{article_id} was retracted")
    return article


async def new_draft(
    db: Database,
    kind: str,
    editor_id: int,
    chat_id: int,
    item: ArticleInput,
    image_file_id: str | None,
    article_id: int | None,
    now: int,
) -> tuple[int, ArticleView]:
    """Store a draft and return it with its preview; ``InvalidArticle`` if it cannot be one."""
    normalise(item, now)  # refuse now what publishing would refuse later
    content = asdict(item)
    if article_id is not None:  # a correction: of the article as it is now, not as it will be
        content[BASE] = fingerprint(await published_article(db, article_id))
    async with db.transaction():
        draft_id = await drafts.create(
            db, kind, editor_id, chat_id, content, image_file_id, article_id, now
        )
        await editors.audit(db, editor_id, f"draft {kind}", article_id, item.title, now)
    draft = await drafts.get(db, draft_id)
    assert draft is not None
    return draft_id, await preview(db, draft, now)


async def preview(db: Database, draft: Draft, now: int) -> ArticleView:
    """The draft as subscribers will see it: the article it will become, with its related."""
    new = normalise(draft_input(draft), now)
    if draft.kind == drafts.EDIT and draft.article_id is not None:
        current = await published_article(db, draft.article_id)
        article = replace(
            current,
            title=new.title,
            summary=new.summary,
            body=new.body,
            url=new.url,
            topics=tuple(sorted(new.topics)),
            edited_at=now,
        )
        related = await related_ids(db, current.id)
    else:
        article = Article(
            id=0,
            title=new.title,
            summary=new.summary,
            body=new.body,
            url=new.url,
            authors=new.authors,
            source=new.source,
            topics=tuple(sorted(new.topics)),
            image_url=new.image_url,
            published_at=now,
            updated_at=now,
            status=articles.PUBLISHED,
            image_file_id=draft.image_file_id,
        )
        related = await similar_to(db, Document(0, new.title, new.summary, new.body))
    return ArticleView(article, await articles.headlines(db, related))


async def remember_preview(db: Database, draft_id: int, message_id: int) -> None:
    """The preview's message id, so an /edit in reply to it finds the draft."""
    await drafts.set_preview(db, draft_id, message_id)


async def draft_for_reply(db: Database, chat_id: int, message_id: int) -> Draft | None:
    return await drafts.by_preview(db, chat_id, message_id)


async def article_for_reply(db: Database, chat_id: int, message_id: int) -> int | None:
    """The article a replied-to message shows: a preview that was published, or a copy."""
    draft = await drafts.by_preview(db, chat_id, message_id)
    if draft is not None and draft.article_id is not None:
        return draft.article_id
    return await outbox.article_of_message(db, chat_id, message_id)


async def publish(db: Database, draft_id: int, editor_id: int, breaking: bool, now: int) -> Decided:
    """Publish a post draft (Breaking: ahead of everything waiting) or apply a correction."""
    async with db.transaction():
        draft = await drafts.close(db, draft_id, drafts.PUBLISHED, now)
        if draft is None:
            raise DraftClosed(await _state(db, draft_id))
        if draft.kind == drafts.EDIT:
            return await _apply_correction(db, draft, editor_id, now)
        new = replace(normalise(draft_input(draft), now), image_file_id=draft.image_file_id)
        result = await ingest(db, [new], now, push=True, priority=BREAKING if breaking else NORMAL)
        if not result.added:
            raise InvalidArticle("an article with this text or link is already published")
        article_id = result.added[0]
        await drafts.set_article(db, draft.id, article_id)
        copies = (await outbox.article_deliveries(db, article_id, audience=False)).pending
        rest = await outbox.audience_of(db, article_id)  # chats past the first chunk
        action = "breaking" if breaking else "publish"
        await editors.audit(db, editor_id, action, article_id, new.title, now)
    if rest is not None:  # counted after the commit: a pass over a million subscriptions
        copies += await outbox.unqueued(db, rest)  # does not hold up the publish
    return Decided(draft, article_id, new.title, copies)


async def cancel(db: Database, draft_id: int, editor_id: int, now: int) -> Draft:
    async with db.transaction():
        draft = await drafts.close(db, draft_id, drafts.CANCELLED, now)
        if draft is None:
            raise DraftClosed(await _state(db, draft_id))
        title = str(draft.content.get("title", ""))
        await editors.audit(db, editor_id, f"cancel {draft.kind}", draft.article_id, title, now)
    return draft


async def _apply_correction(db: Database, draft: Draft, editor_id: int, now: int) -> Decided:
    """Store the corrected text and queue an edit of every delivered copy (in a transaction)."""
    assert draft.article_id is not None
    current = await published_article(db, draft.article_id)
    if draft.content.get(BASE, fingerprint(current)) != fingerprint(current):
        raise InvalidArticle(
            f"article #{current.id} changed after this preview was made; send /edit again"
        )
    new = normalise(replace(draft_input(draft), published_at=current.published_at), now)
    try:
        await articles.update_content(db, current.id, new, now)
    except articles.DuplicateContent:
        raise InvalidArticle("another article already has this text or link") from None
    copies = await outbox.queue_followups(db, current.id, outbox.EDIT, CORRECTION, now)
    detail = new.title if new.title == current.title else f"{current.title} → {new.title}"
    await editors.audit(db, editor_id, "edit", current.id, detail, now)
    return Decided(draft, current.id, new.title, copies)


async def retract(db: Database, article_id: int, editor_id: int, now: int) -> Retracted:
    """Withdraw an article everywhere: lists, search, related buttons and every copy."""
    async with db.transaction():
        article = await published_article(db, article_id)
        await articles.set_status(db, article_id, articles.RETRACTED, now)
        withdrawn, dropped = await outbox.withdraw(db, article_id, "retracted", now)
        copies = await outbox.queue_followups(db, article_id, outbox.RETRACT, CORRECTION, now)
        await editors.audit(db, editor_id, "retract", article_id, article.title, now)
    if dropped is not None:  # chats never queued: counted after the commit, as for a publish
        withdrawn += await outbox.unqueued(db, dropped)
    return Retracted(article_id, article.title, copies, withdrawn)


def draft_input(draft: Draft) -> ArticleInput:
    content: dict[str, Any] = dict(draft.content)
    content.pop(BASE, None)
    content["authors"] = tuple(content.get("authors") or ())
    content["topics"] = tuple(content.get("topics") or ())
    return ArticleInput(**content)


async def _state(db: Database, draft_id: int) -> str:
    draft = await drafts.get(db, draft_id)
    return "gone" if draft is None else draft.status
