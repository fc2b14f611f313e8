"""Translation between domain events and event-store records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dramatis.domain.events import DomainEvent, decode_event
from dramatis.ports import NewEvent, RecordedEvent


def encode(events: Iterable[DomainEvent], metadata: dict[str, Any] | None = None) -> list[NewEvent]:
    """Domain events as records ready to append, each carrying the same metadata."""
    meta = metadata or {}
    return [
        NewEvent(
            event_type=event.event_type,
            payload=event.to_payload(),
            schema_version=event.schema_version,
            metadata=meta,
        )
        for event in events
    ]


def decode(records: Sequence[RecordedEvent]) -> list[DomainEvent]:
    """Stored records as (upcast) domain events, in order."""
    return [decode_event(r.event_type, r.schema_version, r.payload) for r in records]
