"""A small seeded generative grammar.

Rules map a symbol to alternatives. An alternative is text with ``<symbol>`` references (expanded
recursively) and ``{var}`` slots (filled from the bound facts). A symbol name may itself contain
slots, so ``<{K}.vp>`` picks the verb phrases of the action kind bound to ``K``. An alternative that
needs a slot which is not bound, or a symbol that does not exist, is never chosen: that is how one
rule set serves actions with and without a target, a clue or a destination.

Choices are drawn from a caller's ``random.Random`` and weighted against reuse: every alternative
has a *signature* (its longest literal fragment) and the caller says how often that was used.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping, Sequence

_REF = re.compile(r"<([^<>\s]+)>")
_SLOT = re.compile(r"\{([A-Za-z0-9_]+)\}")
_LITERAL_SPLIT = re.compile(r"<[^<>\s]+>|\{[A-Za-z0-9_]+\}")

Usage = Callable[[str], int]


def signature(alternative: str) -> str | None:
    """The longest literal fragment of an alternative, lower-cased, if it is distinctive enough."""
    fragments = [frag.strip(" ,.;:!?—-\"'*").lower() for frag in _LITERAL_SPLIT.split(alternative)]
    best = max(fragments, key=len, default="")
    return best if len(best) >= 6 else None


class Grammar:
    """An immutable rule set with seeded, reuse-averse expansion."""

    def __init__(self, rules: Mapping[str, Sequence[str]]) -> None:
        self._rules: dict[str, tuple[str, ...]] = {key: tuple(alts) for key, alts in rules.items()}
        self._usable_memo: dict[tuple[str, frozenset[str], tuple[str, ...]], bool] = {}
        self._name_slots: tuple[str, ...] = tuple(
            sorted(
                {
                    slot
                    for alts in self._rules.values()
                    for alt in alts
                    for ref in _REF.findall(alt)
                    for slot in _SLOT.findall(ref)
                }
            )
        )

    @property
    def rules(self) -> Mapping[str, tuple[str, ...]]:
        """The rules, symbol -> alternatives."""
        return self._rules

    def has(self, symbol: str) -> bool:
        """True when the grammar defines ``symbol``."""
        return symbol in self._rules

    def usable(self, symbol: str, values: Mapping[str, str]) -> bool:
        """True when at least one alternative of ``symbol`` can be expanded with ``values``."""
        key = (symbol, frozenset(values), tuple(values.get(slot, "") for slot in self._name_slots))
        if key not in self._usable_memo:
            self._usable_memo[key] = False  # guards against recursive rules
            alternatives = self._rules.get(symbol, ())
            self._usable_memo[key] = any(self._alt_usable(alt, values) for alt in alternatives)
        return self._usable_memo[key]

    def _alt_usable(self, alternative: str, values: Mapping[str, str]) -> bool:
        stripped = _REF.sub("", alternative)
        if any(slot not in values for slot in _SLOT.findall(stripped)):
            return False
        for ref in _REF.findall(alternative):
            name = self._resolve_name(ref, values)
            if name is None or not self.usable(name, values):
                return False
        return True

    @staticmethod
    def _resolve_name(ref: str, values: Mapping[str, str]) -> str | None:
        try:
            return _SLOT.sub(lambda m: values[m.group(1)], ref)
        except KeyError:
            return None

    def expand(
        self,
        symbol: str,
        values: Mapping[str, str],
        rng: random.Random,
        usage: Usage,
        chosen: list[str] | None = None,
    ) -> str | None:
        """Expand ``symbol`` with ``values``; None if no alternative fits the bound slots."""
        return self._expand_symbol(symbol, values, rng, usage, chosen, depth=0)

    def _expand_symbol(
        self,
        symbol: str,
        values: Mapping[str, str],
        rng: random.Random,
        usage: Usage,
        chosen: list[str] | None,
        depth: int,
    ) -> str | None:
        if depth > 12:
            return None
        candidates = [alt for alt in self._rules.get(symbol, ()) if self._alt_usable(alt, values)]
        if not candidates:
            return None
        alternative = _weighted_pick(candidates, rng, usage)
        if chosen is not None:
            sig = signature(alternative)
            if sig:
                chosen.append(sig)
        return self._expand_alt(alternative, values, rng, usage, chosen, depth)

    def _expand_alt(
        self,
        alternative: str,
        values: Mapping[str, str],
        rng: random.Random,
        usage: Usage,
        chosen: list[str] | None,
        depth: int,
    ) -> str | None:
        pieces: list[str] = []
        position = 0
        for match in _REF.finditer(alternative):
            pieces.append(alternative[position : match.start()])
            name = self._resolve_name(match.group(1), values)
            if name is None:
                return None
            expanded = self._expand_symbol(name, values, rng, usage, chosen, depth + 1)
            if expanded is None:
                return None
            pieces.append(expanded)
            position = match.end()
        pieces.append(alternative[position:])
        text = "".join(pieces)
        try:
            return _SLOT.sub(lambda m: values[m.group(1)], text)
        except KeyError:
            return None


def _weighted_pick(candidates: Sequence[str], rng: random.Random, usage: Usage) -> str:
    weights = []
    for alternative in candidates:
        sig = signature(alternative)
        used = usage(sig) if sig else 0
        weights.append(1.0 / (1.0 + used) ** 3)
    total = sum(weights)
    point = rng.random() * total
    for alternative, weight in zip(candidates, weights, strict=True):
        point -= weight
        if point <= 0:
            return alternative
    return candidates[-1]
