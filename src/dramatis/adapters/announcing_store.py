"""An EventStore decorator that announces each committed append to a Notifier.

Used when the store cannot announce by itself (SQLite): after an append commits, the wrapper
calls ``notifier.announce(last position)``. The services see an ordinary EventStore, so they
need no knowledge of live updates. A notifier never raises, so announcing never fails an append.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from dramatis.ports import (
    EventStore,
    IdempotencyRecord,
    Notifier,
    RecordedEvent,
    Snapshot,
    StreamAppend,
)

__all__ = ["AnnouncingEventStore"]


class AnnouncingEventStore:
    """``inner`` with ``notifier.announce`` called after every append that wrote events."""

    def __init__(self, inner: EventStore, notifier: Notifier) -> None:
        self.inner = inner
        self.notifier = notifier
        self.tenant_id = inner.tenant_id

    async def append(
        self,
        appends: Sequence[StreamAppend],
        idempotency: IdempotencyRecord | None = None,
    ) -> list[RecordedEvent]:
        records = await self.inner.append(appends, idempotency)
        if records:
            await self.notifier.announce(records[-1].position)
        return records

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

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

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        return await self.inner.read_stream(stream_id, after_version)

    async def stream_version(self, stream_id: str) -> int:
        return await self.inner.stream_version(stream_id)

    async def read_all(
        self, after_position: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        return await self.inner.read_all(after_position, limit)

    async def list_streams(self, stream_type: str) -> list[str]:
        return await self.inner.list_streams(stream_type)

    async def last_position(self) -> int:
        return await self.inner.last_position()

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        await self.inner.save_snapshot(snapshot)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return await self.inner.load_snapshot(stream_id)

    async def get_idempotency(self, key: str) -> IdempotencyRecord | None:
        return await self.inner.get_idempotency(key)
