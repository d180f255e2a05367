"""Inline mode and deep links, end to end: the real Herald answers inline queries through the fake
Bot API (which refuses what Telegram refuses), and ``/start a_<id>`` opens the article."""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qs, urlparse

import pytest
from telegram import Bot, InlineQueryResultArticle, InputTextMessageContent
from telegram.error import BadRequest

from bot.sandbox.fake_api import JSON, FakeBotAPI
from bot.sandbox.samples import seed_samples
from bot.sandbox.telegram_html import parse_html, utf16_len
from storage import articles as store
from storage.db import Database
from tests import factories
from tests.factories import READER, Herald, article, button_data, buttons

# Also run against PostgreSQL (see tests/conftest.py).
BACKENDS = ("sqlite", "postgresql")

NO_MATCHES = "No matches – open Herald"
GONE = "Sorry, that article is no longer available."
GREETING = "brings the newsroom to Telegram"


async def ask(herald: Herald, query: str, offset: str = "") -> JSON:
    """A reader types ``@HeraldTestBot query``; Herald's accepted answer."""
    mark = herald.api.mark()
    query_id = herald.api.send_inline_query(READER, query, offset=offset)
    call = await herald.api.wait_for(
        "answerInlineQuery", lambda c: c.params["inline_query_id"] == query_id, after=mark
    )
    assert call.ok, call.error  # the fake checks every Telegram limit on the way in
    answer = herald.api.inline_answer(query_id)
    assert answer is not None
    return answer


def ids(answer: JSON) -> list[int]:
    return [int(result["id"].removeprefix("a")) for result in answer["results"]]


def start_parameter(result: JSON) -> str:
    """The /start payload of a result's "Open in Herald" button."""
    [[button]] = result["reply_markup"]["inline_keyboard"]
    assert button["text"] == "Open in Herald"
    url = urlparse(button["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", "/HeraldTestBot")
    return parse_qs(url.query)["start"][0]


async def test_an_empty_query_lists_the_latest_articles(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    answer = await ask(herald, "")
    newest = await store.latest(db, limit=20)
    assert ids(answer) == [h.id for h in newest]
    assert [r["title"] for r in answer["results"]] == [h.title for h in newest]
    assert answer["is_personal"] is True and 0 < answer["cache_time"] <= 300
    assert "button" not in answer
    first = answer["results"][0]
    assert first["type"] == "article" and first["description"]
    assert start_parameter(first) == f"a_{newest[0].id}"


async def test_a_query_lists_matches_ready_to_share(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    answer = await ask(herald, "dockworkers strike")
    assert answer["results"], "the sample strike story should match"
    top = answer["results"][0]
    assert top["title"] == "Port Alder dockworkers announce 72-hour strike over shift rosters"
    assert "\x02" not in top["description"] and "<" not in top["description"]  # plain text
    shared = top["input_message_content"]
    assert shared["parse_mode"] == "HTML"
    seen = parse_html(shared["message_text"])  # what the chat shows once the result is chosen
    assert seen.text.startswith(top["title"] + "\n\n")
    assert {"type": "bold", "offset": 0, "length": utf16_len(top["title"])} in seen.entities
    assert any(e["type"] == "text_link" for e in seen.entities)  # the link to the source
    assert start_parameter(top) == f"a_{ids(answer)[0]}"
    assert answer.get("next_offset", "") == ""


async def test_paging_through_the_latest_with_next_offset(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    first = await ask(herald, "")
    assert len(first["results"]) == 20 and first["next_offset"]
    second = await ask(herald, "", offset=first["next_offset"])
    assert len(second["results"]) == 16 and second.get("next_offset", "") == ""
    everything = await store.latest(db, limit=100)
    assert ids(first) + ids(second) == [h.id for h in everything]


async def test_paging_through_search_results(herald: Herald, db: Database) -> None:
    added = await factories.store(db, *(article(f"Zephyr report number {n}") for n in range(25)))
    first = await ask(herald, "zephyr")
    assert len(first["results"]) == 20 and first["next_offset"]
    second = await ask(herald, "zephyr", offset=first["next_offset"])
    assert len(second["results"]) == 5 and second.get("next_offset", "") == ""
    assert sorted(ids(first) + ids(second)) == sorted(added)


async def test_a_garbled_offset_ends_the_list_quietly(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    for offset in ("zz", "20:x", "-5", "1:2:3:4", "0:" + "9" * 19 + ":1", "9" * 30):
        answer = await ask(herald, "port", offset=offset)
        assert answer["results"] == [] and answer.get("next_offset", "") == ""
        assert "button" not in answer  # the button belongs over the first page only


@pytest.mark.parametrize(
    "query", ['"unbalanced', "AND OR", "*", "NEAR(a b", "-", "title:port", "a'b\"c^", "🙂" * 300]
)
async def test_search_syntax_never_raises(
    herald: Herald, db: Database, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_samples(db)
    with caplog.at_level(logging.INFO):
        answer = await ask(herald, query)
    assert isinstance(answer["results"], list)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("inline query from user" in r.getMessage() for r in caplog.records)


async def test_no_matches_offers_a_way_into_herald(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    answer = await ask(herald, "xylophone quantum")
    assert answer["results"] == []
    assert answer["button"] == {"text": NO_MATCHES, "start_parameter": "inline"}
    reply = await herald.send(f"/start {answer['button']['start_parameter']}")
    assert GREETING in reply.visible_text and GONE not in reply.visible_text


async def test_results_fit_telegrams_limits_whatever_the_article(
    herald: Herald, db: Database
) -> None:
    huge = "Quokka <b>&amp; “quoted” " + "very long words " * 60
    await factories.store(
        db,
        article(
            huge,
            body="Quokka body & <tags> " * 800,
            summary="Quokka summary <i>not a tag</i> & more " * 200,
            url='https://example.com/a?x=1&y="2"<3>',
            source="A & B <Press> " * 20,
            image_url="https://img.example.com/quokka.jpg",
        ),
        *(article(f"Quokka sighting {n}") for n in range(60)),
    )
    for query in ("quokka", ""):
        answer = await ask(herald, query)
        assert 0 < len(answer["results"]) <= 50
        for result in answer["results"]:
            assert len(result["id"].encode()) <= 64
            assert 0 < utf16_len(result["title"]) <= 120
            assert utf16_len(result.get("description", "")) <= 200
            shown = parse_html(result["input_message_content"]["message_text"])
            assert 0 < utf16_len(shown.text) <= 4096
    [big] = (await ask(herald, "quokka quoted"))["results"]
    assert big["thumbnail_url"] == "https://img.example.com/quokka.jpg"
    assert big["title"].startswith("Quokka <b>&amp; “quoted”") and big["title"].endswith("…")


async def test_a_retracted_article_is_not_offered(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    [newest] = await store.latest(db, limit=1)
    await store.set_status(db, newest.id, store.RETRACTED, 1_700_000_000)
    assert newest.id not in ids(await ask(herald, ""))


async def test_the_deep_link_opens_the_article_as_a_tap_does(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    listing = await herald.send("/latest")
    _, tapped = await herald.press(listing, button_data(listing, "1."))
    [newest] = await store.latest(db, limit=1)
    opened = await herald.send(f"/start a_{newest.id}")
    assert opened.visible_text == tapped.visible_text
    assert opened.reply_markup == tapped.reply_markup
    assert opened.visible_text.startswith(newest.title)
    assert buttons(opened)[-1] == ("◀ Back to the list", "l::0")  # back goes to /latest


async def test_from_inline_result_to_the_article(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    top = (await ask(herald, "dockworkers strike"))["results"][0]
    opened = await herald.send(f"/start {start_parameter(top)}")
    assert opened.visible_text.startswith(top["title"])
    related = [text for text, _ in buttons(opened) if text.startswith("🔗 ")]
    assert related, "the strike story has follow-ups in the samples"
    _, after = await herald.press(opened, button_data(opened, "🔗 "))
    assert after.visible_text.startswith(related[0].removeprefix("🔗 ").rstrip("…"))


@pytest.mark.parametrize("payload", ["a_999999", "a_", "a_12x", "a_١٢", "a_" + "9" * 40])
async def test_an_unknown_or_malformed_link_gets_a_friendly_line(
    herald: Herald, db: Database, payload: str
) -> None:
    await seed_samples(db)
    reply = await herald.send(f"/start {payload}")
    assert reply.visible_text.startswith(GONE)
    assert GREETING in reply.visible_text


async def test_a_link_to_a_retracted_article_gets_a_friendly_line(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    [newest] = await store.latest(db, limit=1)
    await store.set_status(db, newest.id, store.RETRACTED, 1_700_000_000)
    reply = await herald.send(f"/start a_{newest.id}")
    assert reply.visible_text.startswith(GONE) and GREETING in reply.visible_text
    assert newest.title not in reply.visible_text


async def test_plain_start_still_greets(herald: Herald) -> None:
    reply = await herald.send("/start")
    assert GREETING in reply.visible_text and GONE not in reply.visible_text


# ---------------------------------------------------------------- the fake refuses like Telegram


def _result(result_id: str = "r1", text: str = "<b>Hi</b>", **fields: object) -> JSON:
    item: JSON = {
        "type": "article",
        "id": result_id,
        "title": "Title",
        "input_message_content": {"message_text": text, "parse_mode": "HTML"},
    }
    item.update(fields)
    return item


@pytest.mark.filterwarnings("ignore:Please use 'Bot.answerInlineQuery'")
@pytest.mark.parametrize(
    ("results", "extra", "reason"),
    [
        ([_result(f"r{n}") for n in range(51)], {}, "RESULTS_TOO_MUCH"),
        ([_result("same"), _result("same")], {}, "RESULT_ID_DUPLICATE"),
        ([_result("x" * 65)], {}, "RESULT_ID_INVALID"),
        ([_result("é" * 33)], {}, "RESULT_ID_INVALID"),  # 66 bytes in 33 characters
        ([_result(text="<b>unclosed")], {}, "can't parse entities"),
        ([_result(text="x" * 4097)], {}, "message is too long"),
        ([_result(title=None)], {}, 'Field "title"'),
        ([_result(type="nonsense")], {}, "RESULT_TYPE_INVALID"),
        ([_result(thumbnail_url="ftp://x/y.jpg")], {}, "WEBDOCUMENT_URL_INVALID"),
        (
            [_result(reply_markup={"inline_keyboard": [[{"text": "no action"}]]})],
            {},
            "text buttons are unallowed",
        ),
        ([], {"button": {"text": "Go", "start_parameter": "a.1"}}, "START_PARAM_INVALID"),
        ([], {"button": {"text": "Go"}}, "exactly one action"),
        ([], {"next_offset": "9" * 65}, "NEXT_OFFSET_INVALID"),
    ],
)
async def test_the_fake_refuses_what_telegram_refuses(
    api: FakeBotAPI, results: list[JSON], extra: JSON, reason: str
) -> None:
    query_id = api.send_inline_query(READER, "anything")
    async with Bot(api.token, base_url=api.base_url) as bot:
        with pytest.raises(BadRequest, match="(?i)" + re.escape(reason)):
            # Raw dicts, so that PTB's own checks cannot stop a bad answer before the fake does.
            await bot.do_api_request(
                "answerInlineQuery",
                api_kwargs={"inline_query_id": query_id, "results": results, **extra},
            )
    assert api.inline_answer(query_id) is None


async def test_the_fake_takes_one_answer_per_known_query(api: FakeBotAPI) -> None:
    query_id = api.send_inline_query(READER, "", chat_type="group")
    result = InlineQueryResultArticle("r1", "Title", InputTextMessageContent("Hello"))
    async with Bot(api.token, base_url=api.base_url) as bot:
        assert (await bot.get_me()).supports_inline_queries is True
        assert await bot.answer_inline_query(query_id, [result], cache_time=5, next_offset="")
        with pytest.raises(BadRequest, match="(?i)query id is invalid"):
            await bot.answer_inline_query(query_id, [result])
        with pytest.raises(BadRequest, match="(?i)query id is invalid"):
            await bot.answer_inline_query("42", [result])
    answer = api.inline_answer(query_id)
    assert answer is not None and answer["results"][0]["title"] == "Title"
    assert api.inline_queries[query_id]["chat_type"] == "group"
