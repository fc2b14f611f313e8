"""The control-plane service as many sessions use it at once: one stream, many writers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dramatis.adapters.clock import FrozenClock
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.domain.control_plane import CONTROL_PLANE_STREAM
from dramatis.services.control_plane import SNAPSHOT_EVERY, ControlPlaneService


async def test_sessions_recording_measurements_at_once_lose_none(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    stores = [SQLiteEventStore(db, "default") for _ in range(4)]
    for store in stores:
        await store.open()
    try:
        services = [ControlPlaneService(store, FrozenClock()) for store in stores]
        await services[0].load()  # seeded once

        async def measure(service: ControlPlaneService, value: float) -> None:
            for _ in range(30):
                await service.record_measurements({"append p99": value})

        await asyncio.gather(*(measure(s, float(i)) for i, s in enumerate(services)))
        readings = [
            r
            for r in await stores[0].read_stream(CONTROL_PLANE_STREAM)
            if r.event_type == "SLORecorded"
        ]
        assert len(readings) == 120
        # Every session's cached plane caught up with the others' writes.
        for service in services:
            plane = await service.load()
            assert plane.version == await stores[0].stream_version(CONTROL_PLANE_STREAM)
            assert plane.slos["append p99"].definition.name == "append p99"
        # A new process starts from a snapshot, not from the first event.
        snapshot = await stores[0].load_snapshot(CONTROL_PLANE_STREAM)
        assert snapshot is not None and snapshot.version >= SNAPSHOT_EVERY
    finally:
        for store in stores:
            await store.close()
