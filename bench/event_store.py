"""Append throughput: our SQLiteEventStore against the eventsourcing library's SQLite recorder.

Run: ``python bench/event_store.py [--turns 1000] [--repeats 3]``

The workload is N four-persona turns. A turn is one transaction holding one TurnAdvanced event
(about 1.5 KB of JSON) on the campaign stream and one DecisionRecorded event (about 600 B) on each
of four persona streams. Both stores write a SQLite file in their own temp dir, in WAL mode with
synchronous=NORMAL, and both start from the same Python dicts, so JSON encoding is timed on both
sides.

eventsourcing path: ``SQLiteApplicationRecorder.insert_events`` (the recorder an eventsourcing
Application writes through; it also keeps a global order, like our ``position``), one batch of five
``StoredEvent`` per turn, each state encoded by eventsourcing's ``JSONTranscoder``. That recorder is
synchronous, so it is measured two ways: from asyncio through ``asyncio.to_thread`` (one thread
round trip per turn, like each aiosqlite call: the like-for-like comparison for an asyncio
application) and called inline (the event loop blocks for every write).

Each measurement is repeated (interleaved, fresh files each time) and the median is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
)

from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.ports import NewEvent, StreamAppend

PERSONAS = 4
CAMPAIGN = "6f1c2b9e-4a57-4c1e-9d53-0b7a1f2e3c4d"
PERSONA_IDS = [f"persona-{index}-{'x' * 24}" for index in range(PERSONAS)]

Turn = list[tuple[str, str, str, dict[str, Any], dict[str, Any]]]


def make_turns(count: int) -> list[Turn]:
    """The events of ``count`` turns: (stream_id, stream_type, event_type, payload, metadata)."""
    turns = []
    for number in range(1, count + 1):
        stamp = f"2026-11-25T12:{number // 60 % 60:02d}:{number % 60:02d}.000Z"
        meta = {"actor": "director", "correlation_id": f"{CAMPAIGN}:{number}"}
        actions = [
            {
                "persona_id": pid,
                "action": "negotiate",
                "target": PERSONA_IDS[(index + 1) % PERSONAS],
                "outcome": "success" if (number + index) % 3 else "failure",
                "summary": f"turn {number}: {pid} pressed for the debt to be settled at the ford",
                "roll": (number * 7 + index * 13) % 20 + 1,
                "consequence": "trust shifts; the ferryman remembers who paid and who stalled",
            }
            for index, pid in enumerate(PERSONA_IDS)
        ]
        ledger = {
            "campaign_id": CAMPAIGN,
            "turn_number": number,
            "timestamp": stamp,
            "duration_seconds": 0.25,
            "action_log": actions,
            "world": {
                "tension": number % 10,
                "location": "the salt road",
                "clues": ["ledger", "seal"],
                "fired": [],
            },
        }
        events: Turn = [(CAMPAIGN, "campaign", "TurnAdvanced", ledger, meta)]
        for index, pid in enumerate(PERSONA_IDS):
            decision = {
                "campaign_id": CAMPAIGN,
                "turn": number,
                "action": "negotiate",
                "target": PERSONA_IDS[(index + 1) % PERSONAS],
                "reasoning": (
                    "The debt is old and the river is rising; better a bad bargain today than "
                    "a drowned caravan tomorrow. Bram will bluster, but he counts coins twice."
                ),
                "provenance": {"source": "offline", "model": None, "latency_ms": 0.4},
                "context": (
                    f"At the ford with {PERSONAS - 1} others, tension {number % 10}; the toll "
                    "house is shut, the ledger is missing and the seal was last seen with Ana."
                ),
                "weights": {"caution": 0.4, "greed": 0.25, "loyalty": 0.35},
                "recorded_at": stamp,
            }
            events.append((pid, "persona", "DecisionRecorded", decision, meta))
        turns.append(events)
    return turns


async def run_ours(turns: list[Turn], directory: Path) -> float:
    """Seconds to append every turn to a SQLiteEventStore."""
    async with SQLiteEventStore(directory / "dramatis.sqlite", "bench") as store:
        started = time.perf_counter()
        for expected, events in enumerate(turns):
            await store.append(
                [
                    StreamAppend(stream, kind, expected, [NewEvent(event_type, payload, 1, meta)])
                    for stream, kind, event_type, payload, meta in events
                ]
            )
        elapsed = time.perf_counter() - started
        assert await store.stream_version(CAMPAIGN) == len(turns)
        assert len(await store.read_all()) == len(turns) * (PERSONAS + 1)
    return elapsed


class NormalSyncPool(SQLiteConnectionPool):
    """eventsourcing's pool (WAL already), with synchronous=NORMAL like our store."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection.cursor().execute("PRAGMA synchronous=NORMAL")
        return connection


def open_recorder(directory: Path) -> SQLiteApplicationRecorder:
    name = str(directory / "eventsourcing.sqlite")
    datastore = SQLiteDatastore(name, originator_id_type="text")
    datastore.pool = NormalSyncPool(db_name=name)
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
    assert (journal, synchronous) == ("wal", 1), (journal, synchronous)
    return recorder


def theirs_writer(recorder: SQLiteApplicationRecorder) -> Callable[[int, Turn], None]:
    transcoder = JSONTranscoder()

    def write(version: int, events: Turn) -> None:
        recorder.insert_events(
            [
                StoredEvent(
                    stream,
                    version,
                    event_type,
                    transcoder.encode({"payload": payload, "metadata": meta, "schema_version": 1}),
                )
                for stream, _kind, event_type, payload, meta in events
            ]
        )

    return write


def check_theirs(recorder: SQLiteApplicationRecorder, turns: list[Turn]) -> None:
    assert recorder.max_notification_id() == len(turns) * (PERSONAS + 1)
    recorder.datastore.close()


async def run_theirs_in_thread(turns: list[Turn], directory: Path) -> float:
    """Seconds to insert every turn with the eventsourcing recorder via asyncio.to_thread."""
    recorder = open_recorder(directory)
    write = theirs_writer(recorder)
    started = time.perf_counter()
    for version, events in enumerate(turns, start=1):
        await asyncio.to_thread(write, version, events)
    elapsed = time.perf_counter() - started
    check_theirs(recorder, turns)
    return elapsed


async def run_theirs_inline(turns: list[Turn], directory: Path) -> float:
    """Seconds to insert every turn with the eventsourcing recorder, called inline."""
    recorder = open_recorder(directory)
    write = theirs_writer(recorder)
    started = time.perf_counter()
    for version, events in enumerate(turns, start=1):
        write(version, events)
    elapsed = time.perf_counter() - started
    check_theirs(recorder, turns)
    return elapsed


class Stream(Aggregate):
    """One campaign or persona stream, as an eventsourcing aggregate."""

    class Recorded(Aggregate.Event):
        event_type: str
        payload: dict[str, Any]
        meta: dict[str, Any]

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Stream)
            aggregate.recorded += 1

    def __init__(self) -> None:
        self.recorded = 0

    def record(self, event_type: str, payload: dict[str, Any], meta: dict[str, Any]) -> None:
        self.trigger_event(self.Recorded, event_type=event_type, payload=payload, meta=meta)


async def run_theirs_application(turns: list[Turn], directory: Path) -> float:
    """Seconds for an eventsourcing Application on SQLite to save every turn's aggregates."""
    name = str(directory / "eventsourcing-app.sqlite")
    app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": name})
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    datastore.pool = NormalSyncPool(db_name=name)
    streams = {stream: Stream() for stream, *_ in turns[0]}
    app.save(*streams.values())  # the aggregates exist before the clock starts, as ours do
    started = time.perf_counter()
    for events in turns:
        for stream, _kind, event_type, payload, meta in events:
            streams[stream].record(event_type, payload, meta)
        await asyncio.to_thread(app.save, *streams.values())
    elapsed = time.perf_counter() - started
    assert all(s.recorded == len(turns) for s in streams.values())
    app.close()
    return elapsed


Runner = Callable[[list[Turn], Path], Coroutine[Any, Any, float]]

RUNNERS: dict[str, Runner] = {
    "dramatis SQLiteEventStore (aiosqlite)": run_ours,
    "eventsourcing recorder via asyncio.to_thread": run_theirs_in_thread,
    "eventsourcing recorder inline (blocks the loop)": run_theirs_inline,
    "eventsourcing Application.save via asyncio.to_thread": run_theirs_application,
}


async def main(turn_count: int, repeats: int) -> None:
    turns = make_turns(turn_count)
    sizes = JSONTranscoder()
    big = len(sizes.encode(turns[0][0][3]))
    small = statistics.mean(len(sizes.encode(event[3])) for event in turns[0][1:])
    timings: dict[str, list[float]] = {name: [] for name in RUNNERS}
    for _ in range(repeats):
        for name, runner in RUNNERS.items():
            with tempfile.TemporaryDirectory(prefix="dramatis-bench-") as directory:
                timings[name].append(await runner(turns, Path(directory)))

    events = turn_count * (PERSONAS + 1)
    print(
        f"{turn_count} turns, each one transaction of {PERSONAS + 1} events "
        f"(TurnAdvanced {big} B + {PERSONAS} x DecisionRecorded ~{small:.0f} B of JSON)"
    )
    print("both stores: SQLite file in a temp dir, journal_mode=WAL, synchronous=NORMAL")
    print("eventsourcing path: SQLiteApplicationRecorder.insert_events, JSONTranscoder states")
    print(f"median of {repeats} interleaved runs\n")
    print(f"{'':50} {'turns/s':>10} {'events/s':>10}   runs (s)")
    rates = {}
    for name, runs in timings.items():
        median = statistics.median(runs)
        rates[name] = turn_count / median
        listed = ", ".join(f"{run:.3f}" for run in runs)
        print(f"{name:50} {turn_count / median:10.0f} {events / median:10.0f}   {listed}")
    ours, in_thread, inline, application = (rates[name] for name in RUNNERS)
    print()
    print(f"ratio ours/theirs, their Application.save (same batches):  {ours / application:.2f}")
    print(f"ratio ours/theirs, both called from asyncio off the loop: {ours / in_thread:.2f}")
    print(f"ratio ours/theirs, theirs called inline:                  {ours / inline:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000, help="turns to append (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per store (default 3)")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.turns, arguments.repeats))
