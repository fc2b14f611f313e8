"""The in-memory event store runs the event store contract, plus its shared-backend rules."""

from __future__ import annotations

from typing import Any

import pytest
from event_store_contract import TENANT_A, TENANT_B, EventStoreContract, event, one

from dramatis.adapters.memory_store import InMemoryEventStore, MemoryBackend
from dramatis.ports import EventStore, StreamNotFound


class TestInMemoryEventStore(EventStoreContract):
    __test__ = True

    @pytest.fixture(autouse=True)
    def _database(self) -> None:
        self.new_database()

    def new_database(self) -> None:
        self.backend = MemoryBackend()

    async def make_store(self, tenant_id: str, **options: Any) -> EventStore:
        return InMemoryEventStore(tenant_id, shared=self.backend, **options)


async def test_stores_without_a_shared_backend_are_separate_databases() -> None:
    async with InMemoryEventStore(TENANT_A) as first, InMemoryEventStore(TENANT_A) as second:
        await first.append([one("s-1", 0, event(1))])
        with pytest.raises(StreamNotFound):
            await second.read_stream("s-1")
        assert await second.last_position() == 0


async def test_positions_are_global_across_tenants_of_one_backend() -> None:
    backend = MemoryBackend()
    async with (
        InMemoryEventStore(TENANT_A, backend) as a,
        InMemoryEventStore(TENANT_B, backend) as b,
    ):
        [first] = await a.append([one("s-1", 0, event(1))])
        [second] = await b.append([one("s-1", 0, event(2))])
        [third] = await a.append([one("s-1", 1, event(3))])
        assert first.position < second.position < third.position
        assert [r.position for r in await a.read_all()] == [first.position, third.position]


def test_tenant_id_is_required() -> None:
    with pytest.raises(ValueError, match="tenant_id"):
        InMemoryEventStore("")
