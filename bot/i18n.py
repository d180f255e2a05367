"""Translations: every text a reader sees goes through ``_`` (GNU gettext, Babel catalogs).

The catalogs are ``bot/locale/<lang>/LC_MESSAGES/herald.po``; English is the source language
and needs none. They are compiled in memory when first used, so there is no build step and
no binary in the repository. The language is per update (or per delivery): ``use(lang)`` sets
it for the current task, so concurrent updates in different languages never mix.

Strings defined at import time (constants) are marked with ``N_`` and translated where they
are shown, with ``_(CONSTANT)``.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT = "en"
DOMAIN = "herald"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current: ContextVar[str] = ContextVar("herald_language", default=DEFAULT)


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` (English and unknown languages: the source)."""
    path = catalog_path(language)
    if language == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extractors look for
    """Mark a constant for extraction; translate it where it is shown with ``_``."""
    return message


def pick(language_code: str | None) -> str:
    """Herald's language for a Telegram ``language_code`` ("es-419" → "es"; unknown → en)."""
    base = (language_code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT


def current() -> str:
    return _current.get()


def set_language(language: str) -> None:
    """Set the language for the rest of this task (an update's handlers run in one task)."""
    _current.set(language if language in LANGUAGES else DEFAULT)


@contextmanager
def use(language: str) -> Iterator[None]:
    """Render in ``language`` inside the block (the delivery worker, per chat)."""
    token = _current.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)
