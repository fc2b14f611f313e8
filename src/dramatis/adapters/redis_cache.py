"""The Redis prompt cache (redis.asyncio), built to never cost a turn.

Every round trip has a short connect and read timeout and no retries. After a failure the cache
stops talking to Redis for ``cool_down_seconds`` (lookups miss, writes are dropped, both without
any I/O), then tries again with the next request; one success makes it available again.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from dramatis.domain.ledger import Decision
from dramatis.ports import PROMPT_CACHE_TTL_SECONDS, CacheKey, CacheStatus

T = TypeVar("T")

_OUTAGES = (RedisError, OSError, TimeoutError)


class RedisPromptCache:
    """Decisions stored in Redis as JSON under ``CacheKey.render()`` with a TTL."""

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: int = PROMPT_CACHE_TTL_SECONDS,
        timeout_seconds: float = 0.25,
        cool_down_seconds: float = 30.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError(f"ttl_seconds must be at least 1, not {ttl_seconds}")
        self.ttl_seconds = ttl_seconds
        self.timeout_seconds = timeout_seconds
        self.cool_down_seconds = cool_down_seconds
        self._now = now
        # Raises ValueError for a URL that is not a redis:// / rediss:// / unix:// URL.
        self._client: Redis = Redis.from_url(
            url,
            socket_connect_timeout=timeout_seconds,
            socket_timeout=timeout_seconds,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
            health_check_interval=0,
        )
        self._down_until: float | None = None
        self.attempts = 0
        self.failures = 0
        self.skipped = 0
        self.last_error: str | None = None

    # ------------------------------------------------------------------ port

    async def get(self, key: CacheKey) -> Decision | None:
        raw = await self._guarded(lambda: self._client.get(key.render()), None)
        if raw is None:
            return None
        try:
            return Decision.model_validate_json(raw)
        except ValidationError:
            return None  # written by another version: a miss, and the next put replaces it

    async def put(self, key: CacheKey, decision: Decision) -> None:
        payload = decision.model_dump_json()
        await self._guarded(
            lambda: self._client.set(key.render(), payload, ex=self.ttl_seconds), None
        )

    async def ttl(self, key: CacheKey) -> int | None:
        seconds = await self._guarded(lambda: self._client.ttl(key.render()), -2)
        return None if seconds is None or seconds < 0 else int(seconds)

    def status(self) -> CacheStatus:
        return CacheStatus(
            backend="redis",
            available=not self._cooling_down(),
            attempts=self.attempts,
            failures=self.failures,
            skipped=self.skipped,
            last_error=self.last_error,
        )

    async def close(self) -> None:
        with contextlib.suppress(*_OUTAGES):
            await self._client.aclose()

    # ------------------------------------------------------------------ health

    def _cooling_down(self) -> bool:
        return self._down_until is not None and self._now() < self._down_until

    async def _guarded(self, call: Callable[[], Awaitable[Any]], default: T) -> Any | T:
        """Run one round trip unless cooling down; any outage returns ``default``."""
        if self._cooling_down():
            self.skipped += 1
            return default
        self.attempts += 1
        try:
            async with asyncio.timeout(self.timeout_seconds * 2):
                result = await call()
        except _OUTAGES as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            self._down_until = self._now() + self.cool_down_seconds
            await self._drop_connections()
            return default
        self._down_until = None
        return result

    async def _drop_connections(self) -> None:
        """Forget pooled sockets so the next try after the cool-down connects afresh."""
        with contextlib.suppress(*_OUTAGES):
            await self._client.connection_pool.disconnect(inuse_connections=True)
