"""The action vocabulary personas choose from each turn.

The engine decides when each action is available and what it does to the world; the chronicler
turns each into prose. ``target`` is a persona id, a location id or a clue name as noted.
"""

from __future__ import annotations

from enum import StrEnum


class ActionKind(StrEnum):
    """What a persona can do on its turn."""

    MOVE = "move"  # target: location id
    SEARCH = "search"  # target: None (the current location); may uncover a clue
    HELP = "help"  # target: persona id; raises trust, aids their next roll
    SHARE = "share"  # target: persona id; tells them a clue the actor knows
    CONFRONT = "confront"  # target: persona id; raises tension, may force out a clue
    DECEIVE = "deceive"  # target: persona id; gains on success, trust collapses if caught
    BARGAIN = "bargain"  # target: persona id; trade a resource or clue for trust
    DEFEND = "defend"  # target: None or persona id; guards self or ally, calms tension a little
    HIDE = "hide"  # target: None or location id; retreats out of danger
    PURSUE = "pursue"  # target: objective name; advances the persona's mission
    WAIT = "wait"  # target: None; watches and keeps still


PERSONA_TARGETED = frozenset(
    {
        ActionKind.HELP,
        ActionKind.SHARE,
        ActionKind.CONFRONT,
        ActionKind.DECEIVE,
        ActionKind.BARGAIN,
    }
)
