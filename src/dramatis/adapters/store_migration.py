"""Copy a SQLite event store file into PostgreSQL, then prove the copy is faithful.

Every table set of the file (the default tables and each enterprise prefix's) goes to its own
PostgreSQL schema (``schema`` or ``{schema}_{prefix}``, as the PostgreSQL store names them),
with every tenant in it: events in global order with their stream versions, metadata and record
times, the snapshots and the idempotency records. The source is read inside one SQLite read
transaction (a consistent moment, even if other processes keep writing); the target is written
in one PostgreSQL transaction holding every target schema's append lock, so a failed copy leaves
nothing behind. Positions keep their order and spacing: they are the source's, shifted past
whatever another tenant already has in the schema (unchanged for an empty schema).

Verification reads the copy back through ``PostgresEventStore.read_all`` (the path the app
reads) and compares, per stream, the event count and a sha256 over each event's canonical JSON
in version order with the same digest computed from the source rows.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dramatis.adapters.postgres_store import (
    DEFAULT_SCHEMA,
    PostgresEventStore,
    advisory_key,
    apply_migrations,
    check_dsn,
    describe_dsn,
    is_postgres_dsn,
    redact,
    schema_name,
)
from dramatis.adapters.sqlite_backup import RecoveryInputError, _open_existing, _table_sets
from dramatis.adapters.sqlite_store import _tables
from dramatis.ports import RecordedEvent, StoreError

__all__ = [
    "MigratedSet",
    "MigrationInputError",
    "MigrationReport",
    "event_digest_line",
    "migrate_sqlite_to_postgres",
]

_EVENT_COLUMNS = (
    "position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload, metadata, recorded_at"
)
_BATCH = 2000
_PAGE = 5000

Progress = Callable[[int, int], None]  # (events copied, events in total)


class MigrationInputError(Exception):
    """A migration request the user must fix: missing source, bad DSN, non-empty target."""


@dataclass(frozen=True, slots=True)
class MigratedSet:
    """One table set copied into one schema."""

    prefix: str | None
    schema: str
    tenants: tuple[str, ...]
    streams: int
    events: int
    snapshots: int
    idempotency_records: int


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What was copied where, and whether the copy verified."""

    source: Path
    target: str  # host:port/db, never the password
    sets: tuple[MigratedSet, ...]
    verified: bool
    mismatches: tuple[str, ...] = field(default=())

    @property
    def events(self) -> int:
        return sum(item.events for item in self.sets)

    @property
    def streams(self) -> int:
        return sum(item.streams for item in self.sets)

    @property
    def tenants(self) -> int:
        return sum(len(item.tenants) for item in self.sets)


def event_digest_line(event: RecordedEvent | dict[str, Any]) -> bytes:
    """The canonical JSON of one event as hashed for verification: every field but the
    position (which may shift) and the tenant (hashed per tenant anyway)."""
    if isinstance(event, RecordedEvent):
        event = {
            "stream_id": event.stream_id,
            "stream_type": event.stream_type,
            "version": event.version,
            "event_type": event.event_type,
            "schema_version": event.schema_version,
            "payload": event.payload,
            "metadata": event.metadata,
            "recorded_at": event.recorded_at,
        }
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_Key = tuple[str, str, str]  # (schema, tenant, stream)


class _Digests:
    """Per (schema, tenant, stream): event count and running sha256, fed in version order."""

    def __init__(self) -> None:
        self.streams: dict[_Key, tuple[int, Any]] = {}

    def add(self, schema: str, tenant: str, event: RecordedEvent | dict[str, Any]) -> None:
        stream = event.stream_id if isinstance(event, RecordedEvent) else event["stream_id"]
        key = (schema, tenant, stream)
        count, digest = self.streams.get(key, (0, None))
        if digest is None:
            digest = hashlib.sha256()
        digest.update(event_digest_line(event))
        digest.update(b"\n")
        self.streams[key] = (count + 1, digest)

    def summary(self) -> dict[_Key, tuple[int, str]]:
        return {key: (count, digest.hexdigest()) for key, (count, digest) in self.streams.items()}


@dataclass
class _SourceSet:
    prefix: str | None
    schema: str
    tenants: tuple[str, ...]
    events: int


def _check_dsn(dsn: str) -> None:
    if not is_postgres_dsn(dsn):
        raise MigrationInputError(
            f"--to must be a postgresql:// DSN (e.g. postgresql://user@host:5432/db), "
            f"not {redact(dsn, dsn)!r}"
        )
    try:
        check_dsn(dsn)
    except ValueError as exc:
        raise MigrationInputError(f"--to is {exc}") from None


async def migrate_sqlite_to_postgres(
    source: Path,
    dsn: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every table set and tenant of the SQLite file ``source`` into PostgreSQL at
    ``dsn`` and verify the copy (see the module docstring).

    MigrationInputError for a missing or non-event-store source, a bad DSN, or a target that
    already holds events or idempotency records of a tenant being copied. StoreError when
    PostgreSQL cannot be reached or the copy fails (then nothing was written).
    """
    _check_dsn(dsn)
    source = Path(source).expanduser()
    try:
        src = _open_existing(source, "source database")
    except RecoveryInputError as exc:
        raise MigrationInputError(str(exc)) from None
    try:
        src.execute("BEGIN")  # one read transaction: a consistent moment of the source
        try:
            prefixes = _table_sets(src)
        except sqlite3.DatabaseError as exc:
            raise MigrationInputError(f"source {source} cannot be read ({exc})") from None
        if not prefixes:
            raise MigrationInputError(f"{source} holds no dramatis event store")
        sets = [_inventory(src, prefix, schema) for prefix in prefixes]
        source_digests = _Digests()
        copied = await _copy(src, dsn, sets, source_digests, progress)
    finally:
        src.close()
    mismatches = await _verify(dsn, schema, sets, source_digests.summary())
    return MigrationReport(
        source=source,
        target=describe_dsn(dsn),
        sets=tuple(copied),
        verified=not mismatches,
        mismatches=tuple(mismatches),
    )


def _inventory(src: sqlite3.Connection, prefix: str | None, base: str) -> _SourceSet:
    tables = _tables(prefix)
    tenants = {row[0] for row in src.execute(f"SELECT DISTINCT tenant_id FROM {tables.events}")}
    tenants |= {
        row[0] for row in src.execute(f"SELECT DISTINCT tenant_id FROM {tables.idempotency}")
    }
    (count,) = src.execute(f"SELECT count(*) FROM {tables.events}").fetchone()
    return _SourceSet(prefix, schema_name(base, prefix), tuple(sorted(tenants)), int(count))


async def _copy(
    src: sqlite3.Connection,
    dsn: str,
    sets: list[_SourceSet],
    digests: _Digests,
    progress: Progress | None,
) -> list[MigratedSet]:
    try:
        conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = " ".join(redact(str(exc), dsn).split())
        raise StoreError(f"cannot reach PostgreSQL at {describe_dsn(dsn)}: {reason}") from None
    total = sum(item.events for item in sets)
    copied: list[MigratedSet] = []
    try:
        for item in sets:
            await apply_migrations(conn, item.schema)
        async with conn.transaction():
            for item in sets:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(%s)", (advisory_key("append", item.schema),)
                )
            for item in sets:
                await _refuse_if_taken(conn, item)
            done = 0
            for item in sets:
                result, done = await _copy_set(src, conn, item, digests, progress, done, total)
                copied.append(result)
    except psycopg.Error as exc:
        reason = " ".join(redact(str(exc), dsn).split())
        raise StoreError(
            f"copying into PostgreSQL at {describe_dsn(dsn)} failed: {reason}"
        ) from None
    finally:
        await conn.close()
    return copied


async def _refuse_if_taken(conn: psycopg.AsyncConnection[Any], item: _SourceSet) -> None:
    ident = sql.Identifier(item.schema)
    for table in ("events", "idempotency"):
        cursor = await conn.execute(
            sql.SQL("SELECT DISTINCT tenant_id FROM {}.{} WHERE tenant_id = ANY(%s)").format(
                ident, sql.Identifier(table)
            ),
            (list(item.tenants),),
        )
        taken = sorted(row[0] for row in await cursor.fetchall())
        if taken:
            raise MigrationInputError(
                f"the target schema {item.schema} already holds data of tenant(s) "
                f"{', '.join(taken)}; migrate into an empty database or another schema "
                "(DRAMATIS_POSTGRES_SCHEMA)"
            )


async def _copy_set(
    src: sqlite3.Connection,
    conn: psycopg.AsyncConnection[Any],
    item: _SourceSet,
    digests: _Digests,
    progress: Progress | None,
    done: int,
    total: int,
) -> tuple[MigratedSet, int]:
    tables = _tables(item.prefix)
    ident = sql.Identifier(item.schema)
    cursor = await conn.execute(
        sql.SQL("SELECT COALESCE(MAX(position), 0) FROM {}.events").format(ident)
    )
    row = await cursor.fetchone()
    offset = int(row[0]) if row else 0
    copy_events = sql.SQL("COPY {}.events ({}) FROM STDIN").format(ident, sql.SQL(_EVENT_COLUMNS))
    rows = src.execute(f"SELECT {_EVENT_COLUMNS} FROM {tables.events} ORDER BY position")
    events = 0
    async with conn.cursor() as cur, cur.copy(copy_events) as copy:
        while batch := rows.fetchmany(_BATCH):
            for position, tenant, stream, stype, version, etype, sv, payload, meta, at in batch:
                await copy.write_row(
                    (
                        position + offset,
                        tenant,
                        stream,
                        stype,
                        version,
                        etype,
                        sv,
                        payload,
                        meta,
                        at,
                    )
                )
                digests.add(
                    item.schema,
                    tenant,
                    {
                        "stream_id": stream,
                        "stream_type": stype,
                        "version": version,
                        "event_type": etype,
                        "schema_version": sv,
                        "payload": json.loads(payload),
                        "metadata": json.loads(meta),
                        "recorded_at": at,
                    },
                )
            events += len(batch)
            done += len(batch)
            if progress is not None:
                progress(done, total)
    snapshots = await _copy_rows(
        src,
        conn,
        f"SELECT tenant_id, stream_id, version, state, taken_at FROM {tables.snapshots}",
        sql.SQL("COPY {}.snapshots (tenant_id, stream_id, version, state, taken_at) FROM STDIN"),
        ident,
    )
    idempotency = await _copy_rows(
        src,
        conn,
        f"SELECT tenant_id, key, command_hash, result, recorded_at FROM {tables.idempotency}",
        sql.SQL(
            "COPY {}.idempotency (tenant_id, key, command_hash, result, recorded_at) FROM STDIN"
        ),
        ident,
    )
    streams = sum(1 for row in src.execute(f"SELECT 1 FROM {tables.events} WHERE version = 1"))
    return (
        MigratedSet(
            item.prefix, item.schema, item.tenants, streams, events, snapshots, idempotency
        ),
        done,
    )


async def _copy_rows(
    src: sqlite3.Connection,
    conn: psycopg.AsyncConnection[Any],
    select: str,
    copy_sql: sql.SQL,
    ident: sql.Identifier,
) -> int:
    rows: Iterable[tuple[Any, ...]] = src.execute(select)
    count = 0
    async with conn.cursor() as cur, cur.copy(copy_sql.format(ident)) as copy:
        for row in rows:
            await copy.write_row(row)
            count += 1
    return count


async def _verify(
    dsn: str,
    base: str,
    sets: list[_SourceSet],
    expected: dict[_Key, tuple[int, str]],
) -> list[str]:
    """Differences between the source digests and the target read back per tenant."""
    mismatches: list[str] = []
    for item in sets:
        for tenant in item.tenants:
            target = _Digests()
            async with PostgresEventStore(
                dsn, tenant, schema=base, table_prefix=item.prefix, max_connections=1
            ) as store:
                after = 0
                while page := await store.read_all(after_position=after, limit=_PAGE):
                    for record in page:
                        target.add(item.schema, tenant, record)
                    after = page[-1].position
            got = target.summary()
            want = {
                key: value for key, value in expected.items() if key[:2] == (item.schema, tenant)
            }
            for key in sorted(set(want) | set(got)):
                if want.get(key) != got.get(key):
                    source_count, target_count = want.get(key, (0, "")), got.get(key, (0, ""))
                    mismatches.append(
                        f"schema {key[0]}, tenant {key[1]}, stream {key[2]}: source has "
                        f"{source_count[0]} events, target {target_count[0]} (or other content)"
                    )
    return mismatches
