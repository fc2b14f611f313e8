"""The input rate limit: whole keys only, excess dropped, pastes never turned into keys."""

from __future__ import annotations

from dramatis.ssh.ratelimit import PASTE_END, PASTE_START, InputLimiter, TokenBucket, split_keys


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, 5, clock)
    assert all(bucket.take() for _ in range(5))
    assert not bucket.take()
    clock.now = 0.25  # 2.5 tokens
    assert bucket.take() and bucket.take() and not bucket.take()
    clock.now = 100.0
    assert sum(bucket.take() for _ in range(10)) == 5


def test_keys_are_bytes_characters_and_whole_escape_sequences() -> None:
    data = b"a\x1b[A\x1bOP\xc3\xa9\x1b[<35;10;5M\x1bx\r"
    assert list(split_keys(data)) == [
        b"a",
        b"\x1b[A",
        b"\x1bOP",
        "é".encode(),
        b"\x1b[<35;10;5M",
        b"\x1bx",
        b"\r",
    ]


def test_input_over_the_limit_is_dropped_at_a_key_boundary() -> None:
    clock = FakeClock()
    limiter = InputLimiter(1, 3, clock)
    assert limiter.filter(b"\x1b[A\x1b[B\x1b[C\x1b[D") == b"\x1b[A\x1b[B\x1b[C"
    assert limiter.dropped == 1
    assert limiter.filter(b"x") == b""
    clock.now = 1.0
    assert limiter.filter(b"yz") == b"y"


def test_a_paste_over_the_limit_is_closed_and_the_rest_discarded() -> None:
    clock = FakeClock()
    limiter = InputLimiter(1, 4, clock)
    sent = limiter.filter(PASTE_START + b"abcdefgh")
    assert sent == PASTE_START + b"abcd" + PASTE_END
    clock.now = 10.0
    # The rest of the paste (even in later chunks) never reaches the app as keystrokes.
    assert limiter.filter(b"ijk " + PASTE_END + b"q") == b"q"
