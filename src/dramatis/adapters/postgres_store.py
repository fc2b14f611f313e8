"""The PostgreSQL event store: the scale-out engine behind the same port as the SQLite store.

Each store object owns a small ``psycopg_pool.AsyncConnectionPool`` of autocommit connections
(1 to ``max_connections``, 2 by default: ``DRAMATIS_POSTGRES_POOL_MAX``). A pool that cannot get
a connection within ``connect_timeout`` (say the server is at ``max_connections``) fails with a
one-line StoreError giving the server's reason.

The tables live in one PostgreSQL schema: ``dramatis`` by default (``schema=`` changes it), and
an enterprise tenant's ``table_prefix`` gives it a dedicated schema ``{schema}_{table_prefix}``.
Each schema has the same tables as a SQLite table set: ``events``, ``snapshots``,
``idempotency``, plus ``schema_migrations`` (and the ``append_events`` function).

Payloads, metadata, snapshot states and idempotency results are stored as JSON *text*, encoded
exactly as the SQLite store encodes them. JSONB would rewrite numbers (``1e308`` comes back as a
309-digit integer) and refuses ``\\u0000`` in strings, so a round trip would not be exact; text
keeps both stores byte-for-byte comparable (``dramatis migrate-store`` verifies by hashing).

Appends: one call of the schema's ``append_events`` function (migration 2), one statement in
autocommit, so one round trip and one implicit transaction. It takes the append lock, checks the
idempotency key and the expected versions, inserts the events (unnest of arrays) and notifies.

Global positions: ``position`` is assigned as ``MAX(position) + 1`` while the append holds a
transaction-scoped advisory lock for the schema (``pg_advisory_xact_lock``). PostgreSQL releases
that lock only after the transaction's commit is visible, so appends commit in position order:
a reader that has seen position N has already been able to see every position below N, and a
``read_all(after_position)`` follower can never skip a position that commits later (a sequence
would hand out numbers that commit out of order). The price is that appends to one schema are
serialised, as they are in SQLite. The same transaction issues ``pg_notify`` on the schema's
channel, which PostgreSQL delivers at commit (see ``postgres_notify``). The function's
statements each take a fresh snapshot (READ COMMITTED, the default), so what it reads after the
lock is granted includes every append committed before.

Migrations are versioned, recorded in ``schema_migrations`` (version, applied_at), applied on
``open()`` under another advisory lock so several processes opening at once take turns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dramatis.adapters.rows import decode_json, encode_json, record_from_row
from dramatis.adapters.sqlite_store import utc_now_iso
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

__all__ = [
    "DEFAULT_SCHEMA",
    "MIGRATIONS",
    "PostgresEventStore",
    "advisory_key",
    "check_dsn",
    "describe_dsn",
    "is_postgres_dsn",
    "notify_channel",
    "schema_name",
]

DEFAULT_SCHEMA = "dramatis"
_PREFIX = re.compile(r"^[a-z][a-z0-9_]{0,30}$")  # the SQLite store's table prefix rule
# A base schema leaves room for "_<prefix>" and the ".events" channel suffix in PostgreSQL's
# 63-byte identifiers.
_SCHEMA = re.compile(r"^[a-z][a-z0-9_]{0,23}$")

# libpq's refusals at a connection limit: the server's max_connections ("sorry, too many
# clients already"), or a role's or database's CONNECTION LIMIT ("too many connections for").
_TOO_MANY = re.compile(r"too many (clients|connections)", re.IGNORECASE)

_EVENT_COLUMNS = (
    "position, tenant_id, stream_id, stream_type, version, event_type, schema_version, "
    "payload, metadata, recorded_at"
)

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE events (
            position BIGINT PRIMARY KEY,
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
        CREATE INDEX events_by_tenant ON events (tenant_id, position);
        CREATE INDEX events_stream_heads ON events (tenant_id, stream_type, position)
            WHERE version = 1;
        CREATE TABLE snapshots (
            tenant_id TEXT NOT NULL,
            stream_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            taken_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, stream_id)
        );
        CREATE TABLE idempotency (
            tenant_id TEXT NOT NULL,
            key TEXT NOT NULL,
            command_hash TEXT NOT NULL,
            result TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, key)
        );
        """,
    ),
    (
        2,
        # The whole append as one server-side call: one round trip, one implicit transaction
        # (autocommit), so no BEGIN/COMMIT round trips either. Each statement of a PL/pgSQL
        # function takes a fresh snapshot, so MAX(position) and the versions are read *after*
        # the advisory lock is granted and see every append committed before it. Outcomes that
        # append nothing (key already held, stale versions) return normally and write nothing.
        """
        CREATE OR REPLACE FUNCTION append_events(
            p_lock BIGINT,
            p_tenant TEXT,
            p_streams TEXT[],
            p_expected INTEGER[],
            p_stream_id TEXT[],
            p_stream_type TEXT[],
            p_version INTEGER[],
            p_event_type TEXT[],
            p_schema_version INTEGER[],
            p_payload TEXT[],
            p_metadata TEXT[],
            p_recorded_at TEXT,
            p_channel TEXT,
            p_key TEXT,
            p_command_hash TEXT,
            p_result TEXT,
            OUT first_position BIGINT,
            OUT versions INTEGER[],
            OUT held_hash TEXT
        )
        LANGUAGE plpgsql
        SET search_path FROM CURRENT
        AS $fn$
        DECLARE
            v_last BIGINT;
            v_rows INTEGER := COALESCE(cardinality(p_stream_id), 0);
        BEGIN
            -- Held until commit: positions are handed out, and become visible, in order.
            PERFORM pg_advisory_xact_lock(p_lock);
            IF p_key IS NOT NULL THEN
                SELECT i.command_hash INTO held_hash FROM idempotency i
                    WHERE i.tenant_id = p_tenant AND i.key = p_key;
                IF FOUND THEN
                    RETURN;
                END IF;
            END IF;
            versions := ARRAY(
                SELECT COALESCE((SELECT MAX(e.version) FROM events e
                                 WHERE e.tenant_id = p_tenant AND e.stream_id = x.id), 0)
                FROM unnest(p_streams) WITH ORDINALITY AS x(id, n) ORDER BY x.n);
            IF versions IS DISTINCT FROM p_expected THEN
                RETURN;
            END IF;
            versions := NULL;
            IF p_key IS NOT NULL THEN
                INSERT INTO idempotency (tenant_id, key, command_hash, result, recorded_at)
                    VALUES (p_tenant, p_key, p_command_hash, p_result, p_recorded_at)
                    ON CONFLICT (tenant_id, key) DO NOTHING;
                IF NOT FOUND THEN  -- written by someone not holding the append lock
                    SELECT i.command_hash INTO held_hash FROM idempotency i
                        WHERE i.tenant_id = p_tenant AND i.key = p_key;
                    RETURN;
                END IF;
            END IF;
            IF v_rows = 0 THEN
                first_position := 0;
                RETURN;
            END IF;
            SELECT COALESCE(MAX(e.position), 0) INTO v_last FROM events e;
            INSERT INTO events (position, tenant_id, stream_id, stream_type, version,
                                event_type, schema_version, payload, metadata, recorded_at)
                SELECT v_last + x.n, p_tenant, x.sid, x.stype, x.v, x.etype, x.sv, x.p, x.m,
                       p_recorded_at
                FROM unnest(p_stream_id, p_stream_type, p_version, p_event_type,
                            p_schema_version, p_payload, p_metadata)
                     WITH ORDINALITY AS x(sid, stype, v, etype, sv, p, m, n);
            IF p_channel IS NOT NULL THEN  -- delivered at commit, and only if it commits
                PERFORM pg_notify(p_channel, (v_last + v_rows)::text || ':' || p_tenant);
            END IF;
            first_position := v_last + 1;
        END
        $fn$;
        """,
    ),
)


def is_postgres_dsn(database: str) -> bool:
    """Whether ``database`` (a DRAMATIS_DB value) names a PostgreSQL server."""
    return database.startswith(("postgresql://", "postgres://"))


def describe_dsn(dsn: str) -> str:
    """``host:port/database`` of a DSN, for messages: never the password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "the configured PostgreSQL server"
    host = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    port = str(parts.get("port") or 5432)
    database = parts.get("dbname")
    return f"{host}:{port}" + (f"/{database}" if database else "")


_URI_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def redact(text: str, dsn: str) -> str:
    """``text`` with the DSN's password (if any) masked, even when the DSN does not parse."""
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        password = None
    if password:
        text = text.replace(str(password), "***")
    return _URI_PASSWORD.sub(r"\1***@", text)


def check_dsn(dsn: str) -> None:
    """ValueError (without the password) unless ``dsn`` is a usable postgresql:// DSN."""
    if not is_postgres_dsn(dsn):
        raise ValueError("a PostgreSQL DSN starts with postgresql:// or postgres://")
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error as exc:
        reason = _one_line(redact(str(exc), dsn))
        raise ValueError(f"not a valid PostgreSQL DSN: {reason}") from None
    for port in str(parts.get("port") or "5432").split(","):
        if not port.strip().isdigit():
            raise ValueError(f"not a valid PostgreSQL DSN: port {port.strip()!r} is not a number")


def schema_name(schema: str = DEFAULT_SCHEMA, table_prefix: str | None = None) -> str:
    """The PostgreSQL schema of a table set: ``schema``, or ``{schema}_{table_prefix}``.

    ValueError for a name that is not a plain lowercase identifier.
    """
    if not _SCHEMA.fullmatch(schema):
        raise ValueError(
            f"schema {schema!r} must match {_SCHEMA.pattern} "
            "(a lowercase letter, then up to 23 lowercase letters, digits or underscores)"
        )
    if table_prefix is None:
        return schema
    if not _PREFIX.fullmatch(table_prefix):
        raise ValueError(
            f"table prefix {table_prefix!r} must match {_PREFIX.pattern} "
            "(a lowercase letter, then up to 30 lowercase letters, digits or underscores)"
        )
    return f"{schema}_{table_prefix}"


def notify_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel announcing appends to ``schema`` (a resolved schema name)."""
    return f"{schema}.events"


def advisory_key(purpose: str, schema: str) -> int:
    """A stable signed 64-bit advisory lock key for ``purpose`` ("append", "migrate") on a
    schema (derived in Python, so it never depends on the server's hash functions)."""
    digest = hashlib.sha256(f"dramatis:{purpose}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class _Sql:
    """The statements of one schema, composed once."""

    def __init__(self, schema: str) -> None:
        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(s=sql.Identifier(schema))

        # The whole append (lock, idempotency, version check, insert, notify) in one round trip:
        # see migration 2. Parameters go in binary: in text format psycopg escapes every quote of
        # every JSON document in an array with a regex, about 1 ms per turn of five events.
        self.append = q(
            "SELECT first_position, versions, held_hash FROM {s}.append_events("
            "%b::bigint, %b::text, %b::text[], %b::int[], %b::text[], %b::text[], %b::int[], "
            "%b::text[], %b::int[], %b::text[], %b::text[], %b::text, %b::text, %b::text, "
            "%b::text, %b::text)"
        )
        self.get_idempotency = q(
            "SELECT command_hash, result FROM {s}.idempotency WHERE tenant_id = %s AND key = %s"
        )
        self.read_stream = q(
            f"SELECT {_EVENT_COLUMNS} FROM {{s}}.events "
            "WHERE tenant_id = %s AND stream_id = %s AND version >= %s ORDER BY version"
        )
        self.stream_exists = q(
            "SELECT 1 FROM {s}.events WHERE tenant_id = %s AND stream_id = %s LIMIT 1"
        )
        self.stream_version = q(
            "SELECT COALESCE(MAX(version), 0) FROM {s}.events "
            "WHERE tenant_id = %s AND stream_id = %s"
        )
        self.read_all = q(
            f"SELECT {_EVENT_COLUMNS} FROM {{s}}.events "
            "WHERE tenant_id = %s AND position > %s ORDER BY position LIMIT %s"
        )
        self.list_streams = q(
            "SELECT stream_id FROM {s}.events "
            "WHERE tenant_id = %s AND stream_type = %s AND version = 1 ORDER BY position"
        )
        self.last_position = q("SELECT MAX(position) FROM {s}.events WHERE tenant_id = %s")
        # Written only if the stream really has that version; never replaces a newer one.
        self.save_snapshot = q(
            "INSERT INTO {s}.snapshots AS old (tenant_id, stream_id, version, state, taken_at) "
            "SELECT %(t)s, %(sid)s, %(v)s, %(state)s, %(at)s WHERE EXISTS ("
            "SELECT 1 FROM {s}.events WHERE tenant_id = %(t)s AND stream_id = %(sid)s "
            "AND version = %(v)s) "
            "ON CONFLICT (tenant_id, stream_id) DO UPDATE SET version = excluded.version, "
            "state = excluded.state, taken_at = excluded.taken_at "
            "WHERE excluded.version >= old.version"
        )
        self.load_snapshot = q(
            "SELECT version, state FROM {s}.snapshots WHERE tenant_id = %s AND stream_id = %s"
        )


async def apply_migrations(conn: psycopg.AsyncConnection[Any], schema: str) -> list[int]:
    """Create ``schema`` and apply the migrations it lacks, in one transaction under an
    advisory lock (concurrent openers wait, then find nothing left to do). Returns the versions
    applied now. ``conn`` must be in autocommit mode."""
    ident = sql.Identifier(schema)
    applied: list[int] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("migrate", schema),))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
        await conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {}.schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ).format(ident)
        )
        cursor = await conn.execute(
            sql.SQL("SELECT version FROM {}.schema_migrations").format(ident)
        )
        done = {row[0] for row in await cursor.fetchall()}
        for version, script in MIGRATIONS:
            if version in done:
                continue
            await conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
            await conn.execute(script.encode())
            await conn.execute(
                sql.SQL("INSERT INTO {}.schema_migrations (version) VALUES (%s)").format(ident),
                (version,),
            )
            applied.append(version)
    return applied


def _concurrency_error(appends: Sequence[StreamAppend], actual: Sequence[int]) -> ConcurrencyError:
    stale = [
        f"stream {item.stream_id!r} is at version {version}, expected {item.expected_version}"
        for item, version in zip(appends, actual, strict=True)
        if version != item.expected_version
    ]
    if not stale:
        stale = [f"streams {[item.stream_id for item in appends]!r} were written concurrently"]
    return ConcurrencyError("; ".join(stale) + "; nothing was appended")


class PostgresEventStore:
    """Tenant-scoped event store in a PostgreSQL schema (see the module docstring).

    Several store objects (other tenants, other writers, other processes) may use the same
    schema at once. Use ``async with`` or ``open()``/``close()``.
    """

    def __init__(
        self,
        dsn: str,
        tenant_id: str,
        *,
        table_prefix: str | None = None,
        schema: str = DEFAULT_SCHEMA,
        min_connections: int = 1,
        max_connections: int = 2,
        connect_timeout: float = 5.0,
        notify: bool = True,
    ) -> None:
        if not tenant_id:
            raise ValueError("tenant_id must not be empty")
        if not 1 <= min_connections <= max_connections:
            raise ValueError("need 1 <= min_connections <= max_connections")
        self.schema = schema_name(schema, table_prefix)
        check_dsn(dsn)
        self.dsn = dsn
        self.tenant_id = tenant_id
        self.table_prefix = table_prefix
        self.min_connections = min_connections
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.notify = notify
        self.channel = notify_channel(self.schema)
        self._sql = _Sql(self.schema)
        self._append_key = advisory_key("append", self.schema)
        self._pool: AsyncConnectionPool | None = None

    @property
    def where(self) -> str:
        """Where the events are, for messages: ``host:port/db schema s`` (no password)."""
        return f"{describe_dsn(self.dsn)} schema {self.schema}"

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Connect, apply pending migrations and open the connection pool."""
        if self._pool is not None:
            return
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
            )
        except psycopg.Error as exc:
            raise self._unreachable(exc) from None
        try:
            await apply_migrations(conn, self.schema)
        except psycopg.Error as exc:
            raise self._failure("prepare the event store", exc) from None
        finally:
            await conn.close()
        pool = AsyncConnectionPool(
            self.dsn,
            min_size=self.min_connections,
            max_size=self.max_connections,
            kwargs={"autocommit": True},
            timeout=self.connect_timeout,
            open=False,
            name=f"dramatis-{self.schema}",
        )
        try:
            await pool.open(wait=True, timeout=self.connect_timeout)
        except PoolTimeout:
            await pool.close()
            raise await self._no_connection() from None
        except psycopg.Error as exc:
            await pool.close()
            raise self._unreachable(exc) from None
        self._pool = pool

    async def close(self) -> None:
        """Close the pool (a no-op when not open)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

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

    def _connection(self) -> Any:
        if self._pool is None:
            raise StoreError("the event store is not open: call open() or use 'async with'")
        return self._pool.connection()

    async def _fetch(self, action: str, query: sql.Composed, params: Sequence[Any]) -> list[Any]:
        """One autocommit query's rows, errors as StoreError."""
        try:
            async with self._connection() as conn:
                cursor = await conn.execute(query, params)
                return list(await cursor.fetchall())
        except PoolTimeout:
            raise await self._no_connection() from None
        except psycopg.Error as exc:
            raise self._failure(action, exc) from None

    # ------------------------------------------------------------------ writes

    async def append(
        self,
        appends: Sequence[StreamAppend],
        idempotency: IdempotencyRecord | None = None,
    ) -> list[RecordedEvent]:
        """Append to one or more streams in one transaction: all of it or none of it.

        Same contract as the SQLite store: ConcurrencyError naming each stale stream and nothing
        written; IdempotencyConflict for a key held by another command; ``[]`` (nothing
        written) for a key already held by this same command. A StreamAppend without events only
        asserts its stream's version.
        """
        validate_appends(appends)
        if not appends and idempotency is None:
            return []
        now = utc_now_iso()
        claim: tuple[str | None, str | None, str | None] = (None, None, None)
        if idempotency is not None:
            claim = (idempotency.key, idempotency.command_hash, encode_json(idempotency.result))
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [])
        metadata_json: dict[int, str] = {}
        for item in appends:
            version = item.expected_version
            for event in item.events:
                version += 1
                metadata = metadata_json.get(id(event.metadata))
                if metadata is None:
                    metadata = metadata_json[id(event.metadata)] = encode_json(event.metadata)
                for column, value in zip(
                    columns,
                    (
                        item.stream_id,
                        item.stream_type,
                        version,
                        event.event_type,
                        event.schema_version,
                        encode_json(event.payload),
                        metadata,
                    ),
                    strict=True,
                ):
                    column.append(value)
        params = (
            self._append_key,
            self.tenant_id,
            [item.stream_id for item in appends],
            [item.expected_version for item in appends],
            *columns,
            now,
            self.channel if self.notify else None,
            *claim,
        )
        try:
            async with self._connection() as conn:
                cursor = await conn.execute(self._sql.append, params)
                row = await cursor.fetchone()
        except PoolTimeout:
            raise await self._no_connection() from None
        except psycopg.errors.UniqueViolation as exc:
            # Only a writer that bypassed the append lock can get here.
            raise ConcurrencyError(
                f"streams {[item.stream_id for item in appends]!r} were written concurrently; "
                "nothing was appended"
            ) from exc
        except psycopg.Error as exc:
            raise self._failure("append", exc) from None
        assert row is not None
        first, actual, held_hash = row
        if held_hash is not None and idempotency is not None:
            if held_hash == idempotency.command_hash:
                return []  # this same command already ran: nothing appended again
            raise IdempotencyConflict(
                f"idempotency key {idempotency.key!r} was already used for a different command"
            )
        if actual is not None:
            raise _concurrency_error(appends, [int(v) for v in actual])
        records: list[RecordedEvent] = []
        position = first
        for item in appends:
            version = item.expected_version
            for event in item.events:
                version += 1
                records.append(
                    RecordedEvent(
                        position,
                        self.tenant_id,
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
                position += 1
        return records

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot; one at a higher version already stored is kept instead.

        StreamNotFound if this tenant has no such stream; ValueError if the stream has no event
        at ``snapshot.version``.
        """
        if snapshot.version < 1:
            raise ValueError(f"snapshot version must be >= 1, got {snapshot.version}")
        self._connection_check()
        state = encode_json(snapshot.state)
        params = {
            "t": self.tenant_id,
            "sid": snapshot.stream_id,
            "v": snapshot.version,
            "state": state,
            "at": utc_now_iso(),
        }
        try:
            async with self._connection() as conn:
                cursor = await conn.execute(self._sql.save_snapshot, params)
                if cursor.rowcount == 1:
                    return
                cursor = await conn.execute(
                    self._sql.stream_version, (self.tenant_id, snapshot.stream_id)
                )
                row = await cursor.fetchone()
                current = int(row[0]) if row else 0
        except PoolTimeout:
            raise await self._no_connection() from None
        except psycopg.Error as exc:
            raise self._failure("save a snapshot", exc) from None
        if current == 0:
            raise StreamNotFound(self._not_found(snapshot.stream_id))
        if snapshot.version > current:
            raise ValueError(
                f"snapshot of stream {snapshot.stream_id!r} at version {snapshot.version} "
                f"is beyond the stream's version {current}"
            )

    def _connection_check(self) -> None:
        if self._pool is None:
            raise StoreError("the event store is not open: call open() or use 'async with'")

    # ------------------------------------------------------------------ reads

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """Events of one stream with version > ``after_version``, in order.

        StreamNotFound if this tenant has no such stream (whoever else might); ``[]`` if it has
        but nothing after ``after_version``.
        """
        self._connection_check()
        if after_version < 0:
            raise ValueError(f"after_version must be >= 0, got {after_version}")
        rows = await self._fetch(
            "read a stream",
            self._sql.read_stream,
            (self.tenant_id, stream_id, max(after_version, 1)),
        )
        exists = bool(rows) or (
            after_version > 0
            and bool(
                await self._fetch(
                    "read a stream", self._sql.stream_exists, (self.tenant_id, stream_id)
                )
            )
        )
        if not exists:
            raise StreamNotFound(self._not_found(stream_id))
        if rows and after_version > 0 and rows[0][4] == after_version:
            rows = rows[1:]
        return [record_from_row(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        """Current version of a stream (0 if this tenant has no such stream)."""
        self._connection_check()
        rows = await self._fetch(
            "read a stream version", self._sql.stream_version, (self.tenant_id, stream_id)
        )
        return int(rows[0][0])

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """This tenant's events with position > ``after_position``, in position order."""
        self._connection_check()
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        rows = await self._fetch(
            "read events", self._sql.read_all, (self.tenant_id, after_position, limit)
        )
        return [record_from_row(row) for row in rows]

    async def list_streams(self, stream_type: str) -> list[str]:
        """Ids of this tenant's streams of ``stream_type``, oldest first."""
        self._connection_check()
        rows = await self._fetch(
            "list streams", self._sql.list_streams, (self.tenant_id, stream_type)
        )
        return [row[0] for row in rows]

    async def last_position(self) -> int:
        """The highest global position of this tenant's events (0 when it has none)."""
        self._connection_check()
        rows = await self._fetch(
            "read the last position", self._sql.last_position, (self.tenant_id,)
        )
        return int(rows[0][0] or 0)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The latest snapshot of one of this tenant's streams, or None."""
        self._connection_check()
        rows = await self._fetch(
            "load a snapshot", self._sql.load_snapshot, (self.tenant_id, stream_id)
        )
        if not rows:
            return None
        version, state = rows[0]
        return Snapshot(stream_id, version, decode_json(state))

    async def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The record stored under an idempotency key for this tenant, or None."""
        self._connection_check()
        rows = await self._fetch(
            "read an idempotency key", self._sql.get_idempotency, (self.tenant_id, key)
        )
        if not rows:
            return None
        command_hash, result = rows[0]
        return IdempotencyRecord(key, command_hash, decode_json(result))

    # ------------------------------------------------------------------ errors

    @staticmethod
    def _not_found(stream_id: str) -> str:
        return f"no stream {stream_id!r} in this tenant's event store"

    def _unreachable(self, exc: BaseException) -> StoreError:
        reason = _one_line(redact(str(exc), self.dsn)) or type(exc).__name__
        if _TOO_MANY.search(reason):
            hint = (
                "(the server is at its connection limit: raise max_connections, or lower "
                "DRAMATIS_POSTGRES_POOL_MAX or the number of sessions)"
            )
        else:
            hint = "(is the server running, and is DRAMATIS_DB right?)"
        return StoreError(f"cannot reach PostgreSQL at {describe_dsn(self.dsn)}: {reason} {hint}")

    async def _no_connection(self) -> StoreError:
        """The StoreError for a pool that had no connection to give within the timeout.

        The pool only says that it waited, so one fresh connection attempt finds out why: the
        server's refusal (e.g. "too many clients already" at max_connections, or the server
        down) when there is one, else this process's pool is busy with its own connections.
        """
        try:
            probe = await psycopg.AsyncConnection.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
            )
        except psycopg.Error as refused:
            return self._unreachable(refused)
        await probe.close()
        return StoreError(
            f"no PostgreSQL connection free for {self.where} within {self.connect_timeout:g} s: "
            f"all {self.max_connections} connections of this process's pool are busy "
            "(DRAMATIS_POSTGRES_POOL_MAX)"
        )

    def _failure(self, action: str, exc: psycopg.Error) -> StoreError:
        if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
            return self._unreachable(exc)
        reason = _one_line(redact(str(exc), self.dsn)) or type(exc).__name__
        return StoreError(f"could not {action} in PostgreSQL {self.where}: {reason}")


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
