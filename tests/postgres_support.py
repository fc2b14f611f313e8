"""Real PostgreSQL for tests: the server at 127.0.0.1:5432 (``DRAMATIS_TEST_POSTGRES_DSN``
overrides it), with a fresh schema per test run that is dropped afterwards.

Tests that need PostgreSQL skip with a clear reason when none is reachable, unless
DRAMATIS_REQUIRE_SERVICES=1 is set (CI), in which case they fail instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from functools import cache

import psycopg
import pytest
from psycopg import sql

from redis_support import unavailable

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_dsn() -> str:
    """The DSN tests use (the environment may point them at another server)."""
    return os.environ.get("DRAMATIS_TEST_POSTGRES_DSN") or DEFAULT_DSN


@cache
def _unreachable_reason(dsn: str) -> str | None:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL is not reachable at {dsn} ({first})"
    return None


def require_postgres() -> str:
    """The test DSN, or skip (fail with DRAMATIS_REQUIRE_SERVICES=1) when nothing answers."""
    dsn = postgres_dsn()
    reason = _unreachable_reason(dsn)
    if reason is not None:
        unavailable(reason)
    return dsn


def new_schema_name() -> str:
    """A random base schema name for one test (short enough for a table prefix after it)."""
    return f"t{secrets.token_hex(6)}"


def drop_schemas(dsn: str, base: str) -> None:
    """Drop ``base`` and every ``base_<prefix>`` schema."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (base, base.replace("_", r"\_") + r"\_%"),
        ).fetchall()
        for (name,) in rows:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture
def postgres() -> Iterator[tuple[str, str]]:
    """(DSN, base schema): a fresh schema name, its schemas dropped after the test."""
    dsn = require_postgres()
    base = new_schema_name()
    try:
        yield dsn, base
    finally:
        drop_schemas(dsn, base)
