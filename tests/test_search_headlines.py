"""Pasted headlines in /search and inline mode: a hyphen inside a word joins, it never excludes.

The headlines are the BBC corpus' own (``../shared/data/bbc_news.jsonl``, imported through the
real import), each pasted into /search as a reader would and checked among the headlines the
reader is shown on the first page.
"""

from __future__ import annotations

import json

from bot.services.importer import import_file
from storage.db import Database
from tests.conftest import shared_file
from tests.factories import READER, Herald, article, buttons, store
from tests.test_inline import ask, ids


def shown_ids(message_buttons: list[tuple[str, str]]) -> list[int]:
    """The article ids behind the headline buttons of a result page."""
    return [int(data.split(":")[1]) for _, data in message_buttons if data.startswith("a:")]


async def test_every_hyphenated_bbc_headline_finds_its_article(
    herald: Herald, db: Database
) -> None:
    source = shared_file("bbc_news.jsonl")
    await import_file(db, source)
    titles = {json.loads(line)["title"] for line in source.read_text(encoding="utf-8").splitlines()}
    hyphenated = sorted(t for t in titles if "-" in t)  # "hat-trick", "Ex-PM", "… - Blair"
    assert len(hyphenated) > 180  # guards the guard: 191 in the corpus
    missed = []
    for number, title in enumerate(hyphenated):
        stored = " ".join(title.split())  # the import folds runs of spaces
        rows = await db.fetchall("SELECT id FROM articles WHERE title = ?", (stored,))
        reply = await herald.send(f"/search {title}", chat_id=READER + number)
        if not {row[0] for row in rows} & set(shown_ids(buttons(reply))):
            missed.append(f"{title!r}: {reply.visible_text[:200]!r}")
    assert not missed, f"{len(missed)} of {len(hyphenated)} missed:\n" + "\n".join(missed)


async def test_a_hyphen_inside_a_word_joins_and_after_a_space_excludes(
    herald: Herald, db: Database
) -> None:
    await store(
        db,
        article("Striker scores hat-trick in cup win", "A hat-trick for the striker."),
        article("Hat shop opens", "Hats and a trick of the light."),
        article("Hat sale", "Hats of every size."),
        article("Ex-PM backs COVID-19 inquiry", "The former prime minister spoke."),
    )
    joined = await herald.send("/search hat-trick")
    assert [t for t, _ in buttons(joined)] == ["1. Striker scores hat-trick in cup win"]
    excluded = await herald.send("/search hat -trick")
    assert [t for t, _ in buttons(excluded)] == ["1. Hat sale"]
    assert "Ex-PM backs COVID-19 inquiry" in (await herald.send("/search Ex-PM")).visible_text
    assert "Ex-PM backs" in (await herald.send("COVID-19 inquiry")).visible_text


async def test_inline_mode_reads_hyphens_as_search_does(herald: Herald, db: Database) -> None:
    wanted, other = await store(
        db,
        article("Winn-Dixie files for bankruptcy", "The grocer Winn-Dixie filed."),
        article("Dixie chicks tour", "Winn a prize: files of tickets."),
    )
    assert ids(await ask(herald, "Winn-Dixie files")) == [wanted]
    assert ids(await ask(herald, "Dixie -Winn-Dixie")) == [other]


async def test_only_excluded_words_ask_for_a_word_to_look_for(
    herald: Herald, db: Database
) -> None:
    await store(db, article("Flood barrier approved"))
    reply = await herald.send("/search -flood")
    assert "needs at least one word to look for" in reply.visible_text
    assert "couldn't find any words" not in reply.visible_text
    spanish = await herald.send("-flood -coal", language_code="es")
    assert "necesita al menos una palabra que buscar" in spanish.visible_text
    nothing = await herald.send("/search 🔥")
    assert "couldn't find any words to search for" in nothing.visible_text
