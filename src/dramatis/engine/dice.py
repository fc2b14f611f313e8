"""Seeded dice: every random number the engine uses comes from here.

A random stream is derived from the campaign seed and a few labelled parts (turn, persona key,
purpose) with sha256, never with Python's salted ``hash()``, so the same seed replays the same
campaign in any process on any machine. The persona part is its key from ``engine.cast`` (its
display name), never its randomly minted id.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

from dramatis.domain.ledger import Outcome

PARTIAL_MARGIN = 4
"""A total at most this far below the difficulty is a partial success."""


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit integer seed for ``(seed, *parts)``, stable across processes and platforms."""
    text = "\x1f".join([str(seed), *(str(part) for part in parts)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def rng_for(seed: int, *parts: object) -> random.Random:
    """A fresh ``random.Random`` for one purpose: ``rng_for(7, 12, "Mirela Voss", "policy")``."""
    return random.Random(derive_seed(seed, *parts))


def d20(rng: random.Random) -> int:
    """Roll a twenty-sided die."""
    return rng.randint(1, 20)


def half_up(value: float) -> int:
    """Round half away from zero for positives (2.5 -> 3), half up for negatives (-2.5 -> -2)."""
    return math.floor(value + 0.5)


def outcome_of(die: int, modifier: int, difficulty: int) -> Outcome:
    """The outcome of a roll: a natural 20 always succeeds and a natural 1 always fails."""
    if die == 20:
        return "success"
    if die == 1:
        return "failure"
    total = die + modifier
    if total >= difficulty:
        return "success"
    if total >= difficulty - PARTIAL_MARGIN:
        return "partial"
    return "failure"


@dataclass(frozen=True, slots=True)
class Check:
    """One resolved roll: the natural die, the modifier, the difficulty and the outcome."""

    die: int
    modifier: int
    difficulty: int
    outcome: Outcome

    @property
    def total(self) -> int:
        """Die plus modifier."""
        return self.die + self.modifier


def check(rng: random.Random, modifier: int, difficulty: int) -> Check:
    """Roll a d20, add ``modifier`` and compare with ``difficulty``."""
    die = d20(rng)
    return Check(die, modifier, difficulty, outcome_of(die, modifier, difficulty))
