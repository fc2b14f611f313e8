"""Live updates from PostgreSQL: LISTEN on the schema's channel, which every append NOTIFYs.

The PostgreSQL event store calls ``pg_notify(channel, "<last position>:<tenant>")`` inside the
append transaction, so the notification is delivered when (and only if) the append commits.
This notifier holds one dedicated autocommit connection that LISTENs on that channel. It starts
lazily, with the first ``wait_for_append``, so a command that never follows anything opens no
extra connection. When the connection drops it reconnects with backoff; after every (re)connect
it reads the tenant's last position, so appends made while it was not listening still count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from psycopg import sql

from dramatis.adapters.poll_notify import PositionSignal
from dramatis.adapters.postgres_store import (
    DEFAULT_SCHEMA,
    describe_dsn,
    notify_channel,
    schema_name,
)

__all__ = ["PostgresNotifier"]

log = logging.getLogger(__name__)


class PostgresNotifier:
    """Wakes followers of one tenant's events in one schema on PostgreSQL NOTIFY."""

    def __init__(
        self,
        dsn: str,
        tenant_id: str,
        *,
        table_prefix: str | None = None,
        schema: str = DEFAULT_SCHEMA,
        connect_timeout: float = 5.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.tenant_id = tenant_id
        self.schema = schema_name(schema, table_prefix)
        self.channel = notify_channel(self.schema)
        self.connect_timeout = connect_timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.signal = PositionSignal()
        self.connected = False
        self.connections = 0  # successful (re)connects, for tests and status
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._closed = False

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """True as soon as a NOTIFY (or the position read after a reconnect) shows events past
        ``after_position`` for this tenant; False after ``timeout`` seconds."""
        self._start()
        return await self.signal.wait(after_position, timeout)

    async def announce(self, position: int) -> None:
        """Nothing to do: the store's append NOTIFYs at commit. Wakes local waiters early."""
        self.signal.update(position)

    async def close(self) -> None:
        """Stop listening and close the connection."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._listen_forever(), name="dramatis-pg-listen")

    async def _listen_forever(self) -> None:
        delay = self.backoff_initial
        while not self._closed:
            try:
                await self._listen_once()
                delay = self.backoff_initial
            except (psycopg.Error, OSError) as exc:
                if self.connected:
                    log.warning(
                        "lost the PostgreSQL LISTEN connection to %s (%s); reconnecting",
                        describe_dsn(self.dsn),
                        type(exc).__name__,
                    )
                else:
                    delay = min(delay * 2, self.backoff_max)
            finally:
                self.connected = False
                conn, self._conn = self._conn, None
                if conn is not None:
                    with contextlib.suppress(psycopg.Error, OSError):
                        await conn.close()
            if not self._closed:
                await asyncio.sleep(delay)

    async def _listen_once(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self.dsn, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
        )
        self._conn = conn
        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        # Listening now: whatever committed before is in the table, whatever commits later
        # will be notified.
        self.signal.update(await self._last_position(conn))
        self.connected = True
        self.connections += 1
        async for notice in conn.notifies():
            position, _, tenant = notice.payload.partition(":")
            if tenant == self.tenant_id and position.isdigit():
                self.signal.update(int(position))

    async def _last_position(self, conn: psycopg.AsyncConnection[tuple[object, ...]]) -> int:
        query = sql.SQL("SELECT MAX(position) FROM {}.events WHERE tenant_id = %s").format(
            sql.Identifier(self.schema)
        )
        try:
            cursor = await conn.execute(query, (self.tenant_id,))
        except psycopg.errors.UndefinedTable:  # no store has opened this schema yet
            return 0
        row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0
