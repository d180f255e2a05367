"""Languages: every text a reader sees is in the catalogs, and each reader gets their own language.

Three kinds of test:

- The catalog tests read the source the way ``pybabel extract`` does and fail, naming the
  string and where it is, when a translation is missing or fuzzy, or would break a placeholder
  or an HTML tag.
- The source scan fails when an English sentence reaches a reader without ``_()``: a string
  nobody wrapped never reaches the catalog, so the catalog tests alone cannot see it.
- The end-to-end tests drive the real bot: a Spanish Telegram user reads Spanish from /start
  on; English and unsupported languages read English; readers writing in the same moment keep
  their own language.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n
from bot.sandbox.fake_api import SentMessage
from bot.sandbox.samples import seed_samples
from bot.sandbox.telegram_html import EntityParseError, parse_html
from bot.services import chats, preferences
from storage.db import Database
from tests.factories import READER, Herald, article, button_data, buttons, eventually, store

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}  # the same as the README's pybabel extract
TRANSLATED = sorted(set(i18n.LANGUAGES) - {i18n.DEFAULT})
HOW_TO_FIX = "\n(see README.md, 'Translations': pybabel extract, pybabel update, then translate)"

# ---------------------------------------------------------------------------------- catalogs


@cache
def extracted() -> dict[str | tuple[str, ...], list[str]]:
    """Every message in bot/ and handlers/ as pybabel sees it → where it is used."""
    found: dict[str | tuple[str, ...], list[str]] = {}
    for source in ("bot", "handlers"):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            ROOT / source, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            found.setdefault(message, []).append(f"{source}/{filename}:{lineno}")
    return found


def catalog(language: str) -> Catalog:
    with i18n.catalog_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=i18n.DOMAIN)


def fields(text: str) -> set[str]:
    """The ``{names}`` a ``str.format`` template uses; ``{}`` for a positional one.

    Raises ValueError when the template is malformed (a lone brace).
    """
    parsed = [name for _, name, _, _ in Formatter().parse(text) if name is not None]
    return {name.split(".")[0].split("[")[0] or "{}" for name in parsed}


TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def tags(text: str) -> Counter[str]:
    return Counter(TAG.findall(text))


def test_extraction_finds_the_reader_strings() -> None:
    """Guards the guard: if extraction found nothing, every catalog test would pass vacuously."""
    messages = extracted()
    assert "Latest news" in messages and "This button has expired." in messages
    assert "Subscribed to {items}." in messages and "everything" in messages


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_string_in_the_source_is_translated(language: str) -> None:
    po = catalog(language)
    problems = []
    for msgid, where in extracted().items():
        key = msgid if isinstance(msgid, str) else msgid[0]
        entry = po.get(key)
        if entry is None:
            problems.append(f"{where[0]}: not in {language}.po: {msgid!r}")
        elif entry.fuzzy:
            problems.append(f"{where[0]}: fuzzy in {language}.po: {msgid!r}")
        elif isinstance(msgid, tuple) != isinstance(entry.id, tuple):
            problems.append(f"{where[0]}: singular/plural differs in {language}.po: {msgid!r}")
        elif not all(entry.string if isinstance(entry.string, tuple) else [entry.string]):
            problems.append(f"{where[0]}: untranslated in {language}.po: {msgid!r}")
    assert not problems, "\n".join(problems) + HOW_TO_FIX


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_placeholders_and_html(language: str) -> None:
    problems = []
    for entry in catalog(language):
        if not entry.id or not entry.string:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for index, form in enumerate(forms):
            if not form:
                continue  # reported as untranslated by the test above when the code uses it
            source = ids[-1] if index and index == len(forms) - 1 else ids[0]
            problems += _form_problems(entry.id, source, form, all_ids=ids)
    assert not problems, "\n".join(problems)


def _form_problems(
    msgid: str | tuple[str, ...], source: str, form: str, all_ids: tuple[str, ...]
) -> list[str]:
    """What is wrong with one translated ``form`` of ``source``."""
    try:
        expected, got = fields(source), fields(form)
    except ValueError as exc:
        return [f"{msgid!r}: the translation is not a valid template ({exc}): {form!r}"]
    allowed = set().union(*(fields(i) for i in all_ids))
    if got - allowed or (len(all_ids) == 1 and got != expected):
        return [f"{msgid!r}: placeholders {sorted(expected)} became {sorted(got)}: {form!r}"]
    if tags(source) != tags(form):
        return [f"{msgid!r}: HTML tags {sorted(tags(source))} became {sorted(tags(form))}"]
    dummy = {name: "x" for name in allowed}
    try:
        parse_html(source.format(**dummy))
    except EntityParseError:
        return []  # a fragment of HTML (its tags open or close elsewhere): compared above
    try:
        parse_html(form.format(**dummy))
    except EntityParseError as exc:
        return [f"{msgid!r}: the translation is not valid Telegram HTML ({exc}): {form!r}"]
    return []


def test_the_checks_catch_broken_translations() -> None:
    """A lost placeholder, a renamed one and a dropped or misnested tag are all reported."""
    ids = ("Subscribed to {items}.",)
    assert _form_problems(ids[0], ids[0], "Te has suscrito.", ids)
    assert _form_problems(ids[0], ids[0], "Te has suscrito a {cosas}.", ids)
    assert _form_problems(ids[0], ids[0], "Te has suscrito a {}.", ids)
    assert _form_problems(ids[0], ids[0], "Te has suscrito a {items.", ids)
    assert not _form_problems(ids[0], ids[0], "Te has suscrito a {items}.", ids)
    bold = ("<b>Topics</b> (articles)",)
    assert _form_problems(bold[0], bold[0], "Temas (artículos)", bold)
    assert _form_problems(bold[0], bold[0], "<b>Temas (artículos)", bold)
    nested = ("<b><i>Topics</i></b>",)
    assert _form_problems(nested[0], nested[0], "<b><i>Temas</b></i>", nested)


# ---------------------------------------------------------------------------- the source scan

# Modules whose strings readers see: every rendering module and handler (a new one is scanned
# from its first commit) except the editors', which are English by design.
EDITORS_ONLY = {
    "bot/rendering/editors.py",
    "bot/rendering/feeds.py",
    "handlers/editors.py",
    "handlers/feeds.py",
}
READER_MODULES = sorted(
    {
        *(p.relative_to(ROOT).as_posix() for p in ROOT.glob("bot/rendering/[!_]*.py")),
        *(p.relative_to(ROOT).as_posix() for p in ROOT.glob("handlers/[!_]*.py")),
        "bot/services/subscriptions.py",  # names 'everything' for the reader
    }
    - EDITORS_ONLY
)
TRANSLATORS = {"_", "N_", "ngettext"}
# Calls whose string arguments are text for a reader (or a line of it).
SINKS = {
    "Rendered",
    "InlineKeyboardButton",
    "BotCommand",
    "reply",
    "reply_text",
    "answer",
    "send_message",
    "edit_message_text",
    "append",
}
# Calls whose string arguments are never reader text: logs, formats, patterns, handler set-up.
NOT_TEXT = {
    *("debug", "info", "warning", "error", "exception", "critical"),
    *("format_date", "format_datetime", "format_time", "format_decimal", "format_list"),
    *("compile", "match", "fullmatch", "search", "sub", "split", "findall", "escape"),
    *("encode", "decode", "startswith", "endswith", "partition", "strip", "lstrip", "rstrip"),
    *("replace", "callback", "getattr", "get", "setdefault"),
    *("CommandHandler", "MessageHandler", "CallbackQueryHandler", "ChatMemberHandler"),
    "TypeHandler",
}
NOT_TEXT_KEYWORDS = {"pattern", "callback_data", "style", "locale", "parse_mode", "name"}
NOT_WORDS = {"Herald", "UTC", "OR"}  # the brand, a zone, a search operator: the same everywhere
# Strings that look like text but never reach a reader, with the reason.
ALLOWED = {
    ("handlers/membership.py", "blocked by the user"): "a pause reason, for logs and /stats",
    ("handlers/membership.py", "Herald was {}"): "a pause reason, for logs and /stats",
    ("handlers/fallback.py", "{} (chat {})"): "an update's description in the error log",
}

_CODE = re.compile(r"<code>.*?</code>", re.S)  # typed as shown: commands and examples
_MARKUP = re.compile(r"<[^>]*>|\{[^{}]*\}|&\w+;|https?://\S+|/\w+(@\w+)?|@\w+")
_WORD = re.compile(r"[^\W\d_]{3,}")
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
# Bot API method names and parse modes in the calls rendering builds (push, digest): not text.
_API_TOKEN = re.compile(r"(?:send|edit|delete|answer|set|get)[A-Z][A-Za-z]*|HTML")


def words(text: str) -> list[str]:
    """The words a reader would read in ``text``: markup, code, commands and names removed."""
    visible = _MARKUP.sub(" ", _CODE.sub(" ", text))
    return [w for w in _WORD.findall(visible) if w not in NOT_WORDS]


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _literal(node: ast.Constant | ast.JoinedStr) -> str:
    """A string literal's text; an f-string's expressions become ``{}``."""
    if isinstance(node, ast.Constant):
        return node.value
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


class Scan:
    """One module's strings, each judged by where it sits in the syntax tree."""

    def __init__(self, source: str, path: str) -> None:
        self.path = path
        self.tree = ast.parse(source)
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent

    def ancestors(self, node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
        """(child, parent) pairs from ``node`` up to the module."""
        while node in self.parents:
            yield node, self.parents[node]
            node = self.parents[node]

    def literals(self) -> Iterator[ast.Constant | ast.JoinedStr]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.JoinedStr) or (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and not isinstance(self.parents.get(node), ast.JoinedStr)
            ):
                yield node

    def unwrapped(self) -> list[str]:
        """English sentences that can reach a reader without going through ``_()``."""
        found = []
        for node in self.literals():
            text = _literal(node)
            if not words(text) or (self.path, text) in ALLOWED or self._not_text(node):
                continue
            if _IDENTIFIER.fullmatch(text) and not self._reaches_sink(node):
                continue  # 'subscribe', 'not_found': names and keys, not sentences
            if _API_TOKEN.fullmatch(text):
                continue
            found.append(f"{self.path}:{node.lineno}: {text!r} is not wrapped in _()")
        return found

    def _not_text(self, node: ast.AST) -> bool:
        for child, parent in self.ancestors(node):
            if isinstance(parent, ast.Call) and child is not parent.func:
                if _name(parent.func) in TRANSLATORS | NOT_TEXT:
                    return True
            if isinstance(parent, ast.keyword) and parent.arg in NOT_TEXT_KEYWORDS:
                return True
            if isinstance(parent, ast.Raise | ast.Assert | ast.Compare):
                return True
            if isinstance(parent, ast.Dict) and any(child is k for k in parent.keys):
                return True
            if isinstance(parent, ast.Subscript) and child is parent.slice:
                return True
            if isinstance(parent, ast.Expr) and isinstance(child, ast.Constant):
                return True  # a docstring
            if isinstance(parent, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith("PATTERN") for t in parent.targets
            ):
                return True
            if isinstance(parent, ast.stmt):
                return False
        return False

    def _reaches_sink(self, node: ast.AST) -> bool:
        """Whether a one-word string is handed straight to a reply, a button or a return."""
        for _child, parent in self.ancestors(node):
            if isinstance(parent, ast.Return):
                return True
            if isinstance(parent, ast.Call):
                return _name(parent.func) in SINKS  # any other call: a key or a value it takes
            if isinstance(parent, ast.stmt):
                return False
        return False

    def unextractable(self) -> list[str]:
        """``_()`` calls pybabel cannot read: inside an f-string, or not on a plain literal."""
        found = []
        for node in ast.walk(self.tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in TRANSLATORS):
                continue
            where = f"{self.path}:{node.lineno}"
            if any(isinstance(p, ast.JoinedStr) for _, p in self.ancestors(node)):
                found.append(f"{where}: _() inside an f-string is invisible to pybabel")
            for arg in node.args[:2] if _name(node.func) == "ngettext" else node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    continue
                if any(isinstance(n, ast.JoinedStr | ast.BinOp) for n in ast.walk(arg)) or any(
                    isinstance(n, ast.Constant) and isinstance(n.value, str) for n in ast.walk(arg)
                ):
                    found.append(f"{where}: _() of a built string cannot be extracted")
        return found

    def constants(self) -> set[str]:
        """Module-level names marked with N_: ``X = N_("...")`` and ``X = {"k": N_("...")}``."""
        names = set()
        for stmt in self.tree.body:
            if not isinstance(stmt, ast.Assign):
                continue
            value = stmt.value
            marked = isinstance(value, ast.Call) and _name(value.func) == "N_"
            if isinstance(value, ast.Dict) and value.values:
                marked = all(
                    isinstance(v, ast.Call) and _name(v.func) == "N_" for v in value.values
                )
            if marked:
                names |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        return names

    def shown_untranslated(self, constants: set[str]) -> list[str]:
        """Uses of N_-marked constants that do not pass through ``_()`` on their way out."""
        found = []
        for node in ast.walk(self.tree):
            name = (
                node.id
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                else node.attr
                if isinstance(node, ast.Attribute)
                else None
            )
            if name not in constants:
                continue
            if not self._translated(node):
                found.append(f"{self.path}:{node.lineno}: {name} is shown without _()")
        return found

    def _translated(self, node: ast.AST) -> bool:
        for child, parent in self.ancestors(node):
            if isinstance(parent, ast.Call) and child is not parent.func:
                return _name(parent.func) == "_"
            if not isinstance(parent, ast.Subscript | ast.IfExp | ast.Attribute):
                return False
        return False


@cache
def reader_scans() -> list[Scan]:
    return [Scan((ROOT / path).read_text(encoding="utf-8"), path) for path in READER_MODULES]


def test_reader_facing_strings_are_wrapped() -> None:
    problems = [line for scan in reader_scans() for line in scan.unwrapped()]
    assert not problems, "\n".join(problems)


def test_translated_strings_can_be_extracted() -> None:
    problems = [line for scan in reader_scans() for line in scan.unextractable()]
    assert not problems, "\n".join(problems)


def test_marked_constants_are_translated_where_shown() -> None:
    constants = set().union(*(scan.constants() for scan in reader_scans()))
    assert {"EXPIRED", "ADMINS_ONLY", "CHANNEL_PROBLEMS"} <= constants
    problems = [line for scan in reader_scans() for line in scan.shown_untranslated(constants)]
    assert not problems, "\n".join(problems)


def test_the_scan_catches_a_new_english_sentence() -> None:
    """Guards the guard with code a hurried change might add."""
    source = '''
OOPS = "Your settings were saved."
GOOD = N_("Saved.")

def render(page, items, x):
    """A docstring is not reader text."""
    log.info("a log line about %s", page)
    lines = [f"Showing page {page}", _("Wrapped text.")]
    lines.append("everything")
    bad = _(f"Hello {x}")
    keyboard = InlineKeyboardButton("Read", callback_data=callback("a", 1))
    plain = InlineKeyboardButton("◀ " + _("Back"), callback_data="a:1")
    if x == "some words":
        raise ValueError("not for readers")
    ok = Rendered(_(GOOD))
    return Rendered(GOOD + "<code>/latest politics</code>")
'''
    scan = Scan(source, "sample.py")
    reported = "\n".join(scan.unwrapped())
    for sentence in ("Your settings were saved.", "Showing page {}", "'everything'", "'Read'"):
        assert sentence in reported
    for fine in ("docstring", "a log line", "Wrapped", "Back", "some words", "not for", "latest"):
        assert fine not in reported
    assert len(scan.unwrapped()) == 4
    assert len(scan.unextractable()) == 1 and ":10:" in scan.unextractable()[0]
    shown = scan.shown_untranslated(scan.constants())
    assert len(shown) == 1 and ":16:" in shown[0]


# ------------------------------------------------------------------------------ end to end

SPANISH = "es"


async def say(herald: Herald, text: str, language: str | None, chat_id: int = READER) -> str:
    """A user with Telegram language ``language`` sends ``text``; the reply as the user sees it."""
    return (await herald.send(text, chat_id=chat_id, language_code=language)).visible_text


async def tap_answer(herald: Herald, message: SentMessage, data: str) -> str | None:
    """The callback answer's text for a tap (a stale button: no edit follows)."""
    mark = herald.api.mark()
    update = herald.api.press_button(message.chat_id, message.message_id, data, forged=True)
    query_id = update["callback_query"]["id"]
    answer = await herald.api.wait_for(
        "answerCallbackQuery", lambda c: c.params["callback_query_id"] == query_id, after=mark
    )
    return answer.params.get("text")


def absent(text: str, *english: str) -> None:
    for phrase in english:
        assert phrase not in text, f"English {phrase!r} in: {text}"


async def test_a_spanish_speaking_user_reads_spanish_from_start_on(
    herald: Herald, db: Database
) -> None:
    await seed_samples(db)
    start = await say(herald, "/start", SPANISH)
    assert (
        "trae la redacción a Telegram" in start and "/latest – los artículos más recientes" in start
    )
    absent(start, "brings the newsroom", "the newest articles", "Search tips")
    assert "los artículos más recientes" in await say(herald, "/help", SPANISH)

    latest = await herald.send("/latest", language_code=SPANISH)
    assert latest.visible_text.startswith("Últimas noticias")
    assert (
        "Toca un titular para leerlo." in latest.visible_text and " nov 2026" in latest.visible_text
    )
    absent(latest.visible_text, "Latest news", "Tap a headline", " Nov ")
    assert [t for t, _ in buttons(latest)][-1] == "Anteriores ▶"
    _, page2 = await herald.press(latest, button_data(latest, "Anteriores"))
    assert "Últimas noticias · página 2" in page2.visible_text
    assert "◀ Más recientes" in [t for t, _ in buttons(page2)]
    _, opened = await herald.press(page2, button_data(page2, "6."))
    assert "◀ Volver a la lista" in [t for t, _ in buttons(opened)]
    assert "Por " in opened.visible_text and "Leer la noticia completa" in opened.visible_text
    absent(opened.visible_text, "Read the full story")

    found = await say(herald, "/search flood barrier", SPANISH)
    assert found.startswith("🔎 Resultados para «flood barrier»")
    nothing = await say(herald, "/search zzqqxx", SPANISH)
    assert nothing.startswith("No hay nada sobre «zzqqxx».") and "revisa la ortografía" in nothing
    usage = await say(herald, "/search", SPANISH)
    assert usage.startswith("Dime qué buscas")
    absent(found + nothing + usage, "Results for", "Nothing found", "Tell me what")
    unknown_topic = await say(herald, "/latest sprot", SPANISH)
    assert "No conozco el tema «sprot». ¿Querías decir /latest sport" in unknown_topic

    subscribed = await say(herald, "/subscribe", SPANISH)
    assert "Te has suscrito a todo." in subscribed
    typo = await say(herald, "/subscribe sprot climat", SPANISH)
    assert "¿Querías decir /subscribe sport" in typo and "/subscribe climate" in typo
    assert "Usa /subscribe para recibirlo todo" in typo
    quotes = await say(herald, "/subscribe zzzz", SPANISH)
    assert 'ponlo entre comillas: /subscribe "zzzz".' in quotes
    absent(subscribed + typo + quotes, "Subscribed", "don't know", "Did you mean", "quotes")

    listing = await herald.send("/subscriptions", language_code=SPANISH)
    assert listing.visible_text.startswith("Este chat recibe:\n• todo")
    assert "✖ todo" in [t for t, _ in buttons(listing)]
    topics = await say(herald, "/topics", SPANISH)
    assert topics.startswith("Temas (artículos)") and "Sigue uno con /subscribe TEMA" in topics
    absent(listing.visible_text + topics, "receives", "everything", "Topics", "Follow one")

    assert "no conozco ese comando" in await say(herald, "/frobnicate", SPANISH)
    assert await tap_answer(herald, latest, "a:999999:l.0") == "Este botón ha caducado."
    gone = await say(herald, "/unsubscribe", SPANISH)
    assert "Has cancelado la suscripción a todo." in gone


@pytest.mark.parametrize("language", ["en", "fr", None])
async def test_english_and_unsupported_languages_read_english(
    herald: Herald, db: Database, language: str | None
) -> None:
    await store(db, article("Budget passes", topics=("politics",), published_at=1_754_000_000))
    latest = await say(herald, "/latest", language)
    assert latest.startswith("Latest news") and "Tap a headline to read it." in latest
    assert "31 Jul 2025" in latest
    assert "Subscribed to everything." in await say(herald, "/subscribe", language)
    assert "don't know that command" in await say(herald, "/nope", language)


async def test_the_command_menu_is_published_in_english_and_spanish(herald: Herald) -> None:
    await herald.send("/start")
    english = {c["command"]: c["description"] for c in herald.api.commands_for()}
    spanish = {c["command"]: c["description"] for c in herald.api.commands_for(language_code="es")}
    assert english["search"] == "Search all articles"
    assert spanish["search"] == "Buscar en todos los artículos"
    assert set(english) == set(spanish)


async def test_readers_writing_at_once_keep_their_own_language(
    herald: Herald, db: Database
) -> None:
    """Concurrent updates (Application.concurrent_updates) never lend each other a language."""
    await store(db, *[article(f"Story {i}") for i in range(3)])
    readers = {READER + i: ("es" if i % 2 else "en") for i in range(16)}
    mark = herald.api.mark()
    for chat_id, language in readers.items():  # all queued before Herald's next getUpdates
        herald.api.send_text("/latest", chat_id=chat_id, language_code=language)

    def replied() -> dict[int, str]:
        sent = [c for c in herald.api.calls[mark:] if c.method == "sendMessage" and c.ok]
        return {int(c.params["chat_id"]): c.params["text"] for c in sent}

    async def all_replied() -> bool:
        return set(replied()) == set(readers)

    await eventually(all_replied)
    for chat_id, text in replied().items():
        expected = "Últimas noticias" if readers[chat_id] == "es" else "Latest news"
        assert expected in text, (readers[chat_id], text)


async def test_a_language_chosen_in_settings_wins_over_telegrams(
    herald: Herald, db: Database
) -> None:
    await chats.remember(db, READER, "private", "")
    await preferences.set_language(db, READER, "en")
    assert (await say(herald, "/latest", SPANISH)).startswith("Latest news")
    await preferences.set_language(db, READER, None)  # follow Telegram again
    assert (await say(herald, "/latest", SPANISH)).startswith("Últimas noticias")


async def test_pushes_follow_the_language_of_a_first_time_subscriber(
    herald: Herald, db: Database
) -> None:
    """/subscribe as the very first message: the pushed headline is Spanish too."""
    await say(herald, "/subscribe", SPANISH, chat_id=READER + 7)

    async def remembered() -> bool:  # after the reply: Herald then notes the chat's language
        return (await preferences.get(db, READER + 7)).user_language == SPANISH

    await eventually(remembered)
    await herald.publish(article("Harbour master resigns", topics=("business",)))

    async def pushed() -> bool:
        return any(m.reply_markup for m in herald.api.delivered(READER + 7))

    await eventually(pushed)
    (push,) = [m for m in herald.api.delivered(READER + 7) if m.reply_markup]
    assert [t for t, _ in buttons(push)][0] == "📖 Leer"
