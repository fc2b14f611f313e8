"""Who is who: the stable key of each persona, for dice and for order.

Persona ids are minted at random for every campaign, so nothing a reader can observe may depend
on their values: not a roll, not who acts first, not the order of a persona's options. Every
seeded draw and every ordering that can change an outcome uses a persona's *key* instead: its
display name (names are unique within a campaign), or its id when no name is known. Two
personas sharing a name get "Name #2", "Name #3" after the first (ordered by id, the only
tie-breaker left).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def persona_keys(persona_ids: Iterable[str], names: Mapping[str, str] | None) -> dict[str, str]:
    """``persona id -> key``: the display name in ``names``, else the id; always unique."""
    ids = list(dict.fromkeys(persona_ids))
    lookup = names or {}
    base = {pid: (lookup.get(pid) or "").strip() or pid for pid in ids}
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for pid in sorted(ids, key=lambda p: (base[p], p)):
        key = base[pid]
        suffix = 2
        while key in taken:
            key = f"{base[pid]} #{suffix}"
            suffix += 1
        taken.add(key)
        keys[pid] = key
    return {pid: keys[pid] for pid in ids}


def in_key_order(persona_ids: Iterable[str], keys: Mapping[str, str]) -> list[str]:
    """``persona_ids`` (duplicates dropped) sorted by key; ids without a key sort by id."""
    return sorted(dict.fromkeys(persona_ids), key=lambda pid: (keys.get(pid, pid), pid))


def cast_order(persona_ids: Iterable[str], names: Mapping[str, str] | None) -> list[str]:
    """``persona_ids`` in the stable order of their keys (their names)."""
    ids = list(dict.fromkeys(persona_ids))
    return in_key_order(ids, persona_keys(ids, names))
