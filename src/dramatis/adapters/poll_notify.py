"""The polling notifier (SQLite without Redis), and the position signal all notifiers share.

``PollingNotifier`` asks the store for its last position every ``interval`` seconds while a
follower waits. Appends announced in this process (the announcing store wrapper calls
``announce``) wake this process's followers at once, so the SSH host, which serves every
session from one process, needs no polling delay between its own players.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from dramatis.ports import StoreError

__all__ = ["PollingNotifier", "PositionSignal", "Probe"]

Probe = Callable[[], Awaitable[int]]  # the store's last_position


class PositionSignal:
    """The highest position a notifier has heard of, and a way to wait for it to grow."""

    def __init__(self) -> None:
        self.latest = 0
        self._changed = asyncio.Event()

    def update(self, position: int) -> None:
        """Record ``position``; wake every waiter if it is news."""
        if position > self.latest:
            self.latest = position
            self.wake()

    def wake(self) -> None:
        """Wake every waiter (they re-check ``latest``)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, after_position: int, timeout: float) -> bool:
        """True once ``latest`` passes ``after_position``; False after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while self.latest <= after_position:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return self.latest > after_position
        return True

    async def next_change(self, timeout: float) -> None:
        """Return at the next ``update`` or ``wake``, or after ``timeout`` seconds."""
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), max(timeout, 0.0))


class PollingNotifier:
    """Polls ``probe`` (the store's ``last_position``) every ``interval`` seconds while waiting."""

    def __init__(self, probe: Probe, *, interval: float = 0.25) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval}")
        self.probe = probe
        self.interval = interval
        self.signal = PositionSignal()

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """True as soon as the store holds events past ``after_position`` (announced here, or
        seen by a poll); False once ``timeout`` seconds pass."""
        return await poll_until(self.probe, self.signal, after_position, timeout, self.interval)

    async def announce(self, position: int) -> None:
        """Wake this process's followers now (other processes find out by polling)."""
        self.signal.update(position)

    async def close(self) -> None:
        """Nothing to release; waiters time out as usual."""


async def poll_until(
    probe: Probe,
    signal: PositionSignal,
    after_position: int,
    timeout: float,
    interval: float,
    still_polling: Callable[[], bool] = lambda: True,
) -> bool:
    """Wait on ``signal``, polling ``probe`` every ``interval`` seconds while ``still_polling()``
    (a notifier whose live channel came back stops polling and just waits)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(timeout, 0.0)
    while True:
        if signal.latest > after_position:
            return True
        if still_polling():
            with contextlib.suppress(StoreError):  # the store is down too: keep waiting
                signal.update(await probe())
            if signal.latest > after_position:
                return True
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        # A wake (news, or the live channel going up or down) ends the step early.
        await signal.next_change(min(interval, remaining) if still_polling() else remaining)
