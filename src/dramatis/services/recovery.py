"""Recovery: rebuild what a restored event log does not carry over (snapshots).

A restore replays the log into a fresh store and copies no snapshot, because a snapshot taken
after the cut would describe state the restored log does not have. This service folds every
campaign and persona stream from its events and stores a snapshot of its state at its last
version, so the restored store loads as fast as the original did.
"""

from __future__ import annotations

from dataclasses import dataclass

from dramatis.domain.campaign import Campaign
from dramatis.domain.persona import Persona
from dramatis.ports import EventStore, Snapshot
from dramatis.services.codec import decode
from dramatis.services.repository import Aggregate

# The stream types whose aggregates keep snapshots, and how to fold them.
SNAPSHOTTED: dict[str, type[Campaign] | type[Persona]] = {
    "campaign": Campaign,
    "persona": Persona,
}


@dataclass(frozen=True, slots=True)
class RebuiltSnapshots:
    """What ``rebuild_snapshots`` did."""

    streams: int  # streams folded
    snapshots: int  # snapshots written


async def rebuild_snapshots(store: EventStore, snapshot_every: int = 10) -> RebuiltSnapshots:
    """Fold every snapshotted stream of the store's tenant; snapshot those with at least
    ``snapshot_every`` events at their last version.

    Folding checks each stream as it goes (a campaign refuses a turn that does not follow the
    previous one), so a log that is not a whole history fails here rather than at play time.
    """
    if snapshot_every < 1:
        raise ValueError(f"snapshot_every must be at least 1, not {snapshot_every}")
    streams = written = 0
    for stream_type, cls in SNAPSHOTTED.items():
        for stream_id in await store.list_streams(stream_type):
            aggregate: Aggregate = cls.from_events(decode(await store.read_stream(stream_id)))
            streams += 1
            if aggregate.version >= snapshot_every:
                await store.save_snapshot(
                    Snapshot(stream_id, aggregate.version, aggregate.to_snapshot())
                )
                written += 1
    return RebuiltSnapshots(streams=streams, snapshots=written)
