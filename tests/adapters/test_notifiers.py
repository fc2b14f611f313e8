"""Notifiers wake a follower of ``read_all`` when another store appends: PostgreSQL
LISTEN/NOTIFY, Redis pub/sub (degrading to polling when Redis is down) and plain polling.

Each test asserts on what ``wait_for_append`` returns (True: news; False: the timeout ran out)
with timeouts far longer than a wake-up takes, never on timings.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from event_store_contract import TENANT_A, TENANT_B, event, one

from dramatis.adapters.announcing_store import AnnouncingEventStore
from dramatis.adapters.poll_notify import PollingNotifier
from dramatis.adapters.postgres_notify import PostgresNotifier
from dramatis.adapters.postgres_store import PostgresEventStore
from dramatis.adapters.redis_notify import RedisNotifier
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.ports import Notifier
from postgres_support import drop_schemas, new_schema_name, require_postgres
from redis_support import any_redis, free_port

LONG = 30.0  # a wake-up that works takes milliseconds; this only bounds a broken one


async def until(condition: object, limit: float = LONG) -> None:
    """Yield to the loop until ``condition()`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "condition never held"
        await asyncio.sleep(0.005)


@pytest.fixture
def pg() -> Iterator[tuple[str, str]]:
    dsn = require_postgres()
    base = new_schema_name()
    yield dsn, base
    drop_schemas(dsn, base)


# ---------------------------------------------------------------- PostgreSQL


async def test_postgres_follower_wakes_on_another_connections_append(
    pg: tuple[str, str],
) -> None:
    dsn, base = pg
    async with PostgresEventStore(dsn, TENANT_A, schema=base) as writer:
        await writer.append([one("s-1", 0, event(1))])
        notifier = PostgresNotifier(dsn, TENANT_A, schema=base)
        try:
            assert isinstance(notifier, Notifier)
            # Events committed before it started count: the position is read on connect.
            assert await notifier.wait_for_append(0, LONG) is True
            last = notifier.signal.latest
            assert last == await writer.last_position()
            waiting = asyncio.create_task(notifier.wait_for_append(last, LONG))
            await until(lambda: notifier.connected)
            [record] = await writer.append([one("s-1", 1, event(2))])
            assert await waiting is True
            assert notifier.signal.latest == record.position
        finally:
            await notifier.close()


async def test_postgres_notifier_ignores_other_tenants(pg: tuple[str, str]) -> None:
    dsn, base = pg
    async with PostgresEventStore(dsn, TENANT_B, schema=base) as other:
        notifier = PostgresNotifier(dsn, TENANT_A, schema=base)
        try:
            assert await notifier.wait_for_append(0, 0.01) is False
            await until(lambda: notifier.connected)
            waiting = asyncio.create_task(notifier.wait_for_append(0, 0.5))
            await other.append([one("s-1", 0, event(1))])
            assert await waiting is False
        finally:
            await notifier.close()


async def test_postgres_notifier_reconnects_and_catches_up(pg: tuple[str, str]) -> None:
    dsn, base = pg
    async with PostgresEventStore(dsn, TENANT_A, schema=base) as writer:
        notifier = PostgresNotifier(dsn, TENANT_A, schema=base, backoff_initial=0.05)
        try:
            assert await notifier.wait_for_append(0, 0.01) is False
            await until(lambda: notifier.connected)
            conn = notifier._conn
            assert conn is not None
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
            # Appended while the listener is down: the NOTIFY goes nowhere, the catch-up read
            # after the reconnect finds it.
            [record] = await writer.append([one("s-1", 0, event(1))])
            assert await notifier.wait_for_append(0, LONG) is True
            await until(lambda: notifier.connections >= 2 and notifier.connected)
            assert notifier.signal.latest == record.position
            waiting = asyncio.create_task(notifier.wait_for_append(record.position, LONG))
            [later] = await writer.append([one("s-1", 1, event(2))])
            assert await waiting is True
            assert notifier.signal.latest == later.position
        finally:
            await notifier.close()


# ---------------------------------------------------------------- Redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    with any_redis() as url:
        yield url


async def test_redis_follower_wakes_on_another_stores_announced_append(
    tmp_path: Path, redis_url: str
) -> None:
    path = tmp_path / "events.db"
    async with SQLiteEventStore(path, TENANT_A) as raw, SQLiteEventStore(path, TENANT_A) as mine:
        publisher = RedisNotifier(redis_url, TENANT_A, raw.last_position)
        # A follower that would poll only once a minute: waking it is pub/sub's doing.
        follower = RedisNotifier(redis_url, TENANT_A, mine.last_position, poll_interval=60)
        writer = AnnouncingEventStore(raw, publisher)
        try:
            assert await follower.wait_for_append(0, 0.01) is False
            await until(lambda: follower.connected)
            waiting = asyncio.create_task(follower.wait_for_append(0, LONG))
            [record] = await writer.append([one("s-1", 0, event(1))])
            assert await waiting is True
            assert follower.signal.latest == record.position
            assert publisher.last_error is None
        finally:
            await publisher.close()
            await follower.close()


async def test_redis_down_degrades_to_polling_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    path = tmp_path / "events.db"
    async with SQLiteEventStore(path, TENANT_A) as raw, SQLiteEventStore(path, TENANT_A) as mine:
        publisher = RedisNotifier(dead, TENANT_A, raw.last_position)
        follower = RedisNotifier(dead, TENANT_A, mine.last_position, poll_interval=0.02)
        writer = AnnouncingEventStore(raw, publisher)
        try:
            assert await follower.wait_for_append(0, 0.05) is False
            waiting = asyncio.create_task(follower.wait_for_append(0, LONG))
            [record] = await writer.append([one("s-1", 0, event(1))])  # announce fails quietly
            assert await waiting is True
            assert follower.connected is False
            assert follower.signal.latest == record.position
            assert publisher.last_error is not None
            assert follower.last_error is not None
        finally:
            await publisher.close()
            await follower.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# ---------------------------------------------------------------- polling


async def test_polling_follower_sees_another_stores_append(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    async with SQLiteEventStore(path, TENANT_A) as writer, SQLiteEventStore(path, TENANT_A) as me:
        notifier = PollingNotifier(me.last_position, interval=0.02)
        assert await notifier.wait_for_append(0, 0.05) is False
        waiting = asyncio.create_task(notifier.wait_for_append(0, LONG))
        [record] = await writer.append([one("s-1", 0, event(1))])
        assert await waiting is True
        assert notifier.signal.latest == record.position
        await notifier.close()


async def test_an_announced_append_wakes_local_followers_without_polling(tmp_path: Path) -> None:
    async with SQLiteEventStore(tmp_path / "events.db", TENANT_A) as raw:
        notifier = PollingNotifier(raw.last_position, interval=60)
        store = AnnouncingEventStore(raw, notifier)
        waiting = asyncio.create_task(notifier.wait_for_append(0, LONG))
        await asyncio.sleep(0)  # the first poll has run: nothing yet
        await store.append([one("s-1", 0, event(1))])
        assert await waiting is True


# ---------------------------------------------------------------- wiring


async def test_open_dramatis_picks_the_notifier(
    tmp_path: Path, pg: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_dramatis(Settings(data_dir=tmp_path, db=str(tmp_path / "e.db"))) as app:
        assert isinstance(app.notifier, PollingNotifier)
        assert isinstance(app.store, AnnouncingEventStore)
    settings = Settings(data_dir=tmp_path, db=str(tmp_path / "e.db"), redis_url="redis://x:1/0")
    async with open_dramatis(settings) as app:
        assert isinstance(app.notifier, RedisNotifier)
    dsn, base = pg
    async with open_dramatis(Settings(data_dir=tmp_path, db=dsn, postgres_schema=base)) as app:
        assert isinstance(app.notifier, PostgresNotifier)
        assert isinstance(app.store, PostgresEventStore)
        assert app.notifier.schema == app.store.schema == base
