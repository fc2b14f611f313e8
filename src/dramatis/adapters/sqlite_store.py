"""The SQLite event store: one aiosqlite connection per store object, WAL, tenant-scoped.

Three tables (all carrying the same optional prefix): ``events`` (the append-only log; its
``position`` is an AUTOINCREMENT rowid, so global, monotonic and never reused), ``snapshots``
(the latest snapshot per stream) and ``idempotency`` (one result per idempotency key).

Every aiosqlite call is a round trip to the connection's worker thread, so the write path is
built to need as few as possible:

* An append without an idempotency record is ONE statement, a multi-row ``INSERT ... VALUES
  ... RETURNING`` run in autocommit mode. A single write statement is its own transaction:
  SQLite takes the write lock when the statement starts (as ``BEGIN IMMEDIATE`` would,
  honouring ``busy_timeout``) and undoes the whole statement if any row fails. The optimistic
  concurrency check is enforced by the schema itself, for every writer: UNIQUE(tenant_id,
  stream_id, version) refuses a stream that has moved past the expected version, and a
  ``BEFORE INSERT`` trigger refuses a version whose predecessor is missing (a writer expecting
  more events than the stream has). Either way the statement fails as a whole and the failure
  is reported as ConcurrencyError.
* An append with an idempotency record (or one only asserting versions, or a very large one)
  runs in an explicit ``BEGIN IMMEDIATE`` transaction: idempotency insert, one version query for
  all streams, the batched event inserts, ``COMMIT``.

Reads take one round trip each (``read_stream`` a second one only when asked for versions past
the end of a stream, to tell an existing stream from a missing one).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from dramatis.adapters.rows import decode_json, encode_json, record_from_row
from dramatis.ports import (
    ConcurrencyError,
    IdempotencyConflict,
    IdempotencyRecord,
    RecordedEvent,
    Snapshot,
    StoreError,
    StreamAppend,
    StreamNotFound,
    validate_appends,
)

__all__ = ["SQLiteEventStore", "utc_now_iso"]

_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")

# One encoder/decoder for the life of the process: compact, UTF-8 as is, no NaN/Infinity
# (they are not JSON, and PostgreSQL's jsonb would refuse them).

# Rows per INSERT statement: 7 parameters a row plus 2 shared stays under 999, the
# smallest SQLITE_MAX_VARIABLE_NUMBER any SQLite build has used.
_ROWS_PER_STATEMENT = 100

_EVENT_COLUMNS = (
    "position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload, metadata, recorded_at"
)


def utc_now_iso() -> str:
    """The current UTC time as fixed-width ISO 8601 (microseconds, ``Z``): sorts as text."""
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


@dataclass(frozen=True, slots=True)
class _Tables:
    """The table names for one prefix and the SQL written against them."""

    events: str
    snapshots: str
    idempotency: str

    @property
    def schema(self) -> str:
        return f"""
            CREATE TABLE IF NOT EXISTS {self.events} (
                position INTEGER PRIMARY KEY AUTOINCREMENT,
                tenant_id TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                stream_type TEXT NOT NULL,
                version INTEGER NOT NULL CHECK (version >= 1),
                event_type TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                payload TEXT NOT NULL,
                metadata TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                UNIQUE (tenant_id, stream_id, version)
            );
            CREATE INDEX IF NOT EXISTS {self.events}_by_tenant
                ON {self.events} (tenant_id, position);
            CREATE INDEX IF NOT EXISTS {self.events}_stream_heads
                ON {self.events} (tenant_id, stream_type, position) WHERE version = 1;
            CREATE TRIGGER IF NOT EXISTS {self.events}_contiguous
                BEFORE INSERT ON {self.events}
                WHEN NEW.version > 1 AND NOT EXISTS (
                    SELECT 1 FROM {self.events}
                    WHERE tenant_id = NEW.tenant_id AND stream_id = NEW.stream_id
                      AND version = NEW.version - 1
                )
            BEGIN
                SELECT RAISE(ABORT, 'stream version gap');
            END;
            CREATE TABLE IF NOT EXISTS {self.snapshots} (
                tenant_id TEXT NOT NULL,
                stream_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                state TEXT NOT NULL,
                taken_at TEXT NOT NULL,
                PRIMARY KEY (tenant_id, stream_id)
            );
            CREATE TABLE IF NOT EXISTS {self.idempotency} (
                tenant_id TEXT NOT NULL,
                key TEXT NOT NULL,
                command_hash TEXT NOT NULL,
                result TEXT NOT NULL,
                recorded_at TEXT NOT NULL,
                PRIMARY KEY (tenant_id, key)
            );
        """

    @property
    def read_stream(self) -> str:
        return (
            f"SELECT {_EVENT_COLUMNS} FROM {self.events} "
            "WHERE tenant_id = ? AND stream_id = ? AND version >= ? ORDER BY version"
        )

    @property
    def stream_exists(self) -> str:
        return f"SELECT 1 FROM {self.events} WHERE tenant_id = ? AND stream_id = ? LIMIT 1"

    @property
    def read_all(self) -> str:
        return (
            f"SELECT {_EVENT_COLUMNS} FROM {self.events} "
            "WHERE tenant_id = ? AND position > ? ORDER BY position LIMIT ?"
        )

    @property
    def list_streams(self) -> str:
        return (
            f"SELECT stream_id FROM {self.events} "
            "WHERE tenant_id = ? AND stream_type = ? AND version = 1 ORDER BY position"
        )

    @property
    def last_position(self) -> str:
        return f"SELECT MAX(position) FROM {self.events} WHERE tenant_id = ?"

    @property
    def save_snapshot(self) -> str:
        # Written only if the stream really has that version; never replaces a newer one.
        return f"""
            INSERT INTO {self.snapshots} (tenant_id, stream_id, version, state, taken_at)
            SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (
                SELECT 1 FROM {self.events}
                WHERE tenant_id = ?1 AND stream_id = ?2 AND version = ?3
            )
            ON CONFLICT (tenant_id, stream_id) DO UPDATE SET
                version = excluded.version, state = excluded.state, taken_at = excluded.taken_at
            WHERE excluded.version >= {self.snapshots}.version
        """

    @property
    def load_snapshot(self) -> str:
        return f"SELECT version, state FROM {self.snapshots} WHERE tenant_id = ? AND stream_id = ?"

    @property
    def insert_idempotency(self) -> str:
        return (
            f"INSERT INTO {self.idempotency} (tenant_id, key, command_hash, result, recorded_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant_id, key) DO NOTHING"
        )

    @property
    def get_idempotency(self) -> str:
        return (
            f"SELECT command_hash, result FROM {self.idempotency} WHERE tenant_id = ? AND key = ?"
        )


@cache
def _tables(prefix: str | None) -> _Tables:
    if prefix is None:
        return _Tables("events", "snapshots", "idempotency")
    return _Tables(f"{prefix}_events", f"{prefix}_snapshots", f"{prefix}_idempotency")


@cache
def _insert_events_sql(events_table: str, rows: int) -> str:
    """One INSERT for ``rows`` events; parameters: ?1 tenant, ?2 recorded_at, then per row
    stream_id, stream_type, version, event_type, schema_version, payload and metadata."""
    values = ", ".join(
        "(?1, " + ", ".join(f"?{3 + row * 7 + col}" for col in range(7)) + ", ?2)"
        for row in range(rows)
    )
    return (
        f"INSERT INTO {events_table} (tenant_id, stream_id, stream_type, version, event_type, "
        f"schema_version, payload, metadata, recorded_at) VALUES {values} "
        "RETURNING position, stream_id, version"
    )


@cache
def _versions_sql(events_table: str, streams: int) -> str:
    """One row with the current version of each of ``streams`` streams (?1 is the tenant)."""
    columns = ", ".join(
        f"(SELECT COALESCE(MAX(version), 0) FROM {events_table} "
        f"WHERE tenant_id = ?1 AND stream_id = ?{index + 2})"
        for index in range(streams)
    )
    return f"SELECT {columns}"


def _concurrency_error(appends: Sequence[StreamAppend], actual: Sequence[int]) -> ConcurrencyError:
    stale = [
        f"stream {item.stream_id!r} is at version {version}, expected {item.expected_version}"
        for item, version in zip(appends, actual, strict=True)
        if version != item.expected_version
    ]
    if not stale:
        # A writer got in between and the versions have moved on since the failure.
        stale = [f"streams {[item.stream_id for item in appends]!r} were written concurrently"]
    return ConcurrencyError("; ".join(stale) + "; nothing was appended")


class SQLiteEventStore:
    """Tenant-scoped event store in a SQLite file (see the module docstring for the design).

    Several store objects (other tenants, or other writers of the same tenant) may use the same
    file at once; each owns its own connection. Use ``async with`` or ``open()``/``close()``.
    """

    def __init__(
        self,
        path: str | Path,
        tenant_id: str,
        *,
        table_prefix: str | None = None,
        busy_timeout_ms: int = 5000,
    ) -> None:
        if not tenant_id:
            raise ValueError("tenant_id must not be empty")
        if table_prefix is not None and not _PREFIX.fullmatch(table_prefix):
            raise ValueError(
                f"table prefix {table_prefix!r} must match {_PREFIX.pattern} "
                "(a lowercase letter, then up to 30 lowercase letters, digits or underscores)"
            )
        if busy_timeout_ms < 0:
            raise ValueError("busy_timeout_ms must be >= 0")
        self.path = Path(path)
        self.tenant_id = tenant_id
        self.table_prefix = table_prefix
        self.busy_timeout_ms = busy_timeout_ms
        self._tables = _tables(table_prefix)
        self._db: aiosqlite.Connection | None = None
        # A write transaction spans several round trips on this store's single connection;
        # the lock keeps this object's other calls out of it.
        self._lock: asyncio.Lock = asyncio.Lock()

    @property
    def table_names(self) -> tuple[str, str, str]:
        """The events, snapshots and idempotency table names."""
        return (self._tables.events, self._tables.snapshots, self._tables.idempotency)

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect, switch to WAL, and create the tables and indexes if they are missing."""
        if self._db is not None:
            return
        try:
            db = await aiosqlite.connect(
                self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the event store {self.path}: {exc}") from exc
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await self._enable_wal(db)
            await db.execute("PRAGMA synchronous = NORMAL")
            await db.executescript(f"BEGIN IMMEDIATE; {self._tables.schema} COMMIT;")
        except sqlite3.Error as exc:
            await db.close()
            raise StoreError(f"cannot prepare the event store {self.path}: {exc}") from exc
        self._db = db

    async def _enable_wal(self, db: aiosqlite.Connection) -> None:
        # Switching a new file to WAL needs an exclusive lock, and SQLite answers "locked" at once
        # (without its busy handler) when other connections open the same new file together.
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        delay = 0.005
        while True:
            try:
                await db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def close(self) -> None:
        """Close the connection (a no-op when not open)."""
        db, self._db = self._db, None
        if db is not None:
            async with self._lock:
                await db.close()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the event store is not open: call open() or use 'async with'")
        return self._db

    # ------------------------------------------------------------------ writes

    async def append(
        self,
        appends: Sequence[StreamAppend],
        idempotency: IdempotencyRecord | None = None,
    ) -> list[RecordedEvent]:
        """Append to one or more streams in one transaction: all of it or none of it.

        Raises ConcurrencyError (naming each stale stream with its expected and actual
        version) and writes nothing if any stream is not at its expected version. The
        idempotency record, if given, is written in the same transaction; if its key is already
        stored with another command hash this raises IdempotencyConflict, and if it is stored
        with the same hash the command already ran: nothing is written and the result is ``[]``
        (callers look the stored result up with ``get_idempotency``). A StreamAppend without
        events only asserts its stream's version.
        """
        db = self._connection()
        validate_appends(appends)
        if not appends and idempotency is None:
            return []
        now = utc_now_iso()
        claim = None
        if idempotency is not None:
            claim = (
                self.tenant_id,
                idempotency.key,
                idempotency.command_hash,
                encode_json(idempotency.result),
                now,
            )
        params: list[Any] = [self.tenant_id, now]
        rows = 0
        version_checks_only = False
        # The events of one command usually share one metadata dict: encode it once.
        metadata_json: dict[int, str] = {}
        for item in appends:
            if not item.events:
                version_checks_only = True
            version = item.expected_version
            for event in item.events:
                version += 1
                rows += 1
                metadata = metadata_json.get(id(event.metadata))
                if metadata is None:
                    metadata = metadata_json[id(event.metadata)] = encode_json(event.metadata)
                params += (
                    item.stream_id,
                    item.stream_type,
                    version,
                    event.event_type,
                    event.schema_version,
                    encode_json(event.payload),
                    metadata,
                )
        async with self._lock:
            if idempotency is None and not version_checks_only and rows <= _ROWS_PER_STATEMENT:
                returned = await self._append_in_one_statement(db, appends, params, rows)
            else:
                returned = await self._append_in_transaction(db, appends, params, claim)
        if not returned:
            return []
        positions = {(stream_id, version): position for position, stream_id, version in returned}
        tenant_id = self.tenant_id
        records: list[RecordedEvent] = []
        for item in appends:
            version = item.expected_version
            for event in item.events:
                version += 1
                records.append(
                    RecordedEvent(
                        positions[(item.stream_id, version)],
                        tenant_id,
                        item.stream_id,
                        item.stream_type,
                        version,
                        event.event_type,
                        event.schema_version,
                        event.payload,
                        event.metadata,
                        now,
                    )
                )
        return records

    async def _append_in_one_statement(
        self,
        db: aiosqlite.Connection,
        appends: Sequence[StreamAppend],
        params: list[Any],
        rows: int,
    ) -> list[Any]:
        sql = _insert_events_sql(self._tables.events, rows)
        try:
            return list(await db.execute_fetchall(sql, params))
        except sqlite3.IntegrityError as exc:
            raise _concurrency_error(appends, await self._versions(db, appends)) from exc
        except sqlite3.Error as exc:
            raise self._failure("append", exc) from exc

    async def _append_in_transaction(
        self,
        db: aiosqlite.Connection,
        appends: Sequence[StreamAppend],
        params: list[Any],
        claim: tuple[str, str, str, str, str] | None,
    ) -> list[Any]:
        try:
            await db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._failure("append", exc) from exc
        try:
            if claim is not None and not await self._claim_idempotency(db, claim):
                await db.rollback()
                return []
            if appends:
                actual = await self._versions(db, appends)
                if any(v != item.expected_version for item, v in zip(appends, actual, strict=True)):
                    raise _concurrency_error(appends, actual)
            returned: list[Any] = []
            shared, per_row = params[:2], params[2:]
            step = _ROWS_PER_STATEMENT * 7
            for start in range(0, len(per_row), step):
                chunk = per_row[start : start + step]
                sql = _insert_events_sql(self._tables.events, len(chunk) // 7)
                returned += await db.execute_fetchall(sql, shared + chunk)
            await db.commit()
            return returned
        except BaseException as exc:
            await db.rollback()
            if isinstance(exc, sqlite3.IntegrityError):
                raise _concurrency_error(appends, await self._versions(db, appends)) from exc
            if isinstance(exc, sqlite3.Error):
                raise self._failure("append", exc) from exc
            raise

    async def _claim_idempotency(
        self, db: aiosqlite.Connection, claim: tuple[str, str, str, str, str]
    ) -> bool:
        """Insert the idempotency row; False if the same command already holds the key."""
        tenant_id, key, command_hash = claim[:3]
        cursor = await db.execute(self._tables.insert_idempotency, claim)
        if cursor.rowcount == 1:
            return True
        stored = await db.execute_fetchall(self._tables.get_idempotency, (tenant_id, key))
        if next(iter(stored))[0] != command_hash:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used for a different command"
            )
        return False

    async def _versions(
        self, db: aiosqlite.Connection, appends: Sequence[StreamAppend]
    ) -> list[int]:
        if not appends:
            return []
        sql = _versions_sql(self._tables.events, len(appends))
        rows = await db.execute_fetchall(
            sql, [self.tenant_id, *(item.stream_id for item in appends)]
        )
        return list(next(iter(rows)))

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot; one at a higher version already stored is kept instead.

        StreamNotFound if this tenant has no such stream; ValueError if the stream has no event
        at ``snapshot.version``.
        """
        db = self._connection()
        if snapshot.version < 1:
            raise ValueError(f"snapshot version must be >= 1, got {snapshot.version}")
        state = encode_json(snapshot.state)
        params = (self.tenant_id, snapshot.stream_id, snapshot.version, state, utc_now_iso())
        async with self._lock:
            try:
                cursor = await db.execute(self._tables.save_snapshot, params)
                if cursor.rowcount == 1:
                    return
                current = await self._stream_version(db, snapshot.stream_id)
            except sqlite3.Error as exc:
                raise self._failure("save a snapshot", exc) from exc
        if current == 0:
            raise StreamNotFound(self._not_found(snapshot.stream_id))
        if snapshot.version > current:
            raise ValueError(
                f"snapshot of stream {snapshot.stream_id!r} at version {snapshot.version} "
                f"is beyond the stream's version {current}"
            )

    # ------------------------------------------------------------------ reads

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """Events of one stream with version > ``after_version``, in order.

        StreamNotFound if this tenant has no such stream (whoever else might); ``[]`` if it has
        but nothing after ``after_version``.
        """
        db = self._connection()
        if after_version < 0:
            raise ValueError(f"after_version must be >= 0, got {after_version}")
        # Reading from ``after_version`` itself proves the stream exists in the same query.
        async with self._lock:
            try:
                rows = list(
                    await db.execute_fetchall(
                        self._tables.read_stream,
                        (self.tenant_id, stream_id, max(after_version, 1)),
                    )
                )
                exists = bool(rows) or (
                    after_version > 0
                    and bool(
                        await db.execute_fetchall(
                            self._tables.stream_exists, (self.tenant_id, stream_id)
                        )
                    )
                )
            except sqlite3.Error as exc:
                raise self._failure("read a stream", exc) from exc
        if not exists:
            raise StreamNotFound(self._not_found(stream_id))
        if rows and after_version > 0 and rows[0][4] == after_version:
            rows = rows[1:]
        return [record_from_row(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        """Current version of a stream (0 if this tenant has no such stream)."""
        db = self._connection()
        async with self._lock:
            try:
                return await self._stream_version(db, stream_id)
            except sqlite3.Error as exc:
                raise self._failure("read a stream version", exc) from exc

    async def _stream_version(self, db: aiosqlite.Connection, stream_id: str) -> int:
        rows = await db.execute_fetchall(
            _versions_sql(self._tables.events, 1), (self.tenant_id, stream_id)
        )
        return int(next(iter(rows))[0])

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """This tenant's events with position > ``after_position``, in position order."""
        db = self._connection()
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        async with self._lock:
            try:
                rows = await db.execute_fetchall(
                    self._tables.read_all,
                    (self.tenant_id, after_position, -1 if limit is None else limit),
                )
            except sqlite3.Error as exc:
                raise self._failure("read events", exc) from exc
        return [record_from_row(row) for row in rows]

    async def list_streams(self, stream_type: str) -> list[str]:
        """Ids of this tenant's streams of ``stream_type``, oldest first."""
        db = self._connection()
        async with self._lock:
            try:
                rows = await db.execute_fetchall(
                    self._tables.list_streams, (self.tenant_id, stream_type)
                )
            except sqlite3.Error as exc:
                raise self._failure("list streams", exc) from exc
        return [row[0] for row in rows]

    async def last_position(self) -> int:
        """The highest global position of this tenant's events (0 when it has none)."""
        db = self._connection()
        async with self._lock:
            try:
                rows = await db.execute_fetchall(self._tables.last_position, (self.tenant_id,))
            except sqlite3.Error as exc:
                raise self._failure("read the last position", exc) from exc
        return int(next(iter(rows))[0] or 0)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The latest snapshot of one of this tenant's streams, or None."""
        db = self._connection()
        async with self._lock:
            try:
                rows = list(
                    await db.execute_fetchall(
                        self._tables.load_snapshot, (self.tenant_id, stream_id)
                    )
                )
            except sqlite3.Error as exc:
                raise self._failure("load a snapshot", exc) from exc
        if not rows:
            return None
        version, state = rows[0]
        return Snapshot(stream_id, version, decode_json(state))

    async def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The record stored under an idempotency key for this tenant, or None."""
        db = self._connection()
        async with self._lock:
            try:
                rows = list(
                    await db.execute_fetchall(self._tables.get_idempotency, (self.tenant_id, key))
                )
            except sqlite3.Error as exc:
                raise self._failure("read an idempotency key", exc) from exc
        if not rows:
            return None
        command_hash, result = rows[0]
        return IdempotencyRecord(key, command_hash, decode_json(result))

    # ------------------------------------------------------------------ errors

    @staticmethod
    def _not_found(stream_id: str) -> str:
        return f"no stream {stream_id!r} in this tenant's event store"

    def _failure(self, action: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"could not {action} in {self.path}: {exc}")
