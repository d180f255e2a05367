"""Mini App ``initData`` validation, exactly as Telegram documents it.

https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app

The data-check string is every received field except ``hash`` (``signature`` included), as
``key=value`` with the URL-decoded value, sorted by key, joined by newlines. The secret key is
HMAC-SHA256 of the bot token keyed with the constant ``"WebAppData"``; the expected hash is
HMAC-SHA256 of the data-check string keyed with that secret, in hex. Anything unusual (a field
given twice, no hash, an ``auth_date`` too old or in the future, a malformed user) is refused:
the caller answers 401 and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

# A client clock a little ahead of ours is not "from the future".
CLOCK_SKEW = 60


class InvalidInitData(ValueError):
    """initData that does not prove the user: the reason is for the log, never for the user."""


@dataclass(frozen=True, slots=True)
class WebAppUser:
    """Who opened the Mini App, as Telegram signed it."""

    id: int
    first_name: str
    language_code: str | None
    start_param: str | None
    auth_date: int


def secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields))


def _fields(init_data: str) -> dict[str, str]:
    """Decoded fields; a key given twice is refused rather than one copy silently chosen."""
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InvalidInitData("malformed initData") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidInitData(f"duplicate key {key!r}")
        fields[key] = value
    return fields


def validate(
    init_data: str, bot_token: str, *, max_age: int, now: float | None = None
) -> WebAppUser:
    """The signed user of ``init_data``, or ``InvalidInitData``."""
    fields = _fields(init_data)
    received = fields.pop("hash", None)
    if not received:
        raise InvalidInitData("no hash")
    expected = hmac.new(
        secret_key(bot_token), _check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected.encode(), received.encode()):
        raise InvalidInitData("hash mismatch")
    return _user(fields, max_age, time.time() if now is None else now)


def _user(fields: dict[str, str], max_age: int, now: float) -> WebAppUser:
    try:
        auth_date = int(fields["auth_date"])
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise InvalidInitData("no auth_date or no user") from None
    if auth_date > now + CLOCK_SKEW:
        raise InvalidInitData("auth_date in the future")
    if now - auth_date > max_age:
        raise InvalidInitData("auth_date too old")
    language = user.get("language_code")
    return WebAppUser(
        id=user_id,
        first_name=str(user.get("first_name", "")),
        language_code=language if isinstance(language, str) else None,
        start_param=fields.get("start_param"),
        auth_date=auth_date,
    )


def sign(fields: dict[str, str], bot_token: str) -> str:
    """initData for ``fields`` signed as Telegram signs it: for the sandbox and tests."""
    digest = hmac.new(secret_key(bot_token), _check_string(fields).encode(), hashlib.sha256)
    return urlencode({**fields, "hash": digest.hexdigest()})


def sign_user(
    bot_token: str,
    user_id: int,
    *,
    language_code: str = "en",
    first_name: str = "Reader",
    auth_date: int | None = None,
    **extra: str,
) -> str:
    """Signed initData for one user (the sandbox's reader, tests' readers)."""
    user = {"id": user_id, "first_name": first_name, "language_code": language_code}
    fields = {
        "query_id": f"AAH{user_id}",
        "user": json.dumps(user, separators=(",", ":")),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **extra,
    }
    return sign(fields, bot_token)
