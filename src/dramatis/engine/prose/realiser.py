"""The sentence realiser: facts in, fresh grounded sentences out.

Every sentence the narrator keeps has passed these checks: it names a persona, a place, a clue, an
objective or a brief event (so it carries a fact of the ledger or the world); it names every fact
it was asked to carry (the target, the destination, the clue...); it names no person or place
twice and repeats no content word; and it does not repeat a sentence already told in this
chronicle. Rejected drafts are redrawn from the grammar; the phrases of kept ones count against
their reuse. People are called by their full name the first time in a chapter, then shorter.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from dramatis.domain.actions import ActionKind
from dramatis.engine.prose.beats import Act
from dramatis.engine.prose.context import ChronicleContext
from dramatis.engine.prose.memory import ChroniclerMemory
from dramatis.engine.prose.styles import Style
from dramatis.engine.prose.text import fingerprint, normalise, split_sentences, tidy, words

_AFTER_STOP = re.compile(r"([.!?]\*{0,2}\s+[\"*]*)([a-z])")
_QUOTED = re.compile(r'"[^"]*"')
_WORD = re.compile(r"[a-z][a-z'-]{3,}")
_COMMON = words(
    "that with from into were what there then than this have been when where which while them "
    "they their thing over more once"
)


_STILL = frozenset({ActionKind.WAIT, ActionKind.DEFEND, ActionKind.HIDE, ActionKind.MOVE})


def derive_rng(seed: int, *parts: object) -> random.Random:
    """A private random stream for (seed, parts): the same in every process and platform."""
    material = ":".join(str(p) for p in (seed, *parts)).encode("utf-8")
    return random.Random(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))


def anchors_for(ctx: ChronicleContext) -> tuple[str, ...]:
    """Terms that ground a sentence: persona names (full and short), places, clues (and their
    short forms), objectives and brief-event titles; lower-case, longest first."""
    terms: set[str] = set()
    for pid in ctx.names:
        terms.update((ctx.name(pid), ctx.short_name(pid)))
    terms.update(ctx.place_names.values())
    for clue in ctx.clues:
        terms.update((clue, ctx.clue_head(clue)))
    for objective in ctx.objectives:
        terms.update((objective, ctx.objective_phrase(objective)))
    terms.update(event.title for event in ctx.brief.events)
    return tuple(sorted({t.lower() for t in terms if t.strip()}, key=lambda t: (-len(t), t)))


class Narrator:
    """Draws sentences from a style's grammar under the chronicle's memory."""

    def __init__(
        self,
        ctx: ChronicleContext,
        style: Style,
        memory: ChroniclerMemory,
        rng: random.Random,
    ) -> None:
        self.ctx = ctx
        self.style = style
        self.grammar = style.grammar
        self.memory = memory
        self.rng = rng
        self._fingerprints: set[str] = set()
        self._quotes: set[str] = set()
        self._phrases: Counter[str] = Counter()
        self._anchors = anchors_for(ctx)
        self._named: set[str] = set()
        self._told_clues: set[str] = set()
        self._people = {
            pid: tuple({ctx.name(pid).lower(), ctx.short_name(pid).lower()}) for pid in ctx.names
        }
        # Places, objectives and clues read badly when a sentence names one of them twice.
        once = set(ctx.place_names.values())
        once.update(ctx.objective_phrase(objective) for objective in ctx.objectives)
        once.update(ctx.clue_head(clue) for clue in ctx.clues)
        self._places = tuple(sorted({t.lower() for t in once if t}, key=len, reverse=True))
        self._proper = frozenset(word for term in self._anchors for word in _WORD.findall(term))

    # --- names ----------------------------------------------------------------------------------
    def call(self, persona_id: str) -> str:
        """Full name at the first mention in the chapter, the short name after."""
        if persona_id in self._named:
            return self.ctx.short_name(persona_id)
        return self.ctx.name(persona_id)

    def call_all(self, persona_ids: Iterable[str]) -> str:
        """Several personas joined with the style's conjunction."""
        names = [self.call(pid) for pid in persona_ids]
        if len(names) <= 1:
            return "".join(names)
        return f"{', '.join(names[:-1])} {self.style.conjunction} {names[-1]}"

    # --- bookkeeping ----------------------------------------------------------------------------
    def usage(self, signature: str) -> int:
        """How often a phrase has been used, before and during this chapter."""
        return self.memory.uses(signature) + self._phrases[signature]

    def _softened(self, signature: str) -> int:
        return min(self.usage(signature), 1)

    def seen(self, sentence: str) -> bool:
        """True if the sentence was told before (in memory or earlier in this chapter)."""
        fp = fingerprint(sentence)
        return fp in self._fingerprints or fp in self.memory.fingerprints

    def quoted(self, speech: str) -> bool:
        """True if this speech was already quoted."""
        return fingerprint(speech) in self._quotes or self.memory.quoted(speech)

    def mark_quoted(self, speech: str) -> None:
        """Remember that this speech has now been quoted."""
        self._quotes.add(fingerprint(speech))

    def grounded(self, sentence: str) -> bool:
        """True if the sentence names a persona, place, clue, objective or brief event."""
        lowered = sentence.lower()
        return any(term in lowered for term in self._anchors)

    def keep(self, text: str) -> str:
        """Record an authored passage (opening, event text) so it is never repeated as prose."""
        for part in split_sentences(text):
            self._fingerprints.add(fingerprint(part))
        self._note_names(text)
        return text

    def _well_formed(self, sentence: str, must: Iterable[str]) -> bool:
        lowered = sentence.lower()
        if not any(term in lowered for term in self._anchors):
            return False
        if any(term.lower() not in lowered for term in must):
            return False
        plain = _QUOTED.sub(" ", lowered)
        for place in self._places:
            if plain.count(place) > 1:
                return False
            plain = plain.replace(place, " ")
        for forms in self._people.values():
            hits = 0
            for form in sorted(forms, key=len, reverse=True):
                hits += len(re.findall(rf"(?<![\w]){re.escape(form)}(?![\w])", plain))
                plain = plain.replace(form, " ")
            if hits > 1:
                return False
        words = [w for w in _WORD.findall(plain) if w not in _COMMON and w not in self._proper]
        return all(count == 1 for count in Counter(words).values())

    def _note_names(self, text: str) -> None:
        lowered = text.lower()
        for pid in self.ctx.names:
            if self.ctx.name(pid).lower() in lowered:
                self._named.add(pid)

    # --- drawing --------------------------------------------------------------------------------
    def draw(
        self,
        symbol: str,
        values: Mapping[str, str],
        *,
        must: Iterable[str] = (),
        tries: int = 14,
        repeat_ok: bool = False,
    ) -> str | None:
        """A fresh, well-formed realisation of ``symbol``; None if the grammar cannot say it.

        When every draft repeats something already told, the sentence is dropped, unless
        ``repeat_ok`` (a fact that must be told even in words used before).
        """
        if not self.grammar.usable(symbol, values):
            return None
        required = tuple(m for m in must if m)
        fallback: tuple[str, list[str]] | None = None
        for attempt in range(tries + (2 * tries if required else 0)):
            chosen: list[str] = []
            # Past the first round, steer away from used phrases less hard: the only phrase
            # that can carry a required fact may be one that was used often before.
            usage = self.usage if attempt < tries else self._softened
            raw = self.grammar.expand(symbol, values, self.rng, usage, chosen)
            if raw is None:
                return None
            text = _AFTER_STOP.sub(lambda m: m.group(1) + m.group(2).upper(), tidy(raw))
            parts = split_sentences(text) or [text]
            if not all(self._well_formed(p, ()) for p in parts):
                continue
            if any(term.lower() not in text.lower() for term in required):
                continue
            if all(not self.seen(p) for p in parts):
                return self._commit(text, chosen)
            if fallback is None:
                fallback = (text, chosen)
        if fallback is None or not repeat_ok:
            return None
        return self._commit(*fallback)

    def first(
        self,
        symbols: Iterable[str],
        values: Mapping[str, str],
        *,
        must: Iterable[str] = (),
        repeat_ok: bool = False,
    ) -> str | None:
        """Draw from the first symbol that can say something fresh; with ``repeat_ok``, fall
        back to the first that can say anything at all."""
        required = tuple(must)
        ordered = list(symbols)
        for symbol in ordered:
            text = self.draw(symbol, values, must=required)
            if text is not None:
                return text
        if repeat_ok:
            for symbol in ordered:
                text = self.draw(symbol, values, must=required, repeat_ok=True)
                if text is not None:
                    return text
        return None

    def fragment(self, symbol: str, values: Mapping[str, str]) -> str:
        """A phrase (an opener, a verb phrase) with no checks of its own; empty if unsayable."""
        chosen: list[str] = []
        text = self.grammar.expand(symbol, values, self.rng, self.usage, chosen)
        if text is None:
            return ""
        self._phrases.update(chosen)
        return text

    def _commit(self, text: str, chosen: list[str]) -> str:
        for part in split_sentences(text) or [text]:
            self._fingerprints.add(fingerprint(part))
        self._phrases.update(chosen)
        self._note_names(text)
        return text

    # --- facts to slot values -------------------------------------------------------------------
    def act_values(self, act: Act, **extra: str) -> dict[str, str]:
        """Slot values for one act."""
        values: dict[str, str] = {
            "A": self.call(act.actor_id),
            "K": act.kind.value,
            "O": act.key,
            "P": act.place,
            "Pin": self.ctx.locative(act.place_id),
            "OPEN": "",
        }
        if act.target_id:
            values["T"] = self.call(act.target_id)
        if act.dest_id:
            values["D"] = act.dest or ""
            values["Din"] = (
                self.ctx.locative(act.dest_id)
                if act.dest_id in self.ctx.place_names
                else f"in {act.dest}"
            )
        if act.clue:
            values["C"] = self.clue(act.clue)
        if act.objective:
            values["G"] = act.objective
        if act.offer:
            values["OFFER"] = act.offer
        values["KC"] = "still" if act.kind in _STILL else "deed"
        tail = f"{act.kind.value}.tail.{act.key}"
        values["TL"] = tail if self.grammar.has(tail) else "tail"
        values.update(extra)
        return values

    def must(self, act: Act, values: Mapping[str, str]) -> tuple[str, ...]:
        """The facts a sentence about ``act`` has to name."""
        return tuple(values[slot] for slot in ("T", "D", "C", "G") if slot in values)

    def clue(self, clue: str) -> str:
        """A clue in full the first time it is told in the chronicle, by its short form after."""
        told = normalise(clue)
        if (
            any(told in sentence for sentence in self.memory.told)
            or clue.lower() in self._told_clues
        ):
            return self.ctx.clue_head(clue)
        self._told_clues.add(clue.lower())
        return clue

    def frame_for(self, act: Act, base: str = "frame") -> str:
        """The most specific frame symbol the style defines for this act."""
        for symbol in (f"{base}.{act.kind.value}.{act.key}", f"{base}.{act.kind.value}"):
            if self.grammar.has(symbol):
                return symbol
        return base
