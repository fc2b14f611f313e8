"""The in-memory prompt cache: a bounded dict with per-entry expiry, for a single process."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from dramatis.domain.ledger import Decision
from dramatis.ports import PROMPT_CACHE_TTL_SECONDS, CacheKey, CacheStatus


class MemoryPromptCache:
    """Decisions kept in this process for ``ttl_seconds``; the oldest go first past ``max_entries``.

    ``now`` is a monotonic time source in seconds (injectable so tests can move time forward).
    """

    def __init__(
        self,
        *,
        ttl_seconds: int = PROMPT_CACHE_TTL_SECONDS,
        max_entries: int = 10_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds < 1:
            raise ValueError(f"ttl_seconds must be at least 1, not {ttl_seconds}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._now = now
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: CacheKey) -> Decision | None:
        entry = self._live(key.render())
        if entry is None:
            return None
        return Decision.model_validate_json(entry[1])

    async def put(self, key: CacheKey, decision: Decision) -> None:
        name = key.render()
        self._entries.pop(name, None)
        self._entries[name] = (self._now() + self.ttl_seconds, decision.model_dump_json())
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def ttl(self, key: CacheKey) -> int | None:
        entry = self._live(key.render())
        if entry is None:
            return None
        return max(0, math.ceil(entry[0] - self._now()))

    def status(self) -> CacheStatus:
        return CacheStatus(backend="memory", available=True)

    async def close(self) -> None:
        self._entries.clear()

    def _live(self, name: str) -> tuple[float, str] | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        if entry[0] <= self._now():
            del self._entries[name]
            return None
        return entry
