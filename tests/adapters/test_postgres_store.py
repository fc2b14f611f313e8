"""The PostgreSQL event store runs the event store contract (with and without a table prefix,
which means a schema per enterprise tenant), plus the PostgreSQL-specific rules: schemas,
migrations, JSON text, error messages and gap-free global positions under concurrency."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

import psycopg
import pytest
from event_store_contract import TENANT_A, TENANT_B, EventStoreContract, event, one

from dramatis.adapters.postgres_store import (
    MIGRATIONS,
    PostgresEventStore,
    describe_dsn,
    schema_name,
)
from dramatis.ports import EventStore, NewEvent, StoreError, StreamAppend
from postgres_support import drop_schemas, new_schema_name, require_postgres


class TestPostgresEventStore(EventStoreContract):
    __test__ = True
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(autouse=True)
    def _database(self) -> None:
        self.schemas: list[str] = []
        self.dsn = require_postgres()
        self.new_database()

    def new_database(self) -> None:
        self.schema = new_schema_name()
        self.schemas.append(self.schema)

    async def make_store(self, tenant_id: str, **options: Any) -> EventStore:
        return PostgresEventStore(
            self.dsn, tenant_id, schema=self.schema, **{**self.options, **options}
        )

    async def cleanup(self) -> None:
        for schema in getattr(self, "schemas", []):  # none when the fixture skipped
            await asyncio.to_thread(drop_schemas, self.dsn, schema)


class TestPostgresEventStoreWithTablePrefix(TestPostgresEventStore):
    options: ClassVar[dict[str, Any]] = {"table_prefix": "acme"}


# ---------------------------------------------------------------- PostgreSQL specifics


@pytest.fixture
def pg() -> Any:
    dsn = require_postgres()
    base = new_schema_name()
    yield dsn, base
    drop_schemas(dsn, base)


def schemas(dsn: str, base: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (base, base + r"\_%"),
        ).fetchall()
    return {row[0] for row in rows}


@pytest.mark.parametrize("prefix", ["Acme", "1acme", "acme-corp", "a" * 32, "", "acme;drop"])
def test_bad_table_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        PostgresEventStore("postgresql://127.0.0.1/test", TENANT_A, table_prefix=prefix)


@pytest.mark.parametrize("schema", ["Dramatis", "1x", "a-b", "x" * 25, "", 'x"; drop'])
def test_bad_schema_names_are_refused(schema: str) -> None:
    with pytest.raises(ValueError, match="schema"):
        PostgresEventStore("postgresql://127.0.0.1/test", TENANT_A, schema=schema)


def test_tenant_id_is_required() -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        PostgresEventStore("postgresql://127.0.0.1/test", "")


def test_table_prefix_is_a_schema_of_its_own() -> None:
    assert schema_name() == "dramatis"
    assert schema_name("dramatis", "acme") == "dramatis_acme"
    store = PostgresEventStore("postgresql://127.0.0.1/test", TENANT_A, table_prefix="acme")
    assert store.schema == "dramatis_acme"


async def test_prefixed_schema_is_separate_from_the_default_one(pg: tuple[str, str]) -> None:
    dsn, base = pg
    async with (
        PostgresEventStore(dsn, TENANT_A, schema=base) as plain,
        PostgresEventStore(dsn, TENANT_A, schema=base, table_prefix="acme_2") as acme,
    ):
        await plain.append([one("s-1", 0, event(1))])
        await acme.append([one("s-1", 0, event(2)), one("s-2", 0, event(3))])
        assert [r.payload["n"] for r in await plain.read_all()] == [1]
        assert [r.payload["n"] for r in await acme.read_all()] == [2, 3]
        assert [r.position for r in await acme.read_all()] == [1, 2]
    assert schemas(dsn, base) == {base, f"{base}_acme_2"}


async def test_migrations_are_recorded_and_idempotent(pg: tuple[str, str]) -> None:
    dsn, base = pg
    async with PostgresEventStore(dsn, TENANT_A, schema=base) as store:
        await store.append([one("s-1", 0, event(1))])
    async with PostgresEventStore(dsn, TENANT_A, schema=base) as store:
        await store.open()
        assert await store.stream_version("s-1") == 1
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            f"SELECT version, applied_at FROM {base}.schema_migrations ORDER BY version"
        ).fetchall()
    assert [row[0] for row in rows] == [version for version, _ in MIGRATIONS]
    assert all(row[1] is not None for row in rows)


async def test_stores_can_open_a_new_schema_at_the_same_time(pg: tuple[str, str]) -> None:
    dsn, base = pg
    stores = [
        PostgresEventStore(dsn, f"tenant-{n}", schema=base, table_prefix="acme") for n in range(4)
    ]
    stores += [PostgresEventStore(dsn, f"tenant-{n}", schema=base) for n in range(4)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        for store in stores:
            await store.append([one("s-1", 0, event(1))])
        for store in stores:
            assert [r.version for r in await store.read_stream("s-1")] == [1]
    finally:
        for store in stores:
            await store.close()
    with psycopg.connect(dsn) as conn:
        for schema in (base, f"{base}_acme"):
            count = conn.execute(f"SELECT count(*) FROM {schema}.schema_migrations").fetchone()
            assert count is not None and count[0] == len(MIGRATIONS)


async def test_rows_hold_compact_json_text_and_utc_times(pg: tuple[str, str]) -> None:
    dsn, base = pg
    payload = {"name": "Ana", "list": [1, 2], "ü": "✓", "nul": "\x00", "big": 1e308}
    async with PostgresEventStore(dsn, TENANT_A, schema=base) as store:
        [written] = await store.append(
            [StreamAppend("c-1", "campaign", 0, [NewEvent("E", payload, 2, {"actor": "me"})])]
        )
        [read] = await store.read_stream("c-1")
    assert read == written
    assert read.payload == payload
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT position, tenant_id, stream_id, stream_type, version, event_type,"
            f" schema_version, payload, metadata, recorded_at FROM {base}.events"
        ).fetchone()
    assert row is not None
    assert row[:7] == (written.position, TENANT_A, "c-1", "campaign", 1, "E", 2)
    assert row[7] == json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    assert row[8] == '{"actor":"me"}'
    assert row[9] == written.recorded_at and row[9].endswith("Z")


async def test_an_unreachable_server_is_a_one_line_store_error_without_the_password() -> None:
    dsn = "postgresql://someone:s3cret-pw@127.0.0.1:1/test"
    store = PostgresEventStore(dsn, TENANT_A, connect_timeout=1)
    with pytest.raises(StoreError) as caught:
        await store.open()
    message = str(caught.value)
    assert message.startswith("cannot reach PostgreSQL at 127.0.0.1:1/test: ")
    assert "s3cret" not in message and "\n" not in message
    assert describe_dsn(dsn) == "127.0.0.1:1/test"


async def test_a_lost_connection_is_a_store_error_and_the_store_recovers(
    pg: tuple[str, str],
) -> None:
    dsn, base = pg
    async with PostgresEventStore(dsn, TENANT_A, schema=base, max_connections=1) as store:
        await store.append([one("s-1", 0, event(1))])
        pool = store._pool
        assert pool is not None
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (row[0],))
        with pytest.raises(StoreError) as caught:
            await store.read_all()
        assert "\n" not in str(caught.value)
        assert "PostgreSQL" in str(caught.value)
        assert [r.version for r in await store.read_stream("s-1")] == [1]


async def test_concurrent_appenders_never_let_a_follower_see_a_gap_filled_later(
    pg: tuple[str, str],
) -> None:
    """8 writers on their own streams and connections; a follower pages through read_all.

    Every page it reads must continue exactly where the last one ended (no skipped position
    that commits later) and it ends having seen every event once.
    """
    dsn, base = pg
    writers = [PostgresEventStore(dsn, TENANT_A, schema=base) for _ in range(8)]
    follower = PostgresEventStore(dsn, TENANT_A, schema=base)
    other_tenant = PostgresEventStore(dsn, TENANT_B, schema=base)
    appends_each = 25
    done = asyncio.Event()
    try:
        for store in (*writers, follower, other_tenant):
            await store.open()

        async def write(index: int, store: PostgresEventStore) -> None:
            for n in range(appends_each):
                batch = [event(n), event(n)] if n % 3 == 0 else [event(n)]
                version = await store.stream_version(f"w-{index}")
                await store.append([one(f"w-{index}", version, *batch)])
                await asyncio.sleep(0)

        async def other_writes() -> None:
            for n in range(appends_each):
                await other_tenant.append([one("noise", n, event(n))])

        seen: list[int] = []

        async def follow() -> None:
            after = 0
            while True:
                finished = done.is_set()
                page = await follower.read_all(after_position=after, limit=7)
                for record in page:
                    assert record.tenant_id == TENANT_A
                    seen.append(record.position)
                if page:
                    after = page[-1].position
                elif finished:
                    return
                await asyncio.sleep(0)

        follower_task = asyncio.create_task(follow())
        await asyncio.gather(*(write(i, s) for i, s in enumerate(writers)), other_writes())
        done.set()
        await follower_task
        everything = [r.position for r in await follower.read_all()]
        assert seen == everything, "the follower skipped or revisited a position"
        assert len(everything) == 8 * sum(2 if n % 3 == 0 else 1 for n in range(appends_each))
        # One schema, one position sequence: tenant B's events fill the holes in A's view.
        both = sorted(everything + [r.position for r in await other_tenant.read_all()])
        assert both == list(range(1, len(both) + 1))
    finally:
        for store in (*writers, follower, other_tenant):
            await store.close()


def test_the_pool_size_comes_from_the_settings() -> None:
    from dramatis.bootstrap import build_store
    from dramatis.config import Settings

    store = build_store(Settings(db="postgresql://postgres@127.0.0.1/test", postgres_pool_max=3))
    assert isinstance(store, PostgresEventStore) and store.max_connections == 3
    with pytest.raises(ValueError, match="less than or equal to 100"):
        Settings(postgres_pool_max=500)
