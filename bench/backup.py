"""Backup and restore of a long campaign, with append latency, measured side by side in one run.

Builds a 10,000-turn offline campaign through the services (as bench/play.py does), recording
the latency of every event-store append; then times an online backup of it, a full restore (log
replay plus snapshot rebuild) and a point-in-time restore to the middle of the log. Appends are
measured again while a backup loop runs in another thread, to show what a backup costs play.

    python bench/backup.py [--turns 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dramatis.adapters.sqlite_backup import backup_sqlite
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.bootstrap import open_dramatis, restore_database
from dramatis.config import Settings
from dramatis.ports import IdempotencyRecord, RecordedEvent, StreamAppend
from dramatis.sheets.campaign_loader import LoadedCampaign, find_sample, load_campaign_file

SAMPLE = "skerry-light"  # four personas


class TimedStore(SQLiteEventStore):
    """The SQLite store, recording how long each append takes (ms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.append_ms: list[float] = []

    async def append(
        self, appends: Sequence[StreamAppend], idempotency: IdempotencyRecord | None = None
    ) -> list[RecordedEvent]:
        started = time.perf_counter()
        try:
            return await super().append(appends, idempotency)
        finally:
            self.append_ms.append((time.perf_counter() - started) * 1000)


def endless(loaded: LoadedCampaign) -> LoadedCampaign:
    """The sample without its story-ending events, so a long run is not cut short."""
    world = loaded.campaign.world
    events = tuple(
        event.model_copy(update={"effect": event.effect.model_copy(update={"complete": False})})
        for event in world.events
    )
    campaign = loaded.campaign.model_copy(
        update={"world": world.model_copy(update={"events": events})}
    )
    return dataclasses.replace(loaded, campaign=campaign)


def settings_in(db: Path) -> Settings:
    return Settings(data_dir=db.parent / "data", db=str(db))


def pct(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def play(db: Path, turns: int, campaign_id: str | None = None) -> tuple[str, list[float]]:
    """Play ``turns`` turns (a new campaign unless ``campaign_id``); the append latencies."""
    store = TimedStore(db, "default")
    async with open_dramatis(settings_in(db), store=store) as app:
        if campaign_id is None:
            loaded = endless(load_campaign_file(find_sample(SAMPLE)))
            view = await app.campaigns.create(loaded, seed=7, turn_limit=10**6, offline=True)
            await app.campaigns.start(view.campaign_id)
            campaign_id = view.campaign_id
        store.append_ms.clear()
        await app.campaigns.advance(campaign_id, turns=turns, offline=True)
    return campaign_id, store.append_ms


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=10_000)
    parser.add_argument("--sample-turns", type=int, default=500, help="turns per latency run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "bench.db"
        started = time.perf_counter()
        campaign_id, build_ms = await play(db, args.turns)
        built = time.perf_counter() - started
        print(f"built {args.turns} turns in {built:.1f}s ({args.turns / built:.0f} turns/s)")
        print(
            f"append latency while building: p50 {pct(build_ms, 0.5):.2f} ms, "
            f"p99 {pct(build_ms, 0.99):.2f} ms ({len(build_ms)} appends)"
        )

        started = time.perf_counter()
        report = backup_sqlite(db, folder / "bench.bak")
        backup_s = time.perf_counter() - started
        size_mb = report.bytes / 1e6
        print(f"backup: {report.events} events, {size_mb:.1f} MB in {backup_s * 1000:.0f} ms")

        for label, options in (
            ("full restore", {}),
            ("restore to mid-log time", {"to_time": _mid_time(folder / "bench.bak")}),
        ):
            target = folder / f"restored-{len(label)}.db"
            started = time.perf_counter()
            restored = await restore_database(
                settings_in(db), folder / "bench.bak", into=target, **options
            )
            seconds = time.perf_counter() - started
            print(
                f"{label}: {restored.events} events, {restored.snapshots} snapshots rebuilt "
                f"in {seconds * 1000:.0f} ms"
            )

        # Append latency with and without a backup loop running beside play.
        _, quiet = await play(db, args.sample_turns, campaign_id)
        stop = threading.Event()
        backups = 0

        def backup_loop() -> None:
            nonlocal backups
            while not stop.is_set():
                backup_sqlite(db, folder / "loop.bak", overwrite=True)
                backups += 1

        worker = threading.Thread(target=backup_loop)
        worker.start()
        try:
            _, busy = await play(db, args.sample_turns, campaign_id)
        finally:
            stop.set()
            worker.join()
        print(
            f"append p50/p99 without backup: {pct(quiet, 0.5):.2f}/{pct(quiet, 0.99):.2f} ms; "
            f"with {backups} backups running: {pct(busy, 0.5):.2f}/{pct(busy, 0.99):.2f} ms "
            f"(p50 ratio {statistics.median(busy) / statistics.median(quiet):.2f}x)"
        )


def _mid_time(backup: Path) -> str:
    import sqlite3

    with sqlite3.connect(backup) as conn:
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
        (at,) = conn.execute(
            "SELECT recorded_at FROM events ORDER BY position LIMIT 1 OFFSET ?", (count // 2,)
        ).fetchone()
    return str(at)


if __name__ == "__main__":
    asyncio.run(main())
