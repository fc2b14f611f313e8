"""Loading aggregates (latest snapshot + later events) and writing their snapshots."""

from __future__ import annotations

from typing import Any, Protocol, Self, TypeVar

from dramatis.domain.events import DomainEvent
from dramatis.ports import EventStore, Snapshot
from dramatis.services.codec import decode


class Aggregate(Protocol):
    """What the repository needs of an aggregate class."""

    version: int

    def apply(self, event: DomainEvent) -> None: ...

    def to_snapshot(self) -> dict[str, Any]: ...

    @classmethod
    def from_snapshot(cls, data: Any) -> Self: ...

    @classmethod
    def from_events(cls, events: Any, snapshot: Any = None) -> Self: ...


A = TypeVar("A", bound=Aggregate)


async def load_aggregate(store: EventStore, cls: type[A], stream_id: str) -> A:
    """Rebuild an aggregate from its latest snapshot and the events after it.

    Raises StreamNotFound when the stream does not exist for the store's tenant.
    """
    snapshot = await store.load_snapshot(stream_id)
    if snapshot is None:
        return cls.from_events(decode(await store.read_stream(stream_id)))
    tail = await store.read_stream(stream_id, after_version=snapshot.version)
    return cls.from_events(decode(tail), snapshot.state)


async def save_snapshot(store: EventStore, stream_id: str, aggregate: Aggregate) -> None:
    """Store the aggregate's state at its current version."""
    await store.save_snapshot(Snapshot(stream_id, aggregate.version, aggregate.to_snapshot()))
