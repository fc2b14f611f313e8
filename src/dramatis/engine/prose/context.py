"""What the chronicler knows about a campaign besides its ledgers: names, places, sheets, style."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from dramatis.domain.campaign_file import ChroniclerSpec
from dramatis.domain.sheet import CharacterSheet
from dramatis.domain.world import BriefEvent, WorldBrief
from dramatis.engine.prose.text import lower_first, words

_ADVERBS: tuple[tuple[str, str], ...] = (
    ("dry", "drily"),
    ("wry", "wryly"),
    ("sardonic", "drily"),
    ("cautious", "carefully"),
    ("careful", "carefully"),
    ("wary", "warily"),
    ("gentle", "gently"),
    ("kind", "gently"),
    ("warm", "warmly"),
    ("gruff", "gruffly"),
    ("blunt", "bluntly"),
    ("cold", "coldly"),
    ("proud", "proudly"),
    ("nervous", "nervously"),
    ("anxious", "anxiously"),
    ("sly", "slyly"),
    ("cunning", "softly"),
    ("calm", "calmly"),
    ("quiet", "quietly"),
    ("fierce", "fiercely"),
    ("bold", "boldly"),
    ("stubborn", "flatly"),
    ("impatient", "impatiently"),
    ("earnest", "earnestly"),
    ("bitter", "bitterly"),
)

_ARTICLE_START = re.compile(r"^(a|an|the)\s", re.IGNORECASE)
_HONORIFICS = words(
    "miss mr mrs ms dr doctor captain old young lady lord sir master mistress brother sister "
    "mother father aunt uncle saint st"
)
_ON = words(
    "road roads terrace deck roof island hill hills cliff cliffs beach ridge wall walls flat flats "
    "moor heath shore stair stairs steps pans pan causeway path track street lane"
)
_AT = words(
    "landing lighthouse gate gates door bridge dock docks pier quay wharf crossroads well ford "
    "station rest inn mill camp fountain altar shrine cairn cottage tollhouse"
)
_NOT_VERBS = words(
    "the a an his her their our my its your this that these those some one two three"
)
_CLUE_CUT = re.compile(
    r"\s(?:in|on|at|with|from|for|of|to|under|inside|behind|between|around|near|that|which|"
    r"who|whose|still|hidden|pressed|notched|packed|dated|signed|naming|promising|standing|"
    r"scratched|drawn|left|found|by|and)\b|[,;:(—–]"
)
_PARTICIPLE = re.compile(
    r"^(?:\w+ed|torn|broken|worn|hidden|written|drawn|stolen|frozen|sewn|sworn|bound|burnt|"
    r"left|kept|caught|cut|set|shut)$"
)


@dataclass(frozen=True)
class ChronicleContext:
    """Everything besides the ledgers that a chapter is written from."""

    campaign_name: str
    names: Mapping[str, str]  # persona id -> display name
    brief: WorldBrief = field(default_factory=WorldBrief)
    description: str = ""
    sheets: Mapping[str, CharacterSheet] = field(default_factory=dict)
    chronicler: ChroniclerSpec = field(default_factory=ChroniclerSpec)
    seed: int = 0

    # --- places ---------------------------------------------------------------------------------
    @cached_property
    def place_names(self) -> dict[str, str]:
        """Location id -> display name."""
        return {loc.id: loc.name for loc in self.brief.locations}

    def place(self, location_id: str | None) -> str:
        """A location's name as it reads mid-sentence ("the Drowned Cistern")."""
        if not location_id:
            return ""
        name = self.place_names.get(location_id, location_id.replace("_", " ").replace("-", " "))
        return lower_first(name)

    # --- clues, objectives, events -------------------------------------------------------------
    @cached_property
    def clues(self) -> tuple[str, ...]:
        """Every clue the brief can put into play, longest first (for matching inside text)."""
        found: list[str] = list(self.brief.clues)
        for event in self.brief.events:
            found.extend(event.effect.add_clues)
            found.extend(event.effect.reveal_clues)
        unique = {clue.strip(): None for clue in found if clue.strip()}
        return tuple(sorted(unique, key=lambda c: (-len(c), c)))

    def clue_in(self, text: str) -> str | None:
        """The first known clue named in ``text`` (case-insensitive), if any."""
        lowered = text.lower()
        for clue in self.clues:
            if clue.lower() in lowered:
                return clue
        return None

    @cached_property
    def objectives(self) -> tuple[str, ...]:
        """Objective names, longest first."""
        return tuple(sorted((o.name for o in self.brief.objectives), key=lambda n: (-len(n), n)))

    def objective_in(self, text: str) -> str | None:
        """The first objective named in ``text``, if any."""
        lowered = text.lower()
        for name in self.objectives:
            if name.lower() in lowered:
                return name
        return None

    @cached_property
    def events(self) -> dict[str, BriefEvent]:
        """Brief event id -> event."""
        return {event.id: event for event in self.brief.events}

    def locative(self, location_id: str | None) -> str:
        """Where-phrase for a location: "in the Drowned Cistern", "at Cairn Well", "on the Road"."""
        place = self.place(location_id)
        if not place:
            return ""
        head = place.split(" of ")[0].split()[-1].lower().strip("'")
        preposition = "on" if head in _ON else "at" if head in _AT else "in"
        return f"{preposition} {place}"

    def description_slots(self, location_id: str) -> dict[str, str]:
        """A location's description as grammar slots: ``PNP`` when it is a singular noun
        phrase ("a stone well under a leaning cairn"), ``PLIST`` otherwise ("dust sheets, a
        cold grate"); empty when the brief gives none."""
        loc = next((loc for loc in self.brief.locations if loc.id == location_id), None)
        if loc is None or not loc.description.strip() or '"' in loc.description:
            return {}
        text = loc.description.strip().rstrip(".")
        first, _, rest = text.partition(" ")
        if first.lower() in ("a", "an", "the") and rest:
            return {"PNP": f"{first.lower()} {rest}"}
        return {"PLIST": text[0].lower() + text[1:]}

    def clue_head(self, clue: str) -> str:
        """A clue's short form for second mentions and titles ("the codicil")."""
        head = _CLUE_CUT.split(clue, maxsplit=1)[0].strip()
        words = head.split()
        for index, word in enumerate(words[2:], start=2):
            if _PARTICIPLE.match(word.lower()):
                words = words[:index]
                break
        if len(words) > 5 or len(words) == len(clue.split()):
            return clue if len(words) <= 5 else " ".join(words[:5])
        if words and words[0].lower() in ("a", "an"):
            words[0] = "the"
        elif words and words[0].lower() != "the" and not words[0][0].isupper():
            words.insert(0, "the")
        return " ".join(words)

    def objective_phrase(self, name: str) -> str:
        """An objective as a noun phrase: "deliver the salt" reads as "delivering the salt"."""
        words = name.strip().split()
        if len(words) < 2:
            return name.strip()
        first = words[0]
        if first.lower() in _NOT_VERBS or first[0].isupper() or first.endswith("ing"):
            return name.strip()
        return " ".join([gerund(first), *words[1:]])

    # --- people ---------------------------------------------------------------------------------
    def name(self, persona_id: str, fallback: str = "") -> str:
        """A persona's display name."""
        if persona_id in self.names:
            return self.names[persona_id]
        sheet = self.sheets.get(persona_id)
        return sheet.name if sheet else (fallback or persona_id)

    def short_name(self, persona_id: str) -> str:
        """What the story calls a persona after the first mention: "Mirela", "Miss Dunn"."""
        full = self.name(persona_id)
        return self._short_names.get(persona_id, full)

    @cached_property
    def _short_names(self) -> dict[str, str]:
        proposals: dict[str, str] = {}
        for pid in self.names:
            words = self.name(pid).split()
            if len(words) < 2:
                continue
            if words[0].lower().rstrip(".") in _HONORIFICS:
                proposals[pid] = f"{words[0]} {words[-1]}" if len(words) > 2 else " ".join(words)
            else:
                proposals[pid] = words[0]
        counts: dict[str, int] = {}
        for short in proposals.values():
            counts[short] = counts.get(short, 0) + 1
        fulls = {self.name(pid) for pid in self.names}
        return {
            pid: short
            for pid, short in proposals.items()
            if counts[short] == 1 and (short not in fulls or short == self.name(pid))
        }

    def location_named(self, name: str) -> str | None:
        """The id of the location with this display name (case-insensitive), if any."""
        wanted = name.strip().lower()
        for loc_id, loc_name in self.place_names.items():
            if loc_name.lower() == wanted or lower_first(loc_name).lower() == wanted:
                return loc_id
        return None

    def traits(self, persona_id: str) -> str:
        """Up to two personality traits joined for prose ("cautious and dry-witted")."""
        sheet = self.sheets.get(persona_id)
        if sheet is None:
            return ""
        traits = [t.strip().lower() for t in sheet.personality if t.strip()][:2]
        return " and ".join(traits)

    def summary(self, persona_id: str) -> str:
        """The sheet's summary as an appositive ("a ferrywoman who owes the salt-lord")."""
        sheet = self.sheets.get(persona_id)
        if sheet is None or not sheet.summary.strip():
            return ""
        first = re.split(r"(?<=[.!?])\s", sheet.summary.strip())[0].rstrip(".!? ")
        if not _ARTICLE_START.match(first) or len(first) > 90 or '"' in first:
            return ""
        return first[0].lower() + first[1:]

    def goal(self, persona_id: str) -> str:
        """The persona's first goal, lower-cased for use after a colon."""
        sheet = self.sheets.get(persona_id)
        if sheet is None or not sheet.goals:
            return ""
        goal = sheet.goals[0].strip().rstrip(".!")
        if not goal or len(goal) > 80 or '"' in goal:
            return ""
        return goal[0].lower() + goal[1:] if not goal[:2].isupper() else goal

    def adverb(self, persona_id: str) -> str:
        """A speech adverb that fits the persona's traits or voice note ("drily"), or empty."""
        sheet = self.sheets.get(persona_id)
        if sheet is None:
            return ""
        haystack = " ".join((*sheet.personality, sheet.speech)).lower()
        for key, adverb in _ADVERBS:
            if re.search(rf"\b{key}", haystack):
                return adverb
        return ""


_DOUBLE_FINAL = re.compile(r"^(?:[^aeiou]*[aeiou])[bdgmnprt]$")


def gerund(verb: str) -> str:
    """The -ing form of an English verb, by the usual spelling rules."""
    lowered = verb.lower()
    if lowered.endswith("ie"):
        stem = verb[:-2] + "y"
    elif lowered.endswith("e") and not lowered.endswith(("ee", "oe", "ye")) and len(lowered) > 2:
        stem = verb[:-1]
    elif _DOUBLE_FINAL.match(lowered) and not lowered.endswith(("w", "x", "y")):
        stem = verb + verb[-1]
    else:
        stem = verb
    return stem + "ing"
