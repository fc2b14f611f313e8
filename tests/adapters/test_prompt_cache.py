"""The prompt cache contract, run unchanged against the in-memory and the Redis cache, plus what
only one of them does: in-memory expiry and eviction; Redis keys, the TTL Redis reports, and
outages (short failure, then a cool-down with no Redis round trips, then recovery)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from dramatis.adapters.memory_cache import MemoryPromptCache
from dramatis.adapters.redis_cache import RedisPromptCache
from dramatis.domain.actions import ActionKind
from dramatis.domain.ledger import Decision, Provenance
from dramatis.ports import CacheKey, PromptCache
from redis_support import any_redis, free_port, private_redis_server

HASH_A = "a" * 64
HASH_B = "b" * 64


class ManualTime:
    """A monotonic time source the test moves by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def decision(reasoning: str = "The ledger does not lie; I will read it.") -> Decision:
    return Decision(
        action=next(iter(ActionKind)),
        target=None,
        reasoning=reasoning,
        provenance=Provenance(
            source="gemini", model="gemini-test", latency_ms=12.5, tokens_in=321, tokens_out=45
        ),
    )


def key(tenant: str, persona: str = "p-1", turn: int = 3, prompt: str = HASH_A) -> CacheKey:
    return CacheKey(tenant_id=tenant, persona_id=persona, turn=turn, prompt_hash=prompt)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with any_redis() as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[PromptCache]:
    if request.param == "memory":
        made: PromptCache = MemoryPromptCache()
    else:
        made = RedisPromptCache(request.getfixturevalue("redis_url"))
    yield made
    await made.close()


@pytest.fixture
def tenant() -> str:
    """A tenant id of its own per test, so tests never see each other's keys."""
    return f"t-{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------- the contract


class TestPromptCacheContract:
    async def test_is_a_prompt_cache_with_a_900_second_ttl(self, cache: PromptCache) -> None:
        assert isinstance(cache, PromptCache)
        assert cache.ttl_seconds == 900

    async def test_a_missing_key_is_a_miss(self, cache: PromptCache, tenant: str) -> None:
        assert await cache.get(key(tenant)) is None
        assert await cache.ttl(key(tenant)) is None

    async def test_put_then_get_returns_the_same_decision(
        self, cache: PromptCache, tenant: str
    ) -> None:
        stored = decision()
        await cache.put(key(tenant), stored)
        assert await cache.get(key(tenant)) == stored

    async def test_entries_live_900_seconds(self, cache: PromptCache, tenant: str) -> None:
        await cache.put(key(tenant), decision())
        remaining = await cache.ttl(key(tenant))
        assert remaining is not None and 890 <= remaining <= 900

    async def test_two_tenants_never_share_an_entry(self, cache: PromptCache, tenant: str) -> None:
        other = f"{tenant}-other"
        await cache.put(key(tenant), decision("Mine."))
        assert await cache.get(key(other)) is None
        await cache.put(key(other), decision("Theirs."))
        assert (await cache.get(key(tenant))).reasoning == "Mine."
        assert (await cache.get(key(other))).reasoning == "Theirs."

    async def test_persona_turn_and_prompt_hash_are_all_part_of_the_key(
        self, cache: PromptCache, tenant: str
    ) -> None:
        await cache.put(key(tenant), decision())
        assert await cache.get(key(tenant, persona="p-2")) is None
        assert await cache.get(key(tenant, turn=4)) is None
        assert await cache.get(key(tenant, prompt=HASH_B)) is None

    async def test_a_second_put_replaces_the_first(self, cache: PromptCache, tenant: str) -> None:
        await cache.put(key(tenant), decision("First thought."))
        await cache.put(key(tenant), decision("Second thought."))
        assert (await cache.get(key(tenant))).reasoning == "Second thought."

    async def test_a_healthy_cache_reports_itself_available(self, cache: PromptCache) -> None:
        status = cache.status()
        assert status.available
        assert status.backend in {"memory", "redis"}


def test_the_storage_key_names_tenant_persona_turn_and_prompt_hash() -> None:
    rendered = key("acme", persona="p-9", turn=12).render()
    assert rendered == f"tenant:acme:persona:p-9:turn:12:{HASH_A}"
    assert key("acme").render() != key("acme-2").render()


# ---------------------------------------------------------------- in-memory only


async def test_memory_entries_expire_after_their_ttl() -> None:
    now = ManualTime()
    cache = MemoryPromptCache(now=now)
    await cache.put(key("t"), decision())
    now.value += 899.5
    assert await cache.ttl(key("t")) == 1
    assert await cache.get(key("t")) is not None
    now.value += 0.5
    assert await cache.get(key("t")) is None
    assert await cache.ttl(key("t")) is None


async def test_memory_cache_drops_the_oldest_entries_past_its_size() -> None:
    cache = MemoryPromptCache(max_entries=2)
    for turn in (1, 2, 3):
        await cache.put(key("t", turn=turn), decision())
    assert await cache.get(key("t", turn=1)) is None
    assert await cache.get(key("t", turn=2)) is not None
    assert await cache.get(key("t", turn=3)) is not None


def test_caches_refuse_a_ttl_below_one_second() -> None:
    with pytest.raises(ValueError, match="ttl_seconds"):
        MemoryPromptCache(ttl_seconds=0)
    with pytest.raises(ValueError, match="ttl_seconds"):
        RedisPromptCache("redis://127.0.0.1:1/0", ttl_seconds=0)


# ---------------------------------------------------------------- Redis only


async def test_redis_stores_decision_json_under_the_rendered_key_with_ttl_900(
    redis_url: str, tenant: str
) -> None:
    cache = RedisPromptCache(redis_url)
    try:
        stored = decision()
        await cache.put(key(tenant), stored)
    finally:
        await cache.close()
    raw = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        name = f"tenant:{tenant}:persona:p-1:turn:3:{HASH_A}"
        assert Decision.model_validate_json(raw.get(name)) == stored
        ttl = raw.ttl(name)
        assert 890 <= ttl <= 900
        assert raw.keys(f"tenant:{tenant}:*") == [name]
    finally:
        raw.close()


async def test_redis_value_that_is_not_a_decision_is_a_miss(redis_url: str, tenant: str) -> None:
    raw = redis.Redis.from_url(redis_url)
    raw.set(key(tenant).render(), b"{not json", ex=60)
    raw.close()
    cache = RedisPromptCache(redis_url)
    try:
        assert await cache.get(key(tenant)) is None
        assert cache.status().available  # bad data is not an outage
    finally:
        await cache.close()


async def test_unreachable_redis_fails_once_then_cools_down_without_round_trips() -> None:
    now = ManualTime()
    cache = RedisPromptCache(f"redis://127.0.0.1:{free_port()}/0", cool_down_seconds=30, now=now)
    try:
        assert await cache.get(key("t")) is None
        status = cache.status()
        assert (status.available, status.attempts, status.failures) == (False, 1, 1)
        assert status.last_error
        # During the cool-down nothing goes to Redis: lookups miss, writes are dropped.
        await cache.put(key("t"), decision())
        assert await cache.get(key("t")) is None
        assert await cache.ttl(key("t")) is None
        status = cache.status()
        assert (status.attempts, status.failures, status.skipped) == (1, 1, 3)
        # After the cool-down it tries again (and, still unreachable, cools down again).
        now.value += 30
        assert await cache.get(key("t")) is None
        assert (cache.status().attempts, cache.status().failures) == (2, 2)
    finally:
        await cache.close()


async def test_redis_cache_recovers_after_the_cool_down_once_redis_is_back() -> None:
    now = ManualTime()
    with private_redis_server() as server:
        port = server.port
        cache = RedisPromptCache(server.url, cool_down_seconds=30, now=now)
        await cache.put(key("t"), decision())
        server.kill()
        assert await cache.get(key("t")) is None
        assert not cache.status().available
    try:
        with private_redis_server(port):  # Redis is back (empty: it kept nothing on disk)
            assert await cache.get(key("t")) is None
            assert cache.status().attempts == 2  # still cooling down: not even tried
            now.value += 30
            await cache.put(key("t"), decision())
            assert await cache.get(key("t")) == decision()
            status = cache.status()
            assert status.available
            assert (status.attempts, status.failures) == (4, 1)
    finally:
        await cache.close()
