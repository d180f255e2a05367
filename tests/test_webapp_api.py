"""The Mini App's API over real HTTP: initData checked as Telegram documents it, the same
search, reading, subscriptions and settings as the chat, and nobody changes anyone else's."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.sandbox.samples import seed_samples
from bot.web import auth
from storage.db import Database
from tests.factories import READER, Herald, article, store
from tests.webapp_client import call, init_data, now

OTHER = 2002

# Published by aiogram (tests/test_utils/test_web_app.py): bot token "42:TEST".
AIOGRAM_TOKEN = "42:TEST"
AIOGRAM_VECTOR = (
    "auth_date=1650385342"
    "&user=%7B%22id%22%3A42%2C%22first_name%22%3A%22Test%22%7D"
    "&query_id=test"
    "&hash=46d2ea5e32911ec8d30999b56247654460c0d20949b6277af519e76271182803"
)


def test_telegrams_published_test_vector_validates() -> None:
    user = auth.validate(AIOGRAM_VECTOR, AIOGRAM_TOKEN, max_age=60, now=1650385342 + 30)
    assert (user.id, user.first_name, user.auth_date) == (42, "Test", 1650385342)
    with pytest.raises(auth.InvalidInitData):
        auth.validate(AIOGRAM_VECTOR, "43:TEST", max_age=60, now=1650385342)
    with pytest.raises(auth.InvalidInitData, match="too old"):
        auth.validate(AIOGRAM_VECTOR, AIOGRAM_TOKEN, max_age=60, now=1650385342 + 61)


def _altered(data: str, key: str) -> str:
    """``data`` with one field's value changed after signing, the hash kept."""
    pairs = parse_qsl(data, keep_blank_values=True)
    changed = []
    for name, value in pairs:
        if name == key and key == "user":
            value = json.dumps({**json.loads(value), "id": OTHER})
        elif name == key and key == "auth_date":
            value = str(int(value) - 1)
        elif name == key:
            value += "x"
        changed.append((name, value))
    return urlencode(changed)


def _without(data: str, key: str) -> str:
    return urlencode([(k, v) for k, v in parse_qsl(data, keep_blank_values=True) if k != key])


def _bad_init_data(herald: Herald) -> dict[str, str]:
    good = init_data(herald, READER, signature="sig-from-telegram", start_param="a1")
    return {
        **{
            f"altered {key}": _altered(good, key)
            for key in ("query_id", "user", "auth_date", "signature", "start_param", "hash")
        },
        "missing hash": _without(good, "hash"),
        "another bot's token": auth.sign_user("654321:OTHER-BOT", READER),
        "too old": init_data(herald, READER, auth_date=now() - 86_400 - 120),
        "from the future": init_data(herald, READER, auth_date=now() + 3600),
        "duplicate user": good + "&user=" + _altered(good, "user").split("user=")[1].split("&")[0],
        "duplicate hash": good + "&hash=" + dict(parse_qsl(good))["hash"],
        "empty": "",
        "garbage": "%%%&&&==",
    }


async def test_valid_init_data_reads_the_users_own_chat(herald: Herald, db: Database) -> None:
    await herald.send('/subscribe "harbour"')
    status, body = await call(herald, "GET", "/api/me", auth=init_data(herald, READER))
    assert status == 200
    assert [s["label"] for s in body["subscriptions"]] == ["“harbour”"]
    assert body["settings"]["mode"] == "instant"


async def test_every_bad_init_data_is_401_and_changes_nothing(herald: Herald) -> None:
    for name, data in _bad_init_data(herald).items():
        for method, path, payload in [
            ("GET", "/api/me", None),
            ("POST", "/api/subscriptions", {"action": "subscribe", "text": '"ports"'}),
            ("POST", "/api/settings", {"key": "mode", "value": "hourly"}),
            ("GET", "/api/latest", None),  # a bad signature is refused even where guests read
        ]:
            status, _ = await call(herald, method, path, auth=data, json=payload)
            assert status == 401, (name, method, path)
    status, body = await call(herald, "GET", "/api/me", auth=init_data(herald, READER))
    assert status == 200 and body["subscriptions"] == [] and body["settings"]["mode"] == "instant"


async def test_wrong_scheme_and_guests_cannot_change_anything(herald: Herald) -> None:
    good = init_data(herald, READER)
    for headers_auth in (None,):
        status, _ = await call(herald, "GET", "/api/me", auth=headers_auth)
        assert status == 401
    status, _ = await call(
        herald, "POST", "/api/subscriptions", json={"action": "subscribe", "text": "x"}
    )
    assert status == 401
    import aiohttp

    from tests.webapp_client import base_url

    async with (
        aiohttp.ClientSession() as session,
        session.get(base_url(herald) + "/api/me", headers={"Authorization": f"Bearer {good}"}) as r,
    ):
        assert r.status == 401


async def test_a_forged_user_id_cannot_change_another_users_subscriptions(
    herald: Herald, db: Database
) -> None:
    await store(db, article("Budget passes", topics=("politics",)))
    await herald.send("/subscribe politics", chat_id=OTHER)
    mine = init_data(herald, READER)
    forged = _altered(mine, "user")  # claims to be OTHER, signed as READER
    status, _ = await call(
        herald,
        "POST",
        "/api/subscriptions",
        auth=forged,
        json={"action": "unsubscribe", "text": "politics"},
    )
    assert status == 401
    _, theirs = await call(herald, "GET", "/api/me", auth=init_data(herald, OTHER))
    their_id = theirs["subscriptions"][0]["id"]
    # Signed as READER, aiming at OTHER's subscription id or naming OTHER in the body.
    status, _ = await call(herald, "DELETE", f"/api/subscriptions/{their_id}", auth=mine)
    assert status == 404
    status, body = await call(
        herald,
        "POST",
        "/api/subscriptions",
        auth=mine,
        json={"action": "unsubscribe", "text": "politics", "chat_id": OTHER},
    )
    assert status == 200 and body["subscriptions"] == []
    reply = await herald.send("/subscriptions", chat_id=OTHER)
    assert "#politics" in reply.visible_text


async def test_subscriptions_round_trip_between_app_and_chat(herald: Herald, db: Database) -> None:
    await store(db, article("Cup final", topics=("sport",)), article("Vote", topics=("politics",)))
    me = init_data(herald, READER)
    status, body = await call(
        herald,
        "POST",
        "/api/subscriptions",
        auth=me,
        json={"action": "subscribe", "text": 'sport "climate deal" sprot'},
    )
    assert status == 200
    assert {s["label"] for s in body["subscriptions"]} == {"#sport", "“climate deal”"}
    assert "sport" in body["message_html"]  # the misspelt one gets the same suggestion
    listing = await herald.send("/subscriptions")
    assert "#sport" in listing.visible_text and "climate deal" in listing.visible_text
    await herald.send("/subscribe politics")
    await herald.send('/unsubscribe "climate deal"')
    _, body = await call(herald, "GET", "/api/me", auth=me)
    assert {s["label"] for s in body["subscriptions"]} == {"#sport", "#politics"}
    sport = next(s["id"] for s in body["subscriptions"] if s["label"] == "#sport")
    status, body = await call(herald, "DELETE", f"/api/subscriptions/{sport}", auth=me)
    assert status == 200 and [s["label"] for s in body["subscriptions"]] == ["#politics"]
    assert "#sport" not in (await herald.send("/subscriptions")).visible_text


async def test_settings_round_trip_between_app_and_chat(herald: Herald) -> None:
    me = init_data(herald, READER)
    for key, value in [
        ("daily_at", "06:45"),
        ("quiet", "22:30-06:30"),
        ("timezone", "europe/madrid"),
        ("previews", False),
    ]:
        status, body = await call(
            herald, "POST", "/api/settings", auth=me, json={"key": key, "value": value}
        )
        assert status == 200, (key, body)
    panel = (await herald.send("/settings")).visible_text
    assert "daily digest at 06:45" in panel and "22:30–06:30" in panel
    assert "Europe/Madrid" in panel and "Link previews: off" in panel
    await herald.send("/digest hourly")
    await herald.send("/quiet off")
    _, body = await call(herald, "GET", "/api/me", auth=me)
    assert body["settings"]["mode"] == "hourly" and body["settings"]["quiet"] is None
    for key, value in [
        ("mode", "weekly"),
        ("quiet", "25-99"),
        ("timezone", "Mars/Base"),
        ("previews", "yes"),
        ("language", "fr"),
        ("colour", "red"),
    ]:
        status, _ = await call(
            herald, "POST", "/api/settings", auth=me, json={"key": key, "value": value}
        )
        assert status == 400, key
    _, after = await call(herald, "GET", "/api/me", auth=me)
    assert after["settings"] == body["settings"]


async def test_search_uses_the_chats_ranking_syntax_and_snippets(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    status, body = await call(herald, "GET", "/api/search?q=flood%20barrier")
    assert status == 200 and body["items"]
    chat = await herald.send("/search flood barrier")
    first_in_chat = chat.visible_text.split("\n1. ")[1].split("\n")[0]
    assert first_in_chat.startswith(body["items"][0]["title"][:40])
    assert "<b>" in body["items"][0]["snippet_html"]
    for query in ['"flood barrier', "-", "(((", "x" * 5000, "NEAR(a b)"]:
        status, _ = await call(herald, "GET", "/api/search?q=" + query.replace(" ", "%20"))
        assert status == 200, query


async def test_latest_article_and_related(herald: Herald, db: Database) -> None:
    await seed_samples(db)
    _, latest = await call(herald, "GET", "/api/latest")
    assert latest["items"] and latest["has_next"] in (True, False)
    _, found = await call(herald, "GET", "/api/search?q=flood%20barrier")
    status, body = await call(herald, "GET", f"/api/article/{found['items'][0]['id']}")
    assert status == 200 and body["paragraphs"] and body["related"]
    assert all("Marrowby" in r["title"] for r in body["related"][:2])
    assert (await call(herald, "GET", "/api/article/999999"))[0] == 404
    assert (await call(herald, "GET", "/api/article/abc"))[0] == 400
    assert (await call(herald, "GET", "/api/latest?page=-1"))[0] == 400


async def test_spanish_user_gets_spanish_strings_and_dates(herald: Herald, db: Database) -> None:
    await store(db, article("Hola"))
    es = init_data(herald, READER, language="es")
    _, body = await call(herald, "GET", "/api/strings", auth=es)
    assert body["language"] == "es" and body["strings"]["latest"] == "Últimas"
    _, en = await call(herald, "GET", "/api/strings", auth=init_data(herald, OTHER))
    assert en["strings"]["latest"] == "Latest"
    _, guest = await call(herald, "GET", "/api/strings?lang=es-419")
    assert guest["language"] == "es"
