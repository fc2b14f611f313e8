"""The event store contract: one abstract test class every EventStore implementation subclasses.

A subclass sets ``__test__ = True`` and implements:

* ``make_store(tenant_id, **options)``: a new, unopened store bound to ``tenant_id`` on the
  test's current database (stores made for different tenants in one test share that database);
* ``new_database()``: point later ``make_store`` calls at a new, empty database (the stateful
  test uses one per example);
* optionally ``cleanup()``, awaited after every test once the stores are closed.

This module has no ``test_`` prefix, so pytest collects the contract only through subclasses.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dramatis.ports import (
    ConcurrencyError,
    EventStore,
    IdempotencyConflict,
    IdempotencyRecord,
    NewEvent,
    RecordedEvent,
    Snapshot,
    StoreError,
    StreamAppend,
    StreamNotFound,
)

TENANT_A = "tenant-a"
TENANT_B = "tenant-b"


def event(n: int, event_type: str = "Happened", **metadata: Any) -> NewEvent:
    return NewEvent(event_type, {"n": n, "text": f"event {n}"}, metadata=dict(metadata))


def one(
    stream_id: str, expected: int, *events: NewEvent, stream_type: str = "thing"
) -> StreamAppend:
    return StreamAppend(stream_id, stream_type, expected, list(events))


def turn(number: int, personas: list[str], versions: dict[str, int]) -> list[StreamAppend]:
    """A turn as the services write it: TurnAdvanced plus one DecisionRecorded per persona."""
    meta = {"actor": "director", "correlation_id": f"c-1:{number}"}
    appends = [
        StreamAppend(
            "c-1",
            "campaign",
            versions.get("c-1", 0),
            [NewEvent("TurnAdvanced", {"turn": number}, metadata=meta)],
        )
    ]
    for persona in personas:
        appends.append(
            StreamAppend(
                persona,
                "persona",
                versions.get(persona, 0),
                [NewEvent("DecisionRecorded", {"turn": number, "persona": persona}, metadata=meta)],
            )
        )
    return appends


class EventStoreContract:
    """Behaviour every EventStore must have. Subclasses provide the stores."""

    __test__ = False

    async def make_store(self, tenant_id: str, **options: Any) -> EventStore:
        """A new, unopened store for ``tenant_id`` on this test's current database."""
        raise NotImplementedError

    def new_database(self) -> None:
        """Make later ``make_store`` calls use a new, empty database."""
        raise NotImplementedError

    async def cleanup(self) -> None:
        """Release what the subclass set up for one test (stores are already closed)."""

    @pytest.fixture(autouse=True)
    async def _close_stores(self) -> AsyncIterator[None]:
        self._opened: list[EventStore] = []
        yield
        for store in self._opened:
            await store.close()
        await self.cleanup()

    async def store(self, tenant_id: str = TENANT_A, **options: Any) -> EventStore:
        """An open store on this test's database, closed after the test."""
        store = await self.make_store(tenant_id, **options)
        await store.open()
        self._opened.append(store)
        return store

    # ------------------------------------------------------------------ round trip

    async def test_round_trip_keeps_every_field(self) -> None:
        store = await self.store()
        assert isinstance(store, EventStore)
        assert store.tenant_id == TENANT_A
        before = datetime.now(UTC)
        payload = {"name": "Ana", "nested": {"list": [1, 2.5, None, True], "ü": "naïve ✓"}}
        metadata = {"actor": "director", "causation_id": "x-1", "correlation_id": "y-2"}
        written = await store.append(
            [
                StreamAppend(
                    "c-1",
                    "campaign",
                    0,
                    [NewEvent("CampaignCreated", payload, schema_version=3, metadata=metadata)],
                )
            ]
        )
        after = datetime.now(UTC)

        [record] = await store.read_stream("c-1")
        assert record == written[0]
        assert record.tenant_id == TENANT_A
        assert record.stream_id == "c-1"
        assert record.stream_type == "campaign"
        assert record.version == 1
        assert record.event_type == "CampaignCreated"
        assert record.schema_version == 3
        assert record.payload == payload
        assert record.metadata == metadata
        assert record.position >= 1
        recorded = datetime.fromisoformat(record.recorded_at)
        assert recorded.utcoffset() is not None
        assert recorded.utcoffset().total_seconds() == 0
        assert before <= recorded <= after

    async def test_reads_return_fresh_values_not_shared_state(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1))])
        first = await store.read_stream("s-1")
        first[0].payload["n"] = "changed by a reader"
        again = await store.read_stream("s-1")
        assert again[0].payload == {"n": 1, "text": "event 1"}

    async def test_versions_are_contiguous_from_one(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1), event(2))])
        await store.append([one("s-1", 2, event(3))])
        await store.append([one("s-1", 3, event(4), event(5), event(6))])
        records = await store.read_stream("s-1")
        assert [r.version for r in records] == [1, 2, 3, 4, 5, 6]
        assert [r.payload["n"] for r in records] == [1, 2, 3, 4, 5, 6]
        assert await store.stream_version("s-1") == 6

    async def test_append_returns_the_records_as_stored(self) -> None:
        store = await self.store()
        written = await store.append([one("s-1", 0, event(1)), one("s-2", 0, event(2), event(3))])
        assert [(r.stream_id, r.version) for r in written] == [("s-1", 1), ("s-2", 1), ("s-2", 2)]
        assert written == await store.read_all()
        assert len({r.recorded_at for r in written}) == 1

    async def test_read_stream_after_version(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1), event(2), event(3))])
        assert [r.version for r in await store.read_stream("s-1", after_version=1)] == [2, 3]
        assert await store.read_stream("s-1", after_version=3) == []
        assert await store.read_stream("s-1", after_version=10) == []
        with pytest.raises(ValueError, match="after_version"):
            await store.read_stream("s-1", after_version=-1)
        with pytest.raises(StreamNotFound):
            await store.read_stream("nope", after_version=2)

    async def test_unknown_stream(self) -> None:
        store = await self.store()
        assert await store.stream_version("nope") == 0
        with pytest.raises(StreamNotFound, match="nope"):
            await store.read_stream("nope")
        assert await store.last_position() == 0
        assert await store.read_all() == []

    # ------------------------------------------------------------------ concurrency

    @pytest.mark.parametrize("expected", [0, 1, 3])
    async def test_expected_version_mismatch_writes_nothing(self, expected: int) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1), event(2))])
        position = await store.last_position()
        with pytest.raises(ConcurrencyError) as caught:
            await store.append([one("s-1", expected, event(9))])
        message = str(caught.value)
        assert "'s-1'" in message
        assert f"expected {expected}" in message
        assert "version 2" in message
        assert [r.payload["n"] for r in await store.read_stream("s-1")] == [1, 2]
        assert await store.last_position() == position

    async def test_new_stream_expected_above_zero_is_a_conflict(self) -> None:
        store = await self.store()
        with pytest.raises(ConcurrencyError, match="'s-1'"):
            await store.append([one("s-1", 1, event(1))])
        with pytest.raises(StreamNotFound):
            await store.read_stream("s-1")

    async def test_one_stale_stream_aborts_the_whole_turn(self) -> None:
        store = await self.store()
        await store.append(turn(1, ["p-1", "p-2"], {}))
        versions = {"c-1": 1, "p-1": 1, "p-2": 1}
        position = await store.last_position()
        stale = turn(2, ["p-1", "p-2", "p-3"], {**versions, "p-2": 0})
        with pytest.raises(ConcurrencyError, match="'p-2'"):
            await store.append(stale)
        assert await store.stream_version("c-1") == 1
        assert await store.stream_version("p-1") == 1
        assert await store.stream_version("p-2") == 1
        with pytest.raises(StreamNotFound):
            await store.read_stream("p-3")
        assert await store.last_position() == position
        assert len(await store.read_all()) == 3

    async def test_an_append_without_events_asserts_the_version(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1))])
        with pytest.raises(ConcurrencyError, match="'s-1'"):
            await store.append([one("s-1", 0), one("s-2", 0, event(2))])
        with pytest.raises(StreamNotFound):
            await store.read_stream("s-2")
        written = await store.append([one("s-1", 1), one("s-2", 0, event(2))])
        assert [(r.stream_id, r.version) for r in written] == [("s-2", 1)]
        with pytest.raises(StreamNotFound):
            await store.read_stream("never")
        await store.append([one("never", 0)])
        with pytest.raises(StreamNotFound):
            await store.read_stream("never")

    async def test_two_writers_race_for_the_same_stream(self) -> None:
        first = await self.store(TENANT_A)
        second = await self.store(TENANT_A)
        for round_ in range(5):
            stream = f"race-{round_}"
            results = await asyncio.gather(
                first.append([one(stream, 0, NewEvent("Wrote", {"writer": "first"}))]),
                second.append([one(stream, 0, NewEvent("Wrote", {"writer": "second"}))]),
                return_exceptions=True,
            )
            winners = [
                name
                for name, r in zip(("first", "second"), results, strict=True)
                if isinstance(r, list)
            ]
            errors = [r for r in results if isinstance(r, BaseException)]
            assert len(winners) == 1, results
            assert len(errors) == 1 and isinstance(errors[0], ConcurrencyError), results
            for reader in (first, second):
                stored = await reader.read_stream(stream)
                assert [r.payload for r in stored] == [{"writer": winners[0]}]

    async def test_two_writers_race_for_a_whole_turn(self) -> None:
        first = await self.store(TENANT_A)
        second = await self.store(TENANT_A)
        await first.append(turn(1, ["p-1", "p-2"], {}))
        versions = {"c-1": 1, "p-1": 1, "p-2": 1}
        results = await asyncio.gather(
            first.append(turn(2, ["p-1", "p-2"], versions)),
            second.append(turn(2, ["p-1", "p-2"], versions)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, list) for r in results) == 1, results
        assert sum(isinstance(r, ConcurrencyError) for r in results) == 1, results
        for stream in ("c-1", "p-1", "p-2"):
            assert await first.stream_version(stream) == 2
        assert len(await second.read_all()) == 6

    async def test_two_writers_race_with_idempotency_keys(self) -> None:
        first = await self.store(TENANT_A)
        second = await self.store(TENANT_A)
        results = await asyncio.gather(
            first.append(
                [one("s-1", 0, event(1))], IdempotencyRecord("k-first", "h-1", {"by": "first"})
            ),
            second.append(
                [one("s-1", 0, event(2))], IdempotencyRecord("k-second", "h-2", {"by": "second"})
            ),
            return_exceptions=True,
        )
        assert sum(isinstance(r, list) for r in results) == 1, results
        assert sum(isinstance(r, ConcurrencyError) for r in results) == 1, results
        winner = "first" if isinstance(results[0], list) else "second"
        loser = "second" if winner == "first" else "first"
        assert await first.get_idempotency(f"k-{winner}") is not None
        assert await first.get_idempotency(f"k-{loser}") is None
        assert [r.payload["n"] for r in await second.read_stream("s-1")] == [
            1 if winner == "first" else 2
        ]

    # ------------------------------------------------------------------ global positions

    async def test_positions_increase_across_streams_and_read_all_pages(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1), event(2))])
        await store.append([one("s-2", 0, event(3))])
        await store.append([one("s-1", 2, event(4)), one("s-3", 0, event(5))])
        everything = await store.read_all()
        positions = [r.position for r in everything]
        assert positions == sorted(positions)
        assert len(set(positions)) == 5
        assert [r.payload["n"] for r in everything] == [1, 2, 3, 4, 5]
        assert await store.last_position() == positions[-1]

        assert await store.read_all(after_position=positions[1]) == everything[2:]
        assert await store.read_all(after_position=positions[1], limit=2) == everything[2:4]
        assert await store.read_all(limit=1) == everything[:1]
        assert await store.read_all(limit=0) == []
        assert await store.read_all(after_position=positions[-1]) == []
        with pytest.raises(ValueError, match="limit"):
            await store.read_all(limit=-1)

        later = await store.append([one("s-2", 1, event(6))])
        assert later[0].position > positions[-1]
        assert await store.read_all(after_position=positions[-1]) == later

    # ------------------------------------------------------------------ snapshots

    async def test_snapshots_latest_wins(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, *(event(n) for n in range(1, 6)))])
        assert await store.load_snapshot("s-1") is None
        await store.save_snapshot(Snapshot("s-1", 2, {"total": 3}))
        await store.save_snapshot(Snapshot("s-1", 4, {"total": 10}))
        assert await store.load_snapshot("s-1") == Snapshot("s-1", 4, {"total": 10})
        await store.save_snapshot(Snapshot("s-1", 3, {"total": 6}))
        assert await store.load_snapshot("s-1") == Snapshot("s-1", 4, {"total": 10})
        await store.save_snapshot(Snapshot("s-1", 4, {"total": 10, "again": True}))
        assert await store.load_snapshot("s-1") == Snapshot("s-1", 4, {"total": 10, "again": True})
        await store.save_snapshot(Snapshot("s-1", 5, {"total": 15}))
        assert await store.load_snapshot("s-1") == Snapshot("s-1", 5, {"total": 15})

    async def test_snapshot_must_match_the_stream(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1), event(2))])
        with pytest.raises(StreamNotFound):
            await store.save_snapshot(Snapshot("nope", 1, {}))
        with pytest.raises(ValueError, match="beyond"):
            await store.save_snapshot(Snapshot("s-1", 3, {}))
        with pytest.raises(ValueError, match=">= 1"):
            await store.save_snapshot(Snapshot("s-1", 0, {}))
        assert await store.load_snapshot("s-1") is None
        assert await store.load_snapshot("nope") is None

    # ------------------------------------------------------------------ idempotency

    async def test_idempotency_record_is_stored_with_the_events(self) -> None:
        store = await self.store()
        record = IdempotencyRecord("key-1", "hash-1", {"campaign_id": "c-1", "turns": [1, 2]})
        written = await store.append([one("s-1", 0, event(1))], record)
        assert len(written) == 1
        assert await store.get_idempotency("key-1") == record
        assert await store.get_idempotency("key-2") is None

    async def test_idempotency_record_rolls_back_with_a_stale_append(self) -> None:
        store = await self.store()
        await store.append([one("s-1", 0, event(1))])
        with pytest.raises(ConcurrencyError):
            await store.append(
                [one("s-2", 0, event(2)), one("s-1", 0, event(3))],
                IdempotencyRecord("key-1", "hash-1", {}),
            )
        assert await store.get_idempotency("key-1") is None
        assert await store.stream_version("s-2") == 0
        assert await store.stream_version("s-1") == 1

    async def test_same_key_other_command_is_a_conflict(self) -> None:
        store = await self.store()
        await store.append(
            [one("s-1", 0, event(1))], IdempotencyRecord("key-1", "hash-1", {"a": 1})
        )
        position = await store.last_position()
        with pytest.raises(IdempotencyConflict, match="key-1"):
            await store.append(
                [one("s-1", 1, event(2))], IdempotencyRecord("key-1", "hash-2", {"a": 2})
            )
        assert await store.last_position() == position
        assert await store.get_idempotency("key-1") == IdempotencyRecord(
            "key-1", "hash-1", {"a": 1}
        )

    async def test_same_key_same_command_is_a_no_op(self) -> None:
        store = await self.store()
        record = IdempotencyRecord("key-1", "hash-1", {"a": 1})
        await store.append([one("s-1", 0, event(1))], record)
        repeat = await store.append([one("s-1", 1, event(2))], record)
        assert repeat == []
        assert await store.stream_version("s-1") == 1
        assert await store.get_idempotency("key-1") == record

    async def test_a_retried_command_is_a_no_op_even_after_the_stream_moved(self) -> None:
        store = await self.store()
        record = IdempotencyRecord("key-1", "hash-1", {"version": 1})
        await store.append([one("s-1", 0, event(1))], record)
        await store.append([one("s-1", 1, event(2))])
        assert await store.append([one("s-1", 0, event(1))], record) == []
        assert await store.stream_version("s-1") == 2

    async def test_values_json_cannot_hold_are_refused_before_writing(self) -> None:
        store = await self.store()
        with pytest.raises(TypeError):
            await store.append([one("s-1", 0, event(1))], IdempotencyRecord("k", "h", {"x": {1}}))
        assert await store.get_idempotency("k") is None
        assert await store.stream_version("s-1") == 0
        await store.append([one("s-1", 0, event(1))])
        with pytest.raises(TypeError):
            await store.save_snapshot(Snapshot("s-1", 1, {"x": object()}))
        assert await store.load_snapshot("s-1") is None

    async def test_idempotency_record_without_events(self) -> None:
        store = await self.store()
        record = IdempotencyRecord("key-1", "hash-1", {"turns": 3})
        assert await store.append([], record) == []
        assert await store.get_idempotency("key-1") == record
        assert await store.last_position() == 0
        assert await store.append([]) == []

    # ------------------------------------------------------------------ tenancy

    async def test_tenants_with_the_same_stream_id_see_only_their_own(self) -> None:
        a = await self.store(TENANT_A)
        b = await self.store(TENANT_B)
        await a.append([one("s-1", 0, NewEvent("Wrote", {"by": "a"}))])
        await b.append(
            [one("s-1", 0, NewEvent("Wrote", {"by": "b"}), NewEvent("Wrote", {"by": "b"}))]
        )
        await a.append([one("s-1", 1, NewEvent("Wrote", {"by": "a"}))])
        assert [(r.version, r.payload["by"], r.tenant_id) for r in await a.read_stream("s-1")] == [
            (1, "a", TENANT_A),
            (2, "a", TENANT_A),
        ]
        assert [(r.version, r.payload["by"], r.tenant_id) for r in await b.read_stream("s-1")] == [
            (1, "b", TENANT_B),
            (2, "b", TENANT_B),
        ]
        assert await a.stream_version("s-1") == 2
        assert await b.stream_version("s-1") == 2

    async def test_another_tenants_stream_is_not_found_both_ways(self) -> None:
        a = await self.store(TENANT_A)
        b = await self.store(TENANT_B)
        await a.append([one("a-only", 0, event(1))])
        await b.append([one("b-only", 0, event(2))])
        with pytest.raises(StreamNotFound) as hidden:
            await b.read_stream("a-only")
        with pytest.raises(StreamNotFound) as missing:
            await b.read_stream("never-was")
        # The same error for "someone else's" and "nobody's": existence does not leak.
        assert str(hidden.value).replace("a-only", "X") == str(missing.value).replace(
            "never-was", "X"
        )
        with pytest.raises(StreamNotFound):
            await a.read_stream("b-only")
        with pytest.raises(StreamNotFound):
            await b.read_stream("a-only", after_version=1)
        assert await b.stream_version("a-only") == 0
        assert await a.stream_version("b-only") == 0
        with pytest.raises(StreamNotFound):
            await b.save_snapshot(Snapshot("a-only", 1, {}))

    async def test_read_all_never_shows_another_tenant(self) -> None:
        a = await self.store(TENANT_A)
        b = await self.store(TENANT_B)
        await a.append([one("s-1", 0, event(1))])
        await b.append([one("s-1", 0, event(2)), one("s-2", 0, event(3))])
        await a.append([one("s-2", 0, event(4))])
        a_events = await a.read_all()
        b_events = await b.read_all()
        assert {r.tenant_id for r in a_events} == {TENANT_A}
        assert {r.tenant_id for r in b_events} == {TENANT_B}
        assert [r.payload["n"] for r in a_events] == [1, 4]
        assert [r.payload["n"] for r in b_events] == [2, 3]
        assert await a.last_position() == a_events[-1].position
        assert await b.last_position() == b_events[-1].position
        assert await a.read_all(after_position=a_events[0].position, limit=5) == a_events[1:]

    async def test_snapshots_and_idempotency_are_per_tenant(self) -> None:
        a = await self.store(TENANT_A)
        b = await self.store(TENANT_B)
        await a.append([one("s-1", 0, event(1))], IdempotencyRecord("key", "hash-a", {"t": "a"}))
        await b.append([one("s-1", 0, event(2))], IdempotencyRecord("key", "hash-b", {"t": "b"}))
        await a.save_snapshot(Snapshot("s-1", 1, {"t": "a"}))
        assert await b.load_snapshot("s-1") is None
        assert await a.get_idempotency("key") == IdempotencyRecord("key", "hash-a", {"t": "a"})
        assert await b.get_idempotency("key") == IdempotencyRecord("key", "hash-b", {"t": "b"})

    async def test_list_streams_by_type_oldest_first_for_this_tenant(self) -> None:
        a = await self.store(TENANT_A)
        b = await self.store(TENANT_B)
        await a.append(turn(1, ["p-2", "p-1"], {}))
        await b.append([one("p-9", 0, event(1), stream_type="persona")])
        await a.append([one("p-0", 0, event(2), stream_type="persona")])
        await a.append(turn(2, ["p-2", "p-1"], {"c-1": 1, "p-1": 1, "p-2": 1}))
        assert await a.list_streams("persona") == ["p-2", "p-1", "p-0"]
        assert await a.list_streams("campaign") == ["c-1"]
        assert await a.list_streams("chronicle") == []
        assert await b.list_streams("persona") == ["p-9"]
        assert await b.list_streams("campaign") == []

    # ------------------------------------------------------------------ input and lifecycle

    async def test_bad_appends_are_rejected_before_writing(self) -> None:
        store = await self.store()
        with pytest.raises(ValueError, match="twice"):
            await store.append([one("s-1", 0, event(1)), one("s-1", 1, event(2))])
        with pytest.raises(ValueError, match="expected_version"):
            await store.append([one("s-1", -1, event(1))])
        with pytest.raises(ValueError, match="schema_version"):
            await store.append([one("s-1", 0, NewEvent("E", {}, schema_version=0))])
        with pytest.raises(ValueError, match="event_type"):
            await store.append([one("s-1", 0, NewEvent("", {}))])
        with pytest.raises(ValueError, match="stream_id"):
            await store.append([one("", 0, event(1))])
        with pytest.raises(ValueError):
            await store.append([one("s-1", 0, NewEvent("E", {"x": math.nan}))])
        with pytest.raises(TypeError):
            await store.append(
                [one("s-2", 0, event(1)), one("s-1", 0, NewEvent("E", {"x": {1, 2}}))]
            )
        assert await store.last_position() == 0
        assert await store.stream_version("s-2") == 0

    async def test_a_closed_store_refuses_calls_and_a_new_one_sees_the_data(self) -> None:
        store = await self.make_store(TENANT_A)
        with pytest.raises(StoreError, match="not open"):
            await store.read_all()
        async with store as opened:
            assert opened is store
            await store.open()
            await store.append([one("s-1", 0, event(1))])
        with pytest.raises(StoreError, match="not open"):
            await store.append([one("s-1", 1, event(2))])
        await store.close()
        reopened = await self.store(TENANT_A)
        assert [r.payload["n"] for r in await reopened.read_stream("s-1")] == [1]

    # ------------------------------------------------------------------ model-based

    def test_store_matches_a_simple_model(self) -> None:
        """Hypothesis drives the store and a dict-of-lists model with the same operations."""
        run_state_machine_as_test(
            _machine_for(self),
            settings=settings(max_examples=30, stateful_step_count=20, deadline=None),
        )


STREAMS = ("s-1", "s-2", "s-3")

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_payloads = st.dictionaries(st.text(max_size=6), _json, max_size=3)


def _machine_for(contract: EventStoreContract) -> type[RuleBasedStateMachine]:
    class StoreMachine(RuleBasedStateMachine):
        """Tenant A's store against a model; tenant B writes the same stream ids alongside."""

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            contract.new_database()
            self.store = self.run(self._open(TENANT_A))
            self.other = self.run(self._open(TENANT_B))
            self.streams: dict[str, list[dict[str, Any]]] = {}
            self.log: list[tuple[int, str, int, dict[str, Any]]] = []
            self.snapshots: dict[str, Snapshot] = {}
            self.other_versions: dict[str, int] = {}
            self.highest_position = 0

        def run(self, coroutine: Any) -> Any:
            return self.loop.run_until_complete(coroutine)

        @staticmethod
        async def _open(tenant_id: str) -> EventStore:
            store = await contract.make_store(tenant_id)
            await store.open()
            return store

        def teardown(self) -> None:
            try:
                self.run(self.store.close())
                self.run(self.other.close())
            finally:
                self.loop.close()

        def _check_new_records(self, records: list[RecordedEvent]) -> None:
            positions = [r.position for r in records]
            assert positions == sorted(set(positions))
            assert positions[0] > self.highest_position
            self.highest_position = positions[-1]

        @rule(
            streams=st.lists(st.sampled_from(STREAMS), min_size=1, max_size=2, unique=True),
            payloads=st.lists(_payloads, min_size=1, max_size=3),
            stale=st.sampled_from([None, None, -1, 1, 2]),
            stale_index=st.integers(min_value=0, max_value=1),
        )
        def append(
            self,
            streams: list[str],
            payloads: list[dict[str, Any]],
            stale: int | None,
            stale_index: int,
        ) -> None:
            appends = []
            is_stale = False
            for index, stream in enumerate(streams):
                expected = len(self.streams.get(stream, []))
                if stale is not None and index == stale_index % len(streams):
                    expected = expected + stale if expected + stale >= 0 else expected + 1
                    is_stale = True
                appends.append(
                    StreamAppend(stream, "thing", expected, [NewEvent("E", p) for p in payloads])
                )
            if is_stale:
                try:
                    self.run(self.store.append(appends))
                except ConcurrencyError:
                    return
                raise AssertionError("a stale append succeeded")
            records = self.run(self.store.append(appends))
            self._check_new_records(records)
            expected_rows = []
            for stream in streams:
                model = self.streams.setdefault(stream, [])
                for payload in payloads:
                    model.append(payload)
                    expected_rows.append((stream, len(model), payload))
            assert [(r.stream_id, r.version, r.payload) for r in records] == expected_rows
            self.log += [(r.position, r.stream_id, r.version, r.payload) for r in records]

        @rule(stream=st.sampled_from(STREAMS), payload=_payloads)
        def other_tenant_appends(self, stream: str, payload: dict[str, Any]) -> None:
            version = self.other_versions.get(stream, 0)
            records = self.run(self.other.append([one(stream, version, NewEvent("E", payload))]))
            self._check_new_records(records)
            self.other_versions[stream] = version + 1

        @rule(stream=st.sampled_from(STREAMS), after=st.integers(min_value=0, max_value=8))
        def read_stream(self, stream: str, after: int) -> None:
            if stream not in self.streams:
                try:
                    self.run(self.store.read_stream(stream, after_version=after))
                except StreamNotFound:
                    return
                raise AssertionError(f"{stream} should not exist for this tenant")
            records = self.run(self.store.read_stream(stream, after_version=after))
            model = self.streams[stream]
            assert [(r.version, r.payload) for r in records] == [
                (version, payload)
                for version, payload in enumerate(model, start=1)
                if version > after
            ]
            assert {r.tenant_id for r in records} <= {TENANT_A}

        @rule(
            pick=st.integers(min_value=0, max_value=200),
            limit=st.none() | st.integers(min_value=0, max_value=5),
        )
        def read_all(self, pick: int, limit: int | None) -> None:
            after = 0 if not self.log else self.log[pick % len(self.log)][0] - pick % 2
            records = self.run(self.store.read_all(after_position=after, limit=limit))
            expected = [row for row in self.log if row[0] > after]
            if limit is not None:
                expected = expected[:limit]
            assert [(r.position, r.stream_id, r.version, r.payload) for r in records] == expected

        @rule(stream=st.sampled_from(STREAMS), pick=st.integers(min_value=0), state=_payloads)
        def save_snapshot(self, stream: str, pick: int, state: dict[str, Any]) -> None:
            model = self.streams.get(stream)
            if not model:
                try:
                    self.run(self.store.save_snapshot(Snapshot(stream, 1, state)))
                except StreamNotFound:
                    return
                raise AssertionError(f"snapshot of missing stream {stream} was accepted")
            version = 1 + pick % len(model)
            self.run(self.store.save_snapshot(Snapshot(stream, version, state)))
            kept = self.snapshots.get(stream)
            if kept is None or version >= kept.version:
                self.snapshots[stream] = Snapshot(stream, version, state)

        @rule(stream=st.sampled_from(STREAMS))
        def load_snapshot(self, stream: str) -> None:
            assert self.run(self.store.load_snapshot(stream)) == self.snapshots.get(stream)

        @invariant()
        def versions_and_last_position_match(self) -> None:
            for stream in STREAMS:
                expected = len(self.streams.get(stream, []))
                assert self.run(self.store.stream_version(stream)) == expected
            assert self.run(self.store.last_position()) == (self.log[-1][0] if self.log else 0)
            assert self.run(self.store.list_streams("thing")) == list(self.streams)

    return StoreMachine
