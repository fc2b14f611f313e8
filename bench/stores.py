"""The SQLite and PostgreSQL event stores on the same workloads, measured side by side in one run.

(a) appends per second: one writer; N writers on N campaigns in one event loop (one store
    object each, as N SSH sessions of one host have); N writers in N OS processes (as N hosts,
    or N one-shot commands, have). Each append is one turn as the services write it: one
    TurnAdvanced on the campaign stream plus four DecisionRecorded on the persona streams, in
    one ``store.append([...])`` call (about 3.7 KB of JSON).
(b) replay: ``read_all()`` of a whole log (``--replay-turns`` turns over campaigns of 2,000 turns)
    and ``read_stream`` of one 2,000-turn campaign.
(c) live-update latency, from the start of an append on one connection to the wake-up of a
    follower on another: PostgreSQL LISTEN/NOTIFY against the SQLite polling notifier (0.25 s
    interval, what a follower in another process gets), plus the in-process announcement one
    SSH host gives its own sessions.

Each run writes a fresh SQLite file in a temp dir and a fresh PostgreSQL schema, dropped at the
end (also on error or ctrl+c).

    python bench/stores.py [--turns 2000] [--writers 8] [--replay-turns 20000] [--rounds 25]
                           [--dsn postgresql://postgres@127.0.0.1:5432/test] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import secrets
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from dramatis.adapters.announcing_store import AnnouncingEventStore
from dramatis.adapters.poll_notify import PollingNotifier
from dramatis.adapters.postgres_notify import PostgresNotifier
from dramatis.adapters.postgres_store import PostgresEventStore
from dramatis.adapters.sqlite_store import SQLiteEventStore
from dramatis.ports import EventStore, NewEvent, Notifier, StreamAppend

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PERSONAS = 4
CAMPAIGN_TURNS = 2000  # turns per campaign in the replay log
FILL_BATCH = 20  # turns per append while filling the replay log (100 events)


# ------------------------------------------------------------------ workload


@dataclass(frozen=True)
class Target:
    """Where one engine's stores live: a SQLite file, or a DSN and schema."""

    engine: str  # "sqlite" or "postgres"
    location: str  # file path or DSN
    schema: str = ""

    def store(self, tenant: str) -> EventStore:
        if self.engine == "sqlite":
            return SQLiteEventStore(self.location, tenant)
        return PostgresEventStore(self.location, tenant, schema=self.schema)


def personas_of(campaign: str) -> list[str]:
    return [f"{campaign}-persona-{index}" for index in range(PERSONAS)]


def turn_events(campaign: str, number: int) -> list[tuple[str, str, NewEvent]]:
    """One turn's events as (stream_id, stream_type, event), with service-like payloads."""
    personas = personas_of(campaign)
    meta = {"actor": "director", "correlation_id": f"{campaign}:{number}"}
    stamp = f"2026-11-25T12:{number // 60 % 60:02d}:{number % 60:02d}.000000Z"
    actions = [
        {
            "persona_id": pid,
            "action": "negotiate",
            "target": personas[(index + 1) % PERSONAS],
            "outcome": "success" if (number + index) % 3 else "failure",
            "summary": f"turn {number}: {pid} pressed for the debt to be settled at the ford",
            "roll": (number * 7 + index * 13) % 20 + 1,
            "consequence": "trust shifts; the ferryman remembers who paid and who stalled",
        }
        for index, pid in enumerate(personas)
    ]
    ledger = {
        "campaign_id": campaign,
        "turn_number": number,
        "timestamp": stamp,
        "duration_seconds": 0.25,
        "action_log": actions,
        "world": {"tension": number % 10, "location": "the salt road", "clues": ["ledger"]},
    }
    events = [(campaign, "campaign", NewEvent("TurnAdvanced", ledger, metadata=meta))]
    for index, pid in enumerate(personas):
        decision = {
            "campaign_id": campaign,
            "turn": number,
            "action": "negotiate",
            "target": personas[(index + 1) % PERSONAS],
            "reasoning": (
                "The debt is old and the river is rising; better a bad bargain today than "
                "a drowned caravan tomorrow. Bram will bluster, but he counts coins twice."
            ),
            "provenance": {"source": "offline", "model": None, "latency_ms": 0.4},
            "weights": {"caution": 0.4, "greed": 0.25, "loyalty": 0.35},
            "recorded_at": stamp,
        }
        events.append((pid, "persona", NewEvent("DecisionRecorded", decision, metadata=meta)))
    return events


def turn(campaign: str, number: int) -> list[StreamAppend]:
    """Turn ``number`` (1-based) of ``campaign``: every stream is at ``number - 1`` before it."""
    return [
        StreamAppend(stream, kind, number - 1, [event])
        for stream, kind, event in turn_events(campaign, number)
    ]


def turns_batch(campaign: str, first: int, count: int) -> list[StreamAppend]:
    """Turns ``first``..``first + count - 1`` in one append (each stream's events together)."""
    per_stream: dict[str, tuple[str, list[NewEvent]]] = {}
    for number in range(first, first + count):
        for stream, kind, event in turn_events(campaign, number):
            per_stream.setdefault(stream, (kind, []))[1].append(event)
    return [
        StreamAppend(stream, kind, first - 1, events)
        for stream, (kind, events) in per_stream.items()
    ]


async def write_turns(store: EventStore, campaign: str, count: int) -> None:
    for number in range(1, count + 1):
        await store.append(turn(campaign, number))


# ------------------------------------------------------------------ (a) appends


async def appends_one_loop(target: Target, tenant: str, writers: int, turns: int) -> float:
    """Turns per second: ``writers`` store objects in this event loop, one campaign each."""
    per_writer = max(1, turns // writers)
    stores = [target.store(tenant) for _ in range(writers)]
    for store in stores:
        await store.open()
    try:
        started = time.perf_counter()
        await asyncio.gather(
            *(write_turns(store, f"c{index}", per_writer) for index, store in enumerate(stores))
        )
        elapsed = time.perf_counter() - started
        assert len(await stores[0].read_all()) == writers * per_writer * (PERSONAS + 1)
    finally:
        for store in stores:
            await store.close()
    return writers * per_writer / elapsed


def _process_writer(
    target: Target, tenant: str, campaign: str, turns: int, barrier: Any
) -> tuple[float, float]:
    """Child process: open a store, wait for the others, append; returns (start, end)."""

    async def run() -> tuple[float, float]:
        store = target.store(tenant)
        await store.open()
        try:
            await asyncio.to_thread(barrier.wait)
            started = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
            await write_turns(store, campaign, turns)
            return started, time.perf_counter()
        finally:
            await store.close()

    return asyncio.run(run())


def appends_processes(target: Target, tenant: str, writers: int, turns: int) -> float:
    """Turns per second: ``writers`` OS processes, one store and one campaign each (wall clock
    from the first start to the last finish; process start-up and imports are not counted)."""
    per_writer = max(1, turns // writers)
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(writers)
        with context.Pool(writers) as pool:
            spans = pool.starmap(
                _process_writer,
                [(target, tenant, f"p{index}", per_writer, barrier) for index in range(writers)],
            )
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return writers * per_writer / elapsed


# ------------------------------------------------------------------ (b) replay


async def replay(target: Target, tenant: str, turns: int, repeats: int) -> tuple[float, float]:
    """Seconds for one read_all() of a log of ``turns`` turns (campaigns of CAMPAIGN_TURNS),
    and the median seconds of ``repeats`` read_stream calls for one campaign."""
    campaigns = turns // CAMPAIGN_TURNS
    store = target.store(tenant)
    await store.open()
    try:
        for index in range(campaigns):
            for first in range(1, CAMPAIGN_TURNS + 1, FILL_BATCH):
                count = min(FILL_BATCH, CAMPAIGN_TURNS + 1 - first)
                await store.append(turns_batch(f"r{index}", first, count))
        started = time.perf_counter()
        events = await store.read_all()
        whole = time.perf_counter() - started
        assert len(events) == campaigns * CAMPAIGN_TURNS * (PERSONAS + 1)
        del events
        one = []
        for _ in range(repeats):
            started = time.perf_counter()
            events = await store.read_stream("r0")
            one.append(time.perf_counter() - started)
            assert len(events) == CAMPAIGN_TURNS
    finally:
        await store.close()
    return whole, statistics.median(one)


# ------------------------------------------------------------------ (c) live updates


Latency = tuple[float, float]  # median seconds from the append's start, and from its return


async def wake_latency(
    writer: EventStore, notifier: Notifier, campaign: str, rounds: int, jitter: float
) -> Latency:
    """How long after an append by ``writer`` a follower waiting on ``notifier`` wakes: the
    median from the start of the append (what another player waits) and from its return (the
    notifier's own delay; about 0 when the notice arrives with the commit).

    Before each append the follower is already waiting; a random pause of up to ``jitter``
    seconds keeps the appends out of step with any polling.
    """
    from_start, from_return = [], []
    for number in range(1, rounds + 2):  # the first round warms up (connects, listens)
        after = await writer.last_position()
        woke: list[float] = []

        async def follow(after: int = after, woke: list[float] = woke) -> None:
            if not await notifier.wait_for_append(after, timeout=10):
                raise RuntimeError("the follower was not woken within 10 s")
            woke.append(time.perf_counter())

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.05 + random.uniform(0, jitter))
        started = time.perf_counter()
        await writer.append(turn(campaign, number))
        returned = time.perf_counter()
        await follower
        if number > 1:
            from_start.append(woke[0] - started)
            from_return.append(max(0.0, woke[0] - returned))
    return statistics.median(from_start), statistics.median(from_return)


async def latency_postgres(target: Target, tenant: str, rounds: int) -> Latency:
    notifier = PostgresNotifier(target.location, tenant, schema=target.schema)
    try:
        async with PostgresEventStore(target.location, tenant, schema=target.schema) as writer:
            return await wake_latency(writer, notifier, "n0", rounds, 0.05)
    finally:
        await notifier.close()


async def latency_sqlite_poll(target: Target, tenant: str, rounds: int) -> Latency:
    """Follower and writer on separate connections, nothing announced: as another process."""
    async with SQLiteEventStore(target.location, tenant) as follower_store:
        notifier = PollingNotifier(follower_store.last_position)
        async with SQLiteEventStore(target.location, tenant) as writer:
            return await wake_latency(writer, notifier, "n0", rounds, notifier.interval)


async def latency_sqlite_announced(target: Target, tenant: str, rounds: int) -> Latency:
    """Writer and follower in one process: the announcing store wakes the follower."""
    async with SQLiteEventStore(target.location, tenant) as inner:
        notifier = PollingNotifier(inner.last_position)
        writer = AnnouncingEventStore(inner, notifier)
        return await wake_latency(writer, notifier, "n0", rounds, 0.05)


# ------------------------------------------------------------------ running it


@dataclass
class Row:
    label: str
    unit: str
    sqlite: float
    postgres: float
    higher_is_better: bool


def with_options(dsn: str, options: str) -> str:
    """``dsn`` with libpq ``options`` (server settings for its sessions) added."""
    return f"{dsn}{'&' if '?' in dsn else '?'}options={quote(options)}"


async def create_schema(dsn: str) -> str:
    schema = f"bench_{secrets.token_hex(4)}"
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    return schema


async def drop_schema(dsn: str, schema: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema))
        )


async def server_version(dsn: str) -> str:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cursor = await conn.execute("SHOW server_version")
        row = await cursor.fetchone()
        return str(row[0]) if row else "?"


async def measure(args: argparse.Namespace, lite: Target, pg: Target) -> list[Row]:
    rows: list[Row] = []

    async def both(
        label: str, unit: str, run: Callable[[Target], Awaitable[float]], higher: bool
    ) -> None:
        values = [await run(target) for target in (lite, pg)]
        rows.append(Row(label, unit, values[0], values[1], higher))
        print(f"  measured: {label}", flush=True)

    await both(
        "appends, 1 writer",
        "turns/s",
        lambda t: appends_one_loop(t, "w1", 1, args.turns),
        True,
    )
    # SQLite in WAL with synchronous=NORMAL does not fsync each commit (a power cut may lose
    # the last commits, never corrupt); PostgreSQL does unless synchronous_commit is off.
    relaxed = Target("postgres", with_options(pg.location, "-c synchronous_commit=off"), pg.schema)
    rows.append(
        Row(
            "appends, 1 writer, PG synchronous_commit=off",
            "turns/s",
            rows[-1].sqlite,
            await appends_one_loop(relaxed, "w1off", 1, args.turns),
            True,
        )
    )
    await both(
        f"appends, {args.writers} writers in 1 event loop",
        "turns/s",
        lambda t: appends_one_loop(t, f"w{args.writers}", args.writers, args.turns),
        True,
    )
    if args.processes:

        async def in_processes(target: Target) -> float:
            return await asyncio.to_thread(
                appends_processes, target, f"p{args.writers}", args.writers, args.turns
            )

        await both(f"appends, {args.writers} OS processes", "turns/s", in_processes, True)

    replays = {
        target.engine: await replay(target, "replay", args.replay_turns, 5) for target in (lite, pg)
    }
    rows.append(
        Row(
            f"read_all, {args.replay_turns} turns",
            "s",
            replays["sqlite"][0],
            replays["postgres"][0],
            False,
        )
    )
    rows.append(
        Row(
            f"read_stream, one {CAMPAIGN_TURNS}-turn campaign",
            "ms",
            replays["sqlite"][1] * 1000,
            replays["postgres"][1] * 1000,
            False,
        )
    )
    print("  measured: replay", flush=True)

    poll = await latency_sqlite_poll(lite, "np", args.rounds)
    announced = await latency_sqlite_announced(lite, "na", args.rounds)
    notify = await latency_postgres(pg, "nn", args.rounds)
    for label, (lite_wake, pg_wake) in {
        "wake-up from append start, other process": (poll[0], notify[0]),
        "wake-up after append returned, other process": (poll[1], notify[1]),
        "wake-up from append start, same process": (announced[0], notify[0]),
    }.items():
        rows.append(Row(label, "ms", lite_wake * 1000, pg_wake * 1000, False))
    print("  measured: live updates", flush=True)
    return rows


def print_table(rows: Sequence[Row]) -> None:
    print(f"\n{'':46} {'unit':>8} {'SQLite':>10} {'PostgreSQL':>11} {'PG/SQLite':>10}")
    for row in rows:
        ratio = row.postgres / row.sqlite if row.sqlite else float("nan")
        print(f"{row.label:46} {row.unit:>8} {row.sqlite:10.1f} {row.postgres:11.1f} {ratio:10.2f}")
    print(
        "\nPG/SQLite above 1 means PostgreSQL is higher: better for turns/s, worse for times."
        "\nsynchronous_commit=off: PostgreSQL without an fsync per commit, as SQLite runs"
        "\n(WAL, synchronous=NORMAL); the other PostgreSQL rows fsync every commit."
        "\nwake-up: SQLite polls every 0.25 s from another process; within one process (one SSH"
        "\nhost) its announcing store wakes followers at once. PostgreSQL's column is NOTIFY"
        "\nevery time (any process, any host)."
    )


async def main(args: argparse.Namespace) -> None:
    version = await server_version(args.dsn)
    print(
        f"machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
    print(
        f"SQLite {sqlite3.sqlite_version} (temp file, WAL, synchronous=NORMAL); "
        f"PostgreSQL {version} at {args.dsn.split('@')[-1]} (psycopg {psycopg.__version__})"
    )
    print(
        f"turn = 1 append of {PERSONAS + 1} events; appends: {args.turns} turns per case; "
        f"{args.writers} writers; replay log {args.replay_turns} turns; "
        f"wake-up: median of {args.rounds}\n"
    )
    schema = await create_schema(args.dsn)
    try:
        with tempfile.TemporaryDirectory(prefix="dramatis-bench-") as directory:
            lite = Target("sqlite", str(Path(directory) / "bench.db"))
            pg = Target("postgres", args.dsn, schema)
            rows = await measure(args, lite, pg)
    finally:
        await drop_schema(args.dsn, schema)
    print_table(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=2000, help="turns per append case")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument(
        "--replay-turns",
        type=int,
        default=20_000,
        help=f"turns in the replay log (rounded to campaigns of {CAMPAIGN_TURNS})",
    )
    parser.add_argument("--rounds", type=int, default=25, help="wake-ups to take the median of")
    parser.add_argument("--dsn", default=DEFAULT_DSN, help="a PostgreSQL DSN (a schema is made)")
    parser.add_argument(
        "--no-processes", dest="processes", action="store_false", help="skip the process case"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    arguments = parser.parse_args()
    arguments.replay_turns = max(1, arguments.replay_turns // CAMPAIGN_TURNS) * CAMPAIGN_TURNS
    if arguments.quick:
        arguments.turns, arguments.replay_turns, arguments.rounds = 400, 4000, 8
    asyncio.run(main(arguments))
