"""A mutable working copy of ``WorldState`` used while one turn is resolved.

``WorldState`` is frozen; the director copies it into a ``Scratch``, lets the rules change it,
and freezes it again. Engine bookkeeping lives in ``flags`` under documented keys:

- ``hurt:<persona>``: wounds, 0..3; each is -1 on the persona's rolls;
- ``aid:<persona>``: a bonus (or penalty) on the persona's next roll, -3..3, spent when used;
- ``grudge:<a>:<b>``: how much ``a`` resents ``b`` (1.0 when wronged, halves every turn);
- ``owe:<a>:<b>``: how much ``a`` feels it owes ``b`` (1.0 when helped, halves every turn);
- ``last:<persona>``: index of the persona's last action in ``ActionKind``;
- ``streak:<persona>``: how many turns in a row it has taken that kind of action;
- ``left:<persona>``: index (in the brief's locations) of the place it left last turn, if it
  changed place;
- ``effort:<objective>``: effort toward the objective's next step (0..4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from dramatis.domain.actions import ActionKind
from dramatis.domain.world import WorldState
from dramatis.engine.cast import in_key_order

_V = TypeVar("_V")

ACTION_ORDER: tuple[ActionKind, ...] = tuple(ActionKind)
MAX_WOUNDS = 3
FLAG_DECAY = 0.5
FLAG_FLOOR = 0.2


def clamp(value: float, low: float, high: float) -> float:
    """``value`` limited to ``low..high``."""
    return low if value < low else high if value > high else value


@dataclass(slots=True)
class Scratch:
    """Everything a turn may change, as plain mutable containers."""

    turn: int
    tension: float
    positions: dict[str, str]
    danger: dict[str, float]
    hidden: list[str]
    discovered: list[str]
    resources: dict[str, int]
    counters: dict[str, int]
    trust: dict[str, dict[str, float]]
    knowledge: dict[str, list[str]]
    flags: dict[str, float]
    fired: list[str]
    complete: bool
    perceptions: dict[str, list[str]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # persona id -> stable key (engine.cast)

    @classmethod
    def from_world(cls, world: WorldState, keys: Mapping[str, str] | None = None) -> Scratch:
        """A working copy of ``world`` with empty perceptions; ``keys`` order the personas."""
        return cls(
            turn=world.turn,
            tension=world.tension,
            positions=dict(world.positions),
            danger=dict(world.danger),
            hidden=list(world.hidden_clues),
            discovered=list(world.discovered_clues),
            resources=dict(world.resources),
            counters=dict(world.counters),
            trust={a: dict(row) for a, row in world.trust.items()},
            knowledge={p: list(clues) for p, clues in world.knowledge.items()},
            flags=dict(world.flags),
            fired=list(world.fired_events),
            complete=world.complete,
            perceptions={p: [] for p in world.positions},
            keys=dict(keys or {}),
        )

    def freeze(self) -> WorldState:
        """The frozen ``WorldState``; floats are rounded to 3 places so replays compare equal.

        Per-persona tables are laid out in key (name) order, so even their order says nothing
        about the ids."""
        rank = {pid: i for i, pid in enumerate(self.personas())}

        def order(items: Iterable[tuple[str, _V]]) -> list[tuple[str, _V]]:
            return sorted(items, key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))

        return WorldState(
            turn=self.turn,
            tension=round(clamp(self.tension, 0.0, 1.0), 3),
            positions=dict(order(self.positions.items())),
            danger={k: round(clamp(v, 0.0, 1.0), 3) for k, v in self.danger.items()},
            hidden_clues=tuple(self.hidden),
            discovered_clues=tuple(self.discovered),
            resources=dict(self.resources),
            counters=dict(self.counters),
            trust={
                a: {b: round(clamp(v, -1.0, 1.0), 3) for b, v in order(row.items())}
                for a, row in order(self.trust.items())
            },
            knowledge={p: tuple(c) for p, c in order(self.knowledge.items())},
            perceptions={p: tuple(lines) for p, lines in order(self.perceptions.items())},
            fired_events=tuple(self.fired),
            flags={k: round(v, 3) for k, v in sorted(self.flags.items())},
            complete=self.complete,
        )

    # ------------------------------------------------------------------ people and places

    def personas(self) -> list[str]:
        """Every persona id, in the order of their keys (names), never of the id values."""
        return in_key_order(self.positions, self.keys)

    def present(self, location: str, exclude: Iterable[str] = ()) -> list[str]:
        """Personas at ``location`` (in key order), minus ``exclude``."""
        skip = set(exclude)
        return [p for p in self.personas() if self.positions[p] == location and p not in skip]

    def perceive(self, persona: str, line: str) -> None:
        """``persona`` will be told ``line`` next turn."""
        self.perceptions.setdefault(persona, []).append(line)

    def announce(self, location: str, line: str, exclude: Iterable[str] = ()) -> None:
        """Everyone at ``location`` except ``exclude`` perceives ``line``."""
        for persona in self.present(location, exclude):
            self.perceive(persona, line)

    # ------------------------------------------------------------------ trust and tension

    def trust_of(self, a: str, b: str) -> float:
        """How much ``a`` trusts ``b`` (-1..1)."""
        return self.trust.get(a, {}).get(b, 0.0)

    def shift_trust(self, a: str, b: str, delta: float) -> float:
        """Change ``a``'s trust in ``b`` by ``delta``; returns the new value (-1..1).

        Gains shrink as trust grows (a gain is multiplied by 1 - trust when trust is positive),
        so trust is slow to become complete; losses count in full.
        """
        if a == b:
            return 0.0
        row = self.trust.setdefault(a, {})
        current = row.get(b, 0.0)
        if delta > 0 and current > 0:
            delta *= 1.0 - current
        value = clamp(current + delta, -1.0, 1.0)
        row[b] = value
        return value

    def shift_tension(self, delta: float) -> None:
        """Change tension by ``delta`` (clamped to 0..1)."""
        self.tension = clamp(self.tension + delta, 0.0, 1.0)

    # ------------------------------------------------------------------ knowledge

    def knows(self, persona: str, clue: str) -> bool:
        """Whether ``persona`` knows ``clue``."""
        return clue in self.knowledge.get(persona, ())

    def learn(self, persona: str, clue: str) -> bool:
        """``persona`` learns ``clue``; False when it already knew it."""
        known = self.knowledge.setdefault(persona, [])
        if clue in known:
            return False
        known.append(clue)
        return True

    def discover(self, clue: str) -> None:
        """``clue`` stops being hidden and counts as discovered."""
        if clue in self.hidden:
            self.hidden.remove(clue)
        if clue not in self.discovered:
            self.discovered.append(clue)

    # ------------------------------------------------------------------ flags

    def wounds(self, persona: str) -> int:
        """The persona's wounds (0..3)."""
        return int(self.flags.get(f"hurt:{persona}", 0.0))

    def set_wounds(self, persona: str, wounds: int) -> None:
        """Set the persona's wounds, clamped to 0..3 (0 removes the flag)."""
        wounds = max(0, min(MAX_WOUNDS, wounds))
        if wounds:
            self.flags[f"hurt:{persona}"] = float(wounds)
        else:
            self.flags.pop(f"hurt:{persona}", None)

    def add_aid(self, persona: str, amount: float) -> None:
        """Add to the persona's next-roll bonus (clamped to -3..3)."""
        key = f"aid:{persona}"
        value = clamp(self.flags.get(key, 0.0) + amount, -3.0, 3.0)
        if value:
            self.flags[key] = value
        else:
            self.flags.pop(key, None)

    def take_aid(self, persona: str) -> int:
        """Spend and return the persona's next-roll bonus."""
        return int(self.flags.pop(f"aid:{persona}", 0.0))

    def mark(self, kind: str, a: str, b: str) -> None:
        """Set a ``grudge`` or ``owe`` flag of ``a`` toward ``b`` to full strength."""
        if a != b:
            self.flags[f"{kind}:{a}:{b}"] = 1.0

    def decay_marks(self) -> None:
        """Halve every grudge and debt; drop the faint ones."""
        for key in [k for k in self.flags if k.startswith(("grudge:", "owe:"))]:
            value = self.flags[key] * FLAG_DECAY
            if value < FLAG_FLOOR:
                del self.flags[key]
            else:
                self.flags[key] = value
