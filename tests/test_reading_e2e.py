"""Readers in Telegram: the real Application over real HTTP against the fake Bot API."""

from __future__ import annotations

from bot.sandbox.samples import seed_samples
from storage.db import Database
from tests.factories import GROUP, READER, Herald, article, button_data, buttons, store

# The reader walks also run against PostgreSQL (see tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")


async def test_start_lists_commands_and_registers_menu(herald: Herald) -> None:
    reply = await herald.send("/start")
    assert "/latest" in reply.visible_text and "/search" in reply.visible_text
    menu = [c["command"] for c in herald.api.commands_for()]
    assert {"latest", "search", "help"} <= set(menu)


async def test_latest_pages_by_editing_the_same_message(herald: Herald, db: Database) -> None:
    await store(db, *[article(f"Story number {i}") for i in range(12)])
    first = await herald.send("/latest")
    titles = [t for t, _ in buttons(first)]
    assert titles[0].startswith("1. Story number 11")  # newest first
    assert len([t for t in titles if "Story" in t]) == 5
    _, second = await herald.press(first, button_data(first, "Older"))
    assert second.message_id == first.message_id and second.edited
    assert buttons(second)[0][0].startswith("6. Story number 6")
    _, back = await herald.press(second, button_data(second, "◀ Newer"))
    assert buttons(back)[0][0].startswith("1. Story number 11")


async def test_latest_topic_and_unknown_topic_suggestion(herald: Herald, db: Database) -> None:
    await store(
        db, article("Budget passes", topics=("politics",)), article("Cup final", topics=("sport",))
    )
    reply = await herald.send("/latest Politics")
    assert "Budget passes" in reply.visible_text and "Cup final" not in reply.visible_text
    reply = await herald.send("/latest politcs")
    assert "don't know the topic" in reply.visible_text and "/latest politics" in reply.visible_text
    assert "sport" not in reply.visible_text  # a suggestion is close to what was typed
    reply = await herald.send("/latest pol")
    assert "Did you mean /latest politics?" in reply.visible_text
    reply = await herald.send("/latest weather")
    assert "Did you mean" not in reply.visible_text
    assert "/latest for everything" in reply.visible_text


async def test_a_quoted_query_is_echoed_once_quoted(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    phrase = await herald.send('/search "flood barrier"')
    assert phrase.visible_text.startswith("🔎 Results for “flood barrier”\n")
    mixed = await herald.send('/search "flood barrier" -zzqq')
    assert mixed.visible_text.startswith("🔎 Results for “‘flood barrier’ -zzqq”")
    nothing = await herald.send('"zzqq xxkk"')
    assert nothing.visible_text.startswith("Nothing found for “zzqq xxkk”.")
    spanish = await herald.send('/search "flood barrier" -zzqq', language_code="es")
    assert spanish.visible_text.startswith("🔎 Resultados para «“flood barrier” -zzqq»")


async def test_dates_never_wrap_inside(herald: Herald, db: Database) -> None:
    """Each date in a list is one unbreakable unit: "10 Nov 2026" with non-breaking spaces."""
    await store(db, article("Flood barrier approved", published_at=1_794_268_800))
    for command in ("/latest", "/search flood"):
        text = (await herald.send(command)).visible_text
        assert "10\u00a0Nov\u00a02026" in text and "10 Nov" not in text, text
    listing = await herald.send("/latest")
    _, opened = await herald.press(listing, button_data(listing, "1."))
    assert "10\u00a0Nov\u00a02026,\u00a000:00" in opened.visible_text


async def test_open_article_then_related_then_back(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    listing = await herald.send("/search flood barrier")
    _, opened = await herald.press(listing, button_data(listing, "1."))
    first_text = opened.visible_text  # messages are edited in place: keep what was shown
    assert "River Tane" in first_text
    related = [t for t, d in buttons(opened) if t.startswith("🔗")]
    assert related and all("Marrowby" in t for t in related[:2])
    _, other = await herald.press(opened, button_data(opened, "🔗"))
    assert other.visible_text != first_text and "Marrowby" in other.visible_text
    assert other.visible_text.startswith(related[0].removeprefix("🔗 ").rstrip("…"))
    _, back = await herald.press(other, button_data(other, "◀ Back"))
    assert "Results for" in back.visible_text


async def test_search_without_match_and_bare_search(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    none = await herald.send("/search zzzqqqxx")
    assert "Nothing found" in none.visible_text
    bare = await herald.send("/search")
    assert "Tell me what to look for" in bare.visible_text


async def test_fts_syntax_and_quotes_never_error(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    for query in [
        '"flood barrier',
        "flood AND NOT",
        "NEAR(flood barrier)",
        "col:flood*",
        "-",
        "flood OR",
        '" OR "',
        "🔥🔥",
        "x" * 4000,
        "(((",
        "flood^2 -barrier",
    ]:
        reply = await herald.send(f"/search {query}")
        assert "went wrong" not in reply.visible_text, query
        assert reply.visible_text.strip()


async def test_script_and_ampersand_in_title_are_shown_as_text(
    herald: Herald, db: Database
) -> None:
    await store(db, article("Q&A: <script>alert(1)</script> & more", "Body & <b>not bold</b>"))
    listing = await herald.send("/latest")
    assert "Q&A: <script>alert(1)</script> & more" in listing.visible_text
    _, opened = await herald.press(listing, button_data(listing, "1."))
    assert "Body & <b>not bold</b>" in opened.visible_text


async def test_huge_body_is_trimmed_to_telegram_limit(herald: Herald, db: Database) -> None:
    body = ("Word & <tag> " * 800)[:10_000]
    await store(db, article("Very long story", body, url="https://example.com/long"))
    listing = await herald.send("/latest")
    _, opened = await herald.press(listing, button_data(listing, "1."))
    assert opened.edited  # the fake enforces 4096 and valid HTML: the edit succeeded
    assert "Very long story" in opened.visible_text and "Read the full story" in opened.visible_text
    assert len(opened.visible_text.encode("utf-16-le")) // 2 <= 4096


async def test_forged_and_stale_buttons_expire_quietly(herald: Herald, db: Database) -> None:
    await store(db, article("Only story"))
    listing = await herald.send("/latest")
    shown = listing.visible_text
    before = herald.api.mark()
    for forged in ["a:999999:l.0", "s:424242:0", "garbage", "a:1:x9.0", "l:abc:1", "a:1:l.0:extra"]:
        text, after = await herald.press(listing, forged, forged=True)
        assert text == "This button has expired."
        assert after.visible_text == shown and after.edit_count == 0
    sent = [c.method for c in herald.api.calls[before:] if c.method != "getUpdates"]
    assert set(sent) == {"answerCallbackQuery"}


async def test_search_page_of_another_chat_expires(herald: Herald, db: Database) -> None:
    await store(db, *[article(f"Harbour story {i}") for i in range(8)])
    mine = await herald.send("/search harbour")
    data = button_data(mine, "More")
    theirs = await herald.send("/latest", chat_id=READER + 1)
    text, _ = await herald.press(theirs, data, forged=True)
    assert text == "This button has expired."


async def test_unknown_command_gets_help_pointer(herald: Herald) -> None:
    reply = await herald.send("/frobnicate now")
    assert "don't know that command" in reply.visible_text


async def test_group_command_with_bot_name(herald: Herald, db: Database) -> None:
    await store(db, article("Group news"))
    name = herald.api.bot_username
    reply = await herald.send(
        f"/latest@{name}", chat_id=GROUP, user_id=READER, chat_type="supergroup"
    )
    assert "Group news" in reply.visible_text
    unknown = await herald.send(
        f"/nope@{name}", chat_id=GROUP, user_id=READER, chat_type="supergroup"
    )
    assert "don't know that command" in unknown.visible_text


async def test_other_bots_commands_in_groups_are_ignored(herald: Herald) -> None:
    mark = herald.api.mark()
    herald.api.send_text(
        "/latest@SomeOtherBot", chat_id=GROUP, user_id=READER, chat_type="supergroup"
    )
    herald.api.send_text("/weather", chat_id=GROUP, user_id=READER, chat_type="supergroup")
    reply = await herald.send("/help", chat_id=GROUP, user_id=READER, chat_type="supergroup")
    sent = [c for c in herald.api.calls[mark:] if c.method == "sendMessage"]
    assert [c.result["message_id"] for c in sent] == [reply.message_id]


async def test_plain_text_in_private_chat_searches(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    reply = await herald.send("comet")
    assert "Results for “comet”" in reply.visible_text and "Tessaly" in reply.visible_text


async def test_snippet_is_not_the_title_again(herald: Herald, db: Database) -> None:
    await store(db, article("Harbour crane collapses", "Nobody was hurt when it fell at dawn."))
    reply = await herald.send("/search crane")
    assert reply.visible_text.count("Harbour crane collapses") == 1
    assert "Nobody was hurt" in reply.visible_text


async def test_imported_article_is_not_marked_updated(herald: Herald, db: Database) -> None:
    await store(db, article("Fresh story"), now=1_700_000_000)
    listing = await herald.send("/latest")
    _, opened = await herald.press(listing, button_data(listing, "1."))
    assert "Fresh story" in opened.visible_text and "Updated" not in opened.visible_text
