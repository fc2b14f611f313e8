"""Per-session input rate limit: a token bucket over keys, dropping what exceeds it.

A key is one keystroke as the terminal sends it: a byte, a UTF-8 character or a whole escape
sequence (an arrow key, a mouse report), so a limit never cuts a sequence in half. Input over
the limit is dropped at once, never queued. A bracketed paste that runs over the limit is
closed and the rest of it discarded, so pasted text can never turn into keystrokes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

ESC = 0x1B
PASTE_START = b"\x1b[200~"
PASTE_END = b"\x1b[201~"


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self.rate, self.burst, self._clock = float(rate), float(burst), clock
        self._tokens, self._stamp = float(burst), clock()

    def take(self, count: float = 1.0) -> bool:
        """Spend ``count`` tokens if there are that many; False (nothing spent) if not."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= count:
            self._tokens -= count
            return True
        return False


def split_keys(data: bytes) -> Iterator[bytes]:
    """``data`` cut into keys: bytes, UTF-8 characters and whole escape sequences."""
    index, size = 0, len(data)
    while index < size:
        start, byte = index, data[index]
        if byte == ESC and index + 1 < size:
            follower = data[index + 1]
            if follower == 0x5B:  # CSI: ESC [ params... final byte in 0x40-0x7E
                index += 2
                while index < size and not 0x40 <= data[index] <= 0x7E:
                    index += 1
                index += 1
            elif follower == 0x4F:  # SS3: ESC O x (F1-F4, keypad)
                index += 3
            elif follower != ESC:  # alt+key
                index += 2
            else:
                index += 1
        elif byte >= 0xF0:
            index += 4
        elif byte >= 0xE0:
            index += 3
        elif byte >= 0xC0:
            index += 2
        else:
            index += 1
        yield data[start : min(index, size)]


class InputLimiter:
    """Filters one session's input through a token bucket; counts what it dropped."""

    def __init__(
        self, keys_per_second: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.bucket = TokenBucket(keys_per_second, burst, clock)
        self.dropped = 0
        self._in_paste = False
        self._discarding_paste = False

    def filter(self, data: bytes) -> bytes:
        """The part of ``data`` within the limit (whole keys only)."""
        out = bytearray()
        for key in split_keys(data):
            if self._discarding_paste:
                self.dropped += 1
                if key == PASTE_END:
                    self._discarding_paste = False
                continue
            if key == PASTE_START:
                self._in_paste = True
                out += key
            elif key == PASTE_END:
                self._in_paste = False
                out += key
            elif self.bucket.take():
                out += key
            else:
                self.dropped += 1
                if self._in_paste:  # close the paste; drop the rest of it
                    out += PASTE_END
                    self._in_paste = False
                    self._discarding_paste = True
        return bytes(out)
