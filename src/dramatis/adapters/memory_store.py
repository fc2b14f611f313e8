"""An in-memory event store with the SQLite store's semantics, for fast tests.

Payloads, metadata, snapshot states and idempotency results are kept as JSON text and decoded
on every read, exactly as the SQLite store does, so a test cannot pass here by leaning on a
shared mutable dict or a value JSON cannot hold. Several stores (tenants, or competing writers
of one tenant) can share one ``MemoryBackend``: one "database".
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

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

__all__ = ["InMemoryEventStore", "MemoryBackend"]

# The SQLite store's settings: compact, UTF-8 as is, no NaN/Infinity.

# position, tenant_id, stream_id, stream_type, version, event_type, schema_version,
# payload JSON, metadata JSON, recorded_at
_Row = tuple[int, str, str, str, int, str, int, str, str, str]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


class MemoryBackend:
    """The shared "database" of in-memory stores: one global position counter for all tenants."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_position = 0
        self.streams: dict[tuple[str, str], list[_Row]] = {}
        self.tenant_log: dict[str, list[_Row]] = {}
        self.snapshots: dict[tuple[str, str], tuple[int, str]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, str]] = {}


class InMemoryEventStore:
    """EventStore over a ``MemoryBackend`` (a private one unless ``shared`` is given)."""

    def __init__(self, tenant_id: str, shared: MemoryBackend | None = None) -> None:
        if not tenant_id:
            raise ValueError("tenant_id must not be empty")
        self.tenant_id = tenant_id
        self.backend = shared if shared is not None else MemoryBackend()
        self._open = False

    async def open(self) -> None:
        """Get ready for use (the backend needs no tables)."""
        self._open = True

    async def close(self) -> None:
        """Stop serving calls; the backend keeps its data for other stores and reopening."""
        self._open = False

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

    def _require_open(self) -> MemoryBackend:
        if not self._open:
            raise StoreError("the event store is not open: call open() or use 'async with'")
        return self.backend

    async def append(
        self,
        appends: Sequence[StreamAppend],
        idempotency: IdempotencyRecord | None = None,
    ) -> list[RecordedEvent]:
        """Same contract as ``SQLiteEventStore.append``: all or nothing, and ``[]`` when the
        idempotency key is already stored for the same command hash."""
        backend = self._require_open()
        validate_appends(appends)
        if not appends and idempotency is None:
            return []
        tenant = self.tenant_id
        encoded = [
            [(encode_json(event.payload), encode_json(event.metadata)) for event in item.events]
            for item in appends
        ]
        result = "" if idempotency is None else encode_json(idempotency.result)
        now = _now()
        with backend.lock:
            if idempotency is not None:
                stored = backend.idempotency.get((tenant, idempotency.key))
                if stored is not None:
                    if stored[0] != idempotency.command_hash:
                        raise IdempotencyConflict(
                            f"idempotency key {idempotency.key!r} was already used "
                            "for a different command"
                        )
                    return []
            actual = [len(backend.streams.get((tenant, item.stream_id), ())) for item in appends]
            stale = [
                f"stream {item.stream_id!r} is at version {version}, "
                f"expected {item.expected_version}"
                for item, version in zip(appends, actual, strict=True)
                if version != item.expected_version
            ]
            if stale:
                raise ConcurrencyError("; ".join(stale) + "; nothing was appended")
            if idempotency is not None:
                backend.idempotency[(tenant, idempotency.key)] = (idempotency.command_hash, result)
            tenant_log = backend.tenant_log.setdefault(tenant, [])
            records: list[RecordedEvent] = []
            for item, texts in zip(appends, encoded, strict=True):
                stream = backend.streams.setdefault((tenant, item.stream_id), [])
                for event, (payload, metadata) in zip(item.events, texts, strict=True):
                    backend.last_position += 1
                    row: _Row = (
                        backend.last_position,
                        tenant,
                        item.stream_id,
                        item.stream_type,
                        len(stream) + 1,
                        event.event_type,
                        event.schema_version,
                        payload,
                        metadata,
                        now,
                    )
                    stream.append(row)
                    tenant_log.append(row)
                    records.append(
                        RecordedEvent(
                            row[0],
                            tenant,
                            item.stream_id,
                            item.stream_type,
                            row[4],
                            event.event_type,
                            event.schema_version,
                            event.payload,
                            event.metadata,
                            now,
                        )
                    )
                if not stream:
                    # A version assertion on a stream that does not exist leaves no trace.
                    del backend.streams[(tenant, item.stream_id)]
            return records

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """Events of one stream with version > ``after_version``; StreamNotFound if none exist."""
        backend = self._require_open()
        if after_version < 0:
            raise ValueError(f"after_version must be >= 0, got {after_version}")
        with backend.lock:
            stream = backend.streams.get((self.tenant_id, stream_id))
            if not stream:
                raise StreamNotFound(f"no stream {stream_id!r} in this tenant's event store")
            rows = stream[after_version:]
        return [record_from_row(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        """Current version of a stream (0 if this tenant has no such stream)."""
        backend = self._require_open()
        with backend.lock:
            return len(backend.streams.get((self.tenant_id, stream_id), ()))

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """This tenant's events with position > ``after_position``, in position order."""
        backend = self._require_open()
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        with backend.lock:
            log = backend.tenant_log.get(self.tenant_id, [])
            start = bisect_right(log, after_position, key=lambda row: row[0])
            rows = log[start:] if limit is None else log[start : start + limit]
        return [record_from_row(row) for row in rows]

    async def list_streams(self, stream_type: str) -> list[str]:
        """Ids of this tenant's streams of ``stream_type``, oldest first."""
        backend = self._require_open()
        with backend.lock:
            heads = [
                (rows[0][0], stream_id)
                for (tenant, stream_id), rows in backend.streams.items()
                if tenant == self.tenant_id and rows and rows[0][3] == stream_type
            ]
        return [stream_id for _, stream_id in sorted(heads)]

    async def last_position(self) -> int:
        """The highest global position of this tenant's events (0 when it has none)."""
        backend = self._require_open()
        with backend.lock:
            log = backend.tenant_log.get(self.tenant_id)
            return log[-1][0] if log else 0

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot unless a newer one is stored (see ``SQLiteEventStore``)."""
        backend = self._require_open()
        if snapshot.version < 1:
            raise ValueError(f"snapshot version must be >= 1, got {snapshot.version}")
        state = encode_json(snapshot.state)
        key = (self.tenant_id, snapshot.stream_id)
        with backend.lock:
            current = len(backend.streams.get(key, ()))
            if current == 0:
                raise StreamNotFound(
                    f"no stream {snapshot.stream_id!r} in this tenant's event store"
                )
            if snapshot.version > current:
                raise ValueError(
                    f"snapshot of stream {snapshot.stream_id!r} at version {snapshot.version} "
                    f"is beyond the stream's version {current}"
                )
            stored = backend.snapshots.get(key)
            if stored is None or snapshot.version >= stored[0]:
                backend.snapshots[key] = (snapshot.version, state)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The latest snapshot of one of this tenant's streams, or None."""
        backend = self._require_open()
        with backend.lock:
            stored = backend.snapshots.get((self.tenant_id, stream_id))
        if stored is None:
            return None
        return Snapshot(stream_id, stored[0], decode_json(stored[1]))

    async def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        """The record stored under an idempotency key for this tenant, or None."""
        backend = self._require_open()
        with backend.lock:
            stored = backend.idempotency.get((self.tenant_id, key))
        if stored is None:
            return None
        return IdempotencyRecord(key, stored[0], decode_json(stored[1]))
