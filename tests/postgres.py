"""PostgreSQL for tests: a throwaway database per run, a fresh schema per test.

``HERALD_TEST_POSTGRES`` names the server (default: the CI machine's 127.0.0.1:5432, trust
authentication). Where it is unreachable, PostgreSQL tests skip with one line saying so,
unless ``HERALD_TEST_REQUIRE_POSTGRES=1`` (``.ci/run`` sets it): then they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from storage.postgres import database_url

SERVER = os.environ.get("HERALD_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432/test"
REQUIRED = os.environ.get("HERALD_TEST_REQUIRE_POSTGRES", "") == "1"


def _admin() -> psycopg.Connection:
    return psycopg.connect(SERVER, autocommit=True, connect_timeout=3)


def unreachable() -> str | None:
    """Why the test server cannot be used, or None when it can."""
    try:
        _admin().close()
    except psycopg.OperationalError as exc:
        where = SERVER.split("@")[-1].split("?")[0]
        return f"PostgreSQL unreachable at {where} ({str(exc).strip().splitlines()[0][:100]})"
    return None


def uses_postgres(item: pytest.Item) -> bool:
    """Whether a collected test needs the PostgreSQL server."""
    callspec = getattr(item, "callspec", None)
    on_postgres = callspec is not None and callspec.params.get("backend") == "postgresql"
    return on_postgres or bool({"pg_url", "pg_database"} & set(getattr(item, "fixturenames", ())))


def server_database() -> Iterator[str]:
    """Create a database for this test run (with the extensions Herald uses); drop it after."""
    try:
        admin = _admin()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL unreachable at {SERVER}: {exc}", pytrace=False)
    name = f"herald_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url(SERVER, name)
    with psycopg.connect(url, autocommit=True) as conn:
        # Created once in public, so each test's schema migration finds them.
        conn.execute("CREATE EXTENSION IF NOT EXISTS citext SCHEMA public")
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    try:
        yield url
    finally:
        with _admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def schema_url(database_url: str, schema: str) -> str:
    """``database_url`` with ``schema`` first on the search path (then public)."""
    options = quote(f"-csearch_path={schema},public")
    return f"{database_url}{'&' if '?' in database_url else '?'}options={options}"


def create_schema(database_url: str) -> tuple[str, str]:
    """A new empty schema: (its name, a URL that uses it)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema, schema_url(database_url, schema)


def drop_schema(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
