"""What the chronicler has already told, so later chapters do not repeat it.

The memory is a pure function of the chapters written so far and needs nothing else: it keeps
each told sentence in normalised form (lower-case words), fingerprints of quoted speech, chapter
titles and the cited turns. Phrase use and facts ("the wet rope was narrated", "Mirela and Bram
have been told together", "the tide event was told") are read out of those sentences on demand.
Carrying it from chapter to chapter and rebuilding it from stored markdown therefore give the
same memory, and the same next chapter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dramatis.engine.prose.text import (
    cited_range,
    fingerprint_normalised,
    normalise,
    quoted_spans,
    split_sentences,
)

if TYPE_CHECKING:
    from dramatis.engine.prose.context import ChronicleContext

_HEADING = re.compile(r"^#+\s*Chapter\s+\d+\s*[—–-]\s*(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class ChroniclerMemory:
    """Told sentences (normalised), quoted speech, titles and cited turns of earlier chapters."""

    chapters: int = 0
    turns: tuple[int, ...] = ()
    told: tuple[str, ...] = ()
    quotes: frozenset[str] = frozenset()
    titles: tuple[str, ...] = ()

    # --- queries --------------------------------------------------------------------------------
    @cached_property
    def fingerprints(self) -> frozenset[str]:
        """Fingerprints of every told sentence."""
        return frozenset(fingerprint_normalised(sentence) for sentence in self.told)

    @cached_property
    def _text(self) -> str:
        return " | ".join(self.told)

    @cached_property
    def _uses(self) -> dict[str, int]:
        return {}

    def said(self, sentence: str) -> bool:
        """True if this sentence (compared word for word) was already told."""
        return fingerprint_normalised(normalise(sentence)) in self.fingerprints

    def quoted(self, speech: str) -> bool:
        """True if this speech was already quoted."""
        return fingerprint_normalised(normalise(speech)) in self.quotes

    def uses(self, phrase: str) -> int:
        """How often a phrase occurs in the told sentences."""
        if phrase not in self._uses:
            needle = normalise(phrase)
            self._uses[phrase] = (
                len(re.findall(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", self._text))
                if needle
                else 0
            )
        return self._uses[phrase]

    def mentions(self, text: str) -> bool:
        """True if ``text`` (compared word for word) was part of something already told."""
        needle = normalise(text)
        return bool(needle) and needle in self._text

    def facts(self, ctx: ChronicleContext) -> tuple[str, ...]:
        """Facts told so far, in the order first told (see ``facts_in``)."""
        seen: dict[str, None] = {}
        for sentence in self.told:
            for fact in facts_in(sentence, ctx):
                seen.setdefault(fact, None)
        return tuple(seen)

    # --- building -------------------------------------------------------------------------------
    def absorb(self, markdown: str) -> ChroniclerMemory:
        """The memory after one more chapter (its markdown) has been told."""
        sentences = split_sentences(markdown)
        quotes = set(self.quotes)
        for sentence in sentences:
            quotes.update(fingerprint_normalised(normalise(q)) for q in quoted_spans(sentence))
        turns = set(self.turns)
        for line in markdown.splitlines():
            turns.update(cited_range(line))
        return ChroniclerMemory(
            chapters=self.chapters + 1,
            turns=tuple(sorted(turns)),
            told=self.told + tuple(normalise(s) for s in sentences),
            quotes=frozenset(quotes),
            titles=self.titles + tuple(m.group(1) for m in _HEADING.finditer(markdown)),
        )

    @classmethod
    def from_chapters(cls, markdowns: Iterable[str]) -> ChroniclerMemory:
        """Rebuild the memory from stored chapters, in order."""
        memory = cls()
        for markdown in markdowns:
            memory = memory.absorb(markdown)
        return memory

    # --- serialisation --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "chapters": self.chapters,
            "turns": list(self.turns),
            "told": list(self.told),
            "quotes": sorted(self.quotes),
            "titles": list(self.titles),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChroniclerMemory:
        """The inverse of ``to_dict``; missing keys mean empty."""
        return cls(
            chapters=int(data.get("chapters", 0)),
            turns=tuple(int(t) for t in data.get("turns", ())),
            told=tuple(str(s) for s in data.get("told", ())),
            quotes=frozenset(str(q) for q in data.get("quotes", ())),
            titles=tuple(str(t) for t in data.get("titles", ())),
        )


def _has(term: str, text: str) -> bool:
    needle = normalise(term)
    return (
        bool(needle)
        and re.search(rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])", text) is not None
    )


def facts_in(sentence: str, ctx: ChronicleContext) -> list[str]:
    """Facts one sentence tells, in a stable order.

    ``intro:ID`` a persona was named; ``pair:A|B`` exactly two personas were named together;
    ``place:ID``; ``clue:CLUE`` (its full wording); ``event:ID`` (title or text).
    """
    text = normalise(sentence)
    facts: list[str] = []
    present = [
        pid
        for pid in sorted(ctx.names)
        if _has(ctx.name(pid), text) or _has(ctx.short_name(pid), text)
    ]
    facts.extend(f"intro:{pid}" for pid in present)
    if len(present) == 2:
        facts.append(pair_fact(*present))
    facts.extend(
        f"place:{loc}" for loc, name in sorted(ctx.place_names.items()) if _has(name, text)
    )
    facts.extend(f"clue:{clue}" for clue in ctx.clues if _has(clue, text))
    for event_id, event in sorted(ctx.events.items()):
        if _has(event.title, text) or (len(text) >= 12 and text in normalise(event.text)):
            facts.append(f"event:{event_id}")
    return facts


def pair_fact(first: str, second: str) -> str:
    """The fact key for two personas having been told together."""
    a, b = sorted((first, second))
    return f"pair:{a}|{b}"
