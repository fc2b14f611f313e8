"""Live updates through Redis pub/sub, for stores that cannot notify by themselves (SQLite).

``announce(position)`` (called by the announcing store wrapper after each committed append)
publishes the position on ``dramatis:{tenant}:events``. Followers subscribe to that channel
from their first ``wait_for_append`` on. Redis is a convenience, never a dependency: while it
is unreachable, publishing is skipped for a cool-down and followers fall back to polling the
store, without a traceback; the subscriber keeps reconnecting with backoff, and after every
(re)subscribe reads the store's last position so nothing announced meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from dramatis.adapters.poll_notify import PositionSignal, Probe, poll_until
from dramatis.ports import StoreError

__all__ = ["RedisNotifier", "channel_for"]

_OUTAGES = (RedisError, OSError, TimeoutError)


def channel_for(tenant_id: str) -> str:
    """The pub/sub channel of a tenant's appends."""
    return f"dramatis:{tenant_id}:events"


class RedisNotifier:
    """Pub/sub on ``dramatis:{tenant}:events``, polling ``probe`` while Redis is down."""

    def __init__(
        self,
        url: str,
        tenant_id: str,
        probe: Probe,
        *,
        timeout_seconds: float = 0.25,
        cool_down_seconds: float = 5.0,
        poll_interval: float = 0.25,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self.tenant_id = tenant_id
        self.channel = channel_for(tenant_id)
        self.probe = probe
        self.timeout_seconds = timeout_seconds
        self.cool_down_seconds = cool_down_seconds
        self.poll_interval = poll_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        options: dict[str, Any] = {
            "socket_connect_timeout": timeout_seconds,
            "retry": Retry(NoBackoff(), 0),
            "retry_on_timeout": False,
            "health_check_interval": 0,
        }
        # Raises ValueError for a URL that is not a Redis URL.
        self._publisher: Redis = Redis.from_url(url, socket_timeout=timeout_seconds, **options)
        # The subscriber blocks in reads between messages: no read timeout.
        self._subscriber: Redis = Redis.from_url(url, **options)
        self.signal = PositionSignal()
        self.connected = False
        self.last_error: str | None = None
        self._down_until: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """True as soon as a message (or a poll while Redis is down) shows events past
        ``after_position``; False after ``timeout`` seconds."""
        self._start()
        return await poll_until(
            self.probe,
            self.signal,
            after_position,
            timeout,
            self.poll_interval,
            still_polling=lambda: not self.connected,
        )

    async def announce(self, position: int) -> None:
        """Publish ``position`` (skipped during a cool-down after a failure); never raises."""
        self.signal.update(position)
        if self._down_until is not None and time.monotonic() < self._down_until:
            return
        try:
            await asyncio.wait_for(
                self._publisher.publish(self.channel, str(position)), self.timeout_seconds * 2
            )
            self._down_until = None
        except _OUTAGES as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._down_until = time.monotonic() + self.cool_down_seconds

    async def close(self) -> None:
        """Stop the subscriber and close both clients."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for client in (self._publisher, self._subscriber):
            with contextlib.suppress(*_OUTAGES):
                await client.aclose()

    def _start(self) -> None:
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._subscribe_forever(), name="dramatis-redis-sub")

    async def _subscribe_forever(self) -> None:
        delay = self.backoff_initial
        while not self._closed:
            pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.connected = True
                delay = self.backoff_initial
                # Subscribed: what was announced before is in the store.
                with contextlib.suppress(StoreError):
                    self.signal.update(await self.probe())
                self.signal.wake()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    data = message.get("data")
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    if text.isdigit():
                        self.signal.update(int(text))
            except _OUTAGES as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            finally:
                was_connected, self.connected = self.connected, False
                if was_connected:
                    self.signal.wake()  # waiters go back to polling
                with contextlib.suppress(*_OUTAGES):
                    await pubsub.aclose()
            if not self._closed:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
