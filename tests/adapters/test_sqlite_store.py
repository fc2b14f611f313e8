"""The SQLite event store runs the event store contract (with and without a table prefix),
plus the SQLite-specific rules: table names, WAL, JSON text, locking."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import pytest
from event_store_contract import TENANT_A, EventStoreContract, event, one

from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.ports import (
    ConcurrencyError,
    EventStore,
    IdempotencyRecord,
    NewEvent,
    StoreError,
    StreamAppend,
    StreamNotFound,
)


class TestSQLiteEventStore(EventStoreContract):
    __test__ = True
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.directory = tmp_path
        self.databases = 0
        self.new_database()

    def new_database(self) -> None:
        self.databases += 1
        self.path = self.directory / f"events-{self.databases}.sqlite"

    async def make_store(self, tenant_id: str, **options: Any) -> EventStore:
        return SQLiteEventStore(self.path, tenant_id, **{**self.options, **options})


class TestSQLiteEventStoreWithTablePrefix(TestSQLiteEventStore):
    options: ClassVar[dict[str, Any]] = {"table_prefix": "acme"}


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize("prefix", ["Acme", "1acme", "acme-corp", "a" * 32, "", "acme;drop"])
def test_bad_table_prefixes_are_refused(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        SQLiteEventStore(tmp_path / "e.sqlite", TENANT_A, table_prefix=prefix)


def test_tenant_id_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        SQLiteEventStore(tmp_path / "e.sqlite", "")


async def test_prefixed_tables_are_separate_from_the_default_ones(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    async with (
        SQLiteEventStore(path, TENANT_A) as plain,
        SQLiteEventStore(path, TENANT_A, table_prefix="acme_2") as acme,
    ):
        assert acme.table_names == ("acme_2_events", "acme_2_snapshots", "acme_2_idempotency")
        await plain.append([one("s-1", 0, event(1))])
        await acme.append([one("s-1", 0, event(2)), one("s-2", 0, event(3))])
        assert [r.payload["n"] for r in await plain.read_all()] == [1]
        assert [r.payload["n"] for r in await acme.read_all()] == [2, 3]
        with pytest.raises(StreamNotFound):
            await plain.read_stream("s-2")
    assert {
        "events",
        "snapshots",
        "idempotency",
        "acme_2_events",
        "acme_2_snapshots",
        "acme_2_idempotency",
    } <= tables(path)


async def test_open_is_idempotent_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    async with SQLiteEventStore(path, TENANT_A) as store:
        await store.append([one("s-1", 0, event(1))])
    async with SQLiteEventStore(path, TENANT_A) as store:
        await store.open()
        assert await store.stream_version("s-1") == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_rows_hold_compact_json_text_and_utc_times(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    payload = {"name": "Ana", "list": [1, 2], "ü": "✓"}
    async with SQLiteEventStore(path, TENANT_A) as store:
        [written] = await store.append(
            [StreamAppend("c-1", "campaign", 0, [NewEvent("E", payload, 2, {"actor": "me"})])]
        )
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT position, tenant_id, stream_id, stream_type, version, event_type,"
            " schema_version, payload, metadata, recorded_at FROM events"
        ).fetchone()
    assert row[:7] == (written.position, TENANT_A, "c-1", "campaign", 1, "E", 2)
    assert row[7] == json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    assert row[8] == '{"actor":"me"}'
    assert row[9] == written.recorded_at
    assert row[9].endswith("Z")


async def test_a_locked_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    async with SQLiteEventStore(path, TENANT_A, busy_timeout_ms=20) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(StoreError, match="locked"):
                await store.append([one("s-1", 0, event(1))])
            with pytest.raises(StoreError, match="locked"):
                await store.append([one("s-1", 0, event(1))], IdempotencyRecord("k", "h", {}))
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await store.get_idempotency("k") is None
        assert [r.version for r in await store.append([one("s-1", 0, event(1))])] == [1]


async def test_a_row_inserted_behind_the_stores_back_is_a_concurrency_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.sqlite"
    async with SQLiteEventStore(path, TENANT_A) as store:
        await store.append([one("s-1", 0, event(1))])
        with sqlite3.connect(path) as conn:
            conn.execute(
                "INSERT INTO events (tenant_id, stream_id, stream_type, version, event_type,"
                " schema_version, payload, metadata, recorded_at)"
                " VALUES (?, 's-1', 'thing', 2, 'E', 1, '{}', '{}', '2026-01-01T00:00:00Z')",
                (TENANT_A,),
            )
        with pytest.raises(ConcurrencyError, match="at version 2, expected 1"):
            await store.append([one("s-1", 1, event(2))])


async def test_large_appends_are_split_into_statements_in_one_transaction(tmp_path: Path) -> None:
    events = [NewEvent("E", {"n": n}) for n in range(250)]
    async with SQLiteEventStore(tmp_path / "e.sqlite", TENANT_A) as store:
        written = await store.append([StreamAppend("big", "thing", 0, events)])
        assert [r.version for r in written] == list(range(1, 251))
        with pytest.raises(ConcurrencyError, match="'small'"):
            await store.append(
                [StreamAppend("big2", "thing", 0, events), one("small", 3, event(1))]
            )
        assert await store.stream_version("big2") == 0
        assert len(await store.read_all()) == 250


async def test_stores_can_open_a_new_file_at_the_same_time(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite"
    stores = [SQLiteEventStore(path, f"tenant-{n}", table_prefix="acme") for n in range(4)]
    stores.append(SQLiteEventStore(path, "tenant-0"))
    try:
        await asyncio.gather(*(store.open() for store in stores))
        for store in stores:
            await store.append([one("s-1", 0, event(1))])
        for store in stores:
            assert [r.version for r in await store.read_stream("s-1")] == [1]
    finally:
        for store in stores:
            await store.close()
