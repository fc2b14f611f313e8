"""Reading a character sheet into the numbers the policy and the dice use.

A sheet's free-text personality, goals, fears and speech are matched against small keyword
lexicons; its decision weights and stats are read as they are. The result, a ``Profile``, is
computed once per sheet object and cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from dramatis.domain.actions import ActionKind
from dramatis.domain.sheet import CharacterSheet


def _lexicon(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {key: tuple(stem.strip() for stem in value.split("|")) for key, value in table.items()}


# Stems of four letters or more also match longer words ("cautio" matches "cautious");
# shorter ones match whole words only; stems with a space match as phrases.
TRAIT_LEXICON = _lexicon(
    {
        "cautious": "cautio|careful|wary|prudent|timid|nervous|coward|anxious|fearful|"
        "meticulous|guarded|skittish|hesitant",
        "bold": "reckless|impulsive|rash|bold|daring|brave|fearless|headstrong|adventur|"
        "courageous|wild|audacious|foolhardy",
        "honest": "honest|truthful|sincere|principled|honourable|honorable|upright|forthright|"
        "candid|frank|straightforward",
        "deceitful": "deceit|deceptive|liar|lie|lies|lying|manipulat|sly|scheming|devious|"
        "dishonest|duplicitous|treacherous|two-faced|slippery|crafty|wily|conniving",
        "curious": "curious|inquisitive|observant|scholar|studious|nosy|questioning|investigat|"
        "perceptive|analytical|inquiring",
        "loyal": "loyal|devoted|faithful|dutiful|steadfast|protective|dependable|reliable",
        "ambitious": "ambitio|driven|greedy|determined|opportunis|mercenary|hungry|avaricious|"
        "calculating|grasping",
        "kind": "kind|gentle|compassion|warm|generous|empath|caring|tender|merciful|nurturing|"
        "soft-hearted|friendly|good-natured",
        "cruel": "cruel|ruthless|cold|callous|vicious|sadistic|heartless|brutal|vindictive|"
        "spiteful|merciless",
        "suspicious": "suspicio|paranoi|distrust|mistrust|cynic|skeptic|sceptic|jaded",
        "charming": "charm|charismatic|silver-tongued|persuasive|smooth|witty|flirt|eloquent|"
        "dry-witted",
        "aggressive": "aggressive|hot-tempered|short-tempered|angry|volatile|hostile|"
        "quarrelsome|combative|belligerent|violent|fierce|irascible",
        "secretive": "secretive|reserved|private|withdrawn|aloof|taciturn|enigmatic|mysterious|"
        "guarded|quiet",
    }
)

GOAL_THEMES = _lexicon(
    {
        "truth": "truth|find|learn|know|discover|uncover|secret|answer|understand|solve|mystery|"
        "clue|investigat|what happened",
        "protect": "protect|safe|save|guard|shield|defend|care for|rescue",
        "escape": "escape|survive|leave|home|flee|alive|get out|live",
        "wealth": "wealth|gold|money|profit|fortune|rich|debt|pay|reward|salvage|coin|treasure|"
        "cargo",
        "justice": "justice|revenge|avenge|expose|punish|accountab|unmask|arrest|guilty|culprit",
        "bond": "friend|family|love|together|belong|reconcil|forgive|brother|sister|daughter|"
        "son|mother|father",
    }
)

FEAR_THEMES = _lexicon(
    {
        "harm": "death|die|dying|dead|pain|harm|hurt|injur|violence|drown|fire|storm|dark|"
        "blood|wound|sea|cold|monster|killed|heights|water|deep",
        "betrayal": "betray|lies|lied|liar|deceit|trust|backstab|traitor",
        "exposure": "expos|discovered|caught|found out|secret|arrest|prison|jail|gallows|"
        "hanged|past",
        "failure": "fail|losing|lose|useless|weak|disgrace|shame|letting",
        "solitude": "alone|abandon|lonel|forgotten|isolat|left behind",
    }
)

REGISTERS = _lexicon(
    {
        "terse": "terse|clipped|blunt|laconic|curt|few words|short sentences",
        "formal": "formal|courtly|precise|archaic|polite|measured|proper|stately|eloquent|educated",
        "rough": "rough|coarse|swear|curse|salty|slang|gruff|crude|growl",
        "warm": "warm|gentle|soft|cheerful|bubbly|lilting|kindly|tender",
    }
)

STAT_ALIASES: dict[str, tuple[str, ...]] = {
    key: tuple(value.split())
    for key, value in {
        ActionKind.SEARCH: "wits perception insight intellect intelligence mind awareness",
        ActionKind.MOVE: "agility speed dexterity athletics body",
        ActionKind.HIDE: "stealth agility dexterity cunning",
        ActionKind.HELP: "empathy heart charm presence charisma",
        ActionKind.SHARE: "charm empathy presence charisma heart",
        ActionKind.BARGAIN: "charm presence charisma cunning guile",
        ActionKind.CONFRONT: "nerve presence strength might will courage",
        ActionKind.DECEIVE: "guile cunning deception charm charisma",
        ActionKind.DEFEND: "strength toughness body might nerve grit",
        ActionKind.PURSUE: "resolve will grit skill craft wits",
        ActionKind.WAIT: "perception wits insight patience",
        "peril": "toughness body strength grit agility nerve",
        "resist_confront": "nerve will courage resolve presence",
        "resist_deceive": "insight wits perception intellect intelligence",
        "resist_bargain": "cunning wits nerve guile",
    }.items()
}
"""Which sheet stats count for a roll: the best one the sheet has. A stat of 3 is average."""

TRAIT_ROLL_BONUS: dict[str, dict[str, int]] = {
    "cautious": {ActionKind.HIDE: 1, ActionKind.DEFEND: 1, ActionKind.CONFRONT: -1},
    "bold": {ActionKind.CONFRONT: 1, ActionKind.PURSUE: 1, ActionKind.HIDE: -1},
    "honest": {ActionKind.SHARE: 1, ActionKind.HELP: 1, ActionKind.DECEIVE: -2},
    "deceitful": {ActionKind.DECEIVE: 2, ActionKind.SHARE: -1},
    "curious": {ActionKind.SEARCH: 2},
    "loyal": {ActionKind.DEFEND: 1, ActionKind.HELP: 1},
    "ambitious": {ActionKind.PURSUE: 1, ActionKind.BARGAIN: 1},
    "kind": {ActionKind.HELP: 1, ActionKind.CONFRONT: -1},
    "cruel": {ActionKind.CONFRONT: 1, ActionKind.HELP: -1},
    "suspicious": {ActionKind.SEARCH: 1},
    "charming": {ActionKind.BARGAIN: 2, ActionKind.DECEIVE: 1, ActionKind.SHARE: 1},
    "aggressive": {ActionKind.CONFRONT: 2, ActionKind.BARGAIN: -1},
    "secretive": {ActionKind.HIDE: 1, ActionKind.DECEIVE: 1},
}
"""Trait bonuses to the acting persona's rolls (the sum is capped at +-2)."""

NEGATIONS = frozenset({"not", "never", "no", "hardly", "rarely", "seldom", "nor"})
_STOP_TEXT = """the a an and or of to in on at for with from by my his her their our your its
    this that
    these those be is are was were been being have has had will would shall should can could may
    might must into onto over under about after before again all any some more most other such
    only own same than too very just also what which who whom whose when where while why how
    them they she he him it we us you me i not never no"""
STOPWORDS = frozenset(_STOP_TEXT.split())
_GENERIC_TEXT = """keep get make take find bring see know want stay give hand earn leave away put
    everyone anyone someone something anything nothing everything before until done own one out
    off back up down let help try stop become"""
GENERIC_WORDS = frozenset(_GENERIC_TEXT.split())

_WORD_RE = re.compile(r"[a-z][a-z'-]*")
_QUOTE_RE = re.compile(r"""(?:^|(?<=[\s(:;,]))["'“‘]([^"'”’\n]{1,40}?)["'”’](?=[\s.,;:!?)]|$)""")


@dataclass(frozen=True, slots=True)
class Profile:
    """A sheet read for play: weights, traits, themes, roll bonuses and voice."""

    name: str
    self_preservation: float
    loyalty: float
    relationships: float
    mission: float
    morality: float
    traits: frozenset[str]
    trait_words: dict[str, str]  # canonical trait -> the sheet's own word for it
    goal_themes: frozenset[str]
    fear_themes: frozenset[str]
    goals: tuple[str, ...]
    fears: tuple[str, ...]
    goal_words: frozenset[str]
    fear_words: frozenset[str]
    goal_tokens: frozenset[str]  # every word of the goals, for matching names
    fear_tokens: frozenset[str]
    goal_text: dict[str, str]  # goal theme -> the goal that shows it
    fear_text: dict[str, str]  # fear theme -> the fear that shows it
    roll_bonus: dict[str, int]  # action kind or check name -> modifier
    register: str
    catchphrases: tuple[str, ...]

    def has(self, trait: str) -> float:
        """1.0 when the sheet shows ``trait``, else 0.0."""
        return 1.0 if trait in self.traits else 0.0


def words(text: str) -> list[str]:
    """Lower-case words of ``text``, keeping hyphenated words whole."""
    return _WORD_RE.findall(text.lower())


def content_words(text: str) -> frozenset[str]:
    """The meaningful words of ``text``: three letters or more, no stopwords and no verbs that
    say nothing on their own ("keep", "get", "find"), trailing 's cut."""
    found: set[str] = set()
    for word in words(text):
        for part in (word, *word.split("-")):
            part = part.removesuffix("'s").strip("'-")
            if len(part) >= 3 and part not in STOPWORDS and part not in GENERIC_WORDS:
                found.add(part)
    return frozenset(found)


def _stem_hits(token: str, stem: str) -> bool:
    if " " in stem:
        return False
    return token == stem or (len(stem) >= 4 and token.startswith(stem))


def match_lexicon(texts: tuple[str, ...], lexicon: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Map each lexicon key found in ``texts`` to the word that matched it (negations skipped)."""
    found: dict[str, str] = {}
    for text in texts:
        lowered = text.lower()
        tokens = words(text)
        for key, stems in lexicon.items():
            if key in found:
                continue
            for stem in stems:
                if " " in stem and stem in lowered:
                    found[key] = stem
                    break
                hit = _first_hit(tokens, stem)
                if hit is not None:
                    found[key] = hit
                    break
    return found


def _first_hit(tokens: list[str], stem: str) -> str | None:
    for index, token in enumerate(tokens):
        candidates = (token, *token.split("-")) if "-" in token and "-" not in stem else (token,)
        for candidate in candidates:
            if _stem_hits(candidate, stem):
                if index > 0 and tokens[index - 1] in NEGATIONS:
                    break
                return token
    return None


def _register(speech: str) -> str:
    lowered = speech.lower()
    for name, keys in REGISTERS.items():
        if any(key in lowered for key in keys):
            return name
    return "plain"


def _catchphrases(speech: str) -> tuple[str, ...]:
    phrases = []
    for match in _QUOTE_RE.finditer(speech):
        phrase = match.group(1).strip().rstrip(".!?,;:")
        if phrase and len(phrase.split()) <= 6:
            phrases.append(phrase)
    return tuple(dict.fromkeys(phrases))


def _stat_mod(stats: dict[str, int], aliases: tuple[str, ...]) -> int:
    values = [stats[name] for name in aliases if name in stats]
    if not values:
        return 0
    return max(-2, min(2, max(values) - 3))


def _tokens(texts: tuple[str, ...]) -> frozenset[str]:
    found: set[str] = set()
    for text in texts:
        for word in words(text):
            found.update(part.removesuffix("'s") for part in (word, *word.split("-")))
    return frozenset(found)


def _theme_text(texts: tuple[str, ...], lexicon: dict[str, tuple[str, ...]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in texts:
        for theme in match_lexicon((text,), lexicon):
            found.setdefault(theme, text)
    return found


@lru_cache(maxsize=4096)
def name_tokens(name: str) -> frozenset[str]:
    """The words of a name worth matching against goals and fears (three letters or more);
    a possessive counts as the name ("Edda's" is "edda")."""
    found = (w.removesuffix("'s").removesuffix("’s") for w in words(name))
    return frozenset(w for w in found if len(w) >= 3 and w not in STOPWORDS)


def build_profile(sheet: CharacterSheet) -> Profile:
    """Read ``sheet`` into a ``Profile`` (uncached; prefer ``profile_of``)."""
    traits = match_lexicon(sheet.personality, TRAIT_LEXICON)
    goal_themes = match_lexicon(sheet.goals, GOAL_THEMES)
    fear_themes = match_lexicon(sheet.fears, FEAR_THEMES)
    stats = {key.strip().lower(): value for key, value in sheet.stats.items()}
    bonus: dict[str, int] = {}
    for key, aliases in STAT_ALIASES.items():
        bonus[str(key)] = _stat_mod(stats, aliases)
    trait_bonus: dict[str, int] = {}
    for trait in traits:
        for kind, value in TRAIT_ROLL_BONUS[trait].items():
            trait_bonus[str(kind)] = trait_bonus.get(str(kind), 0) + value
    for kind, value in trait_bonus.items():
        bonus[kind] = bonus.get(kind, 0) + max(-2, min(2, value))
    goal_words: set[str] = set()
    for goal in sheet.goals:
        goal_words |= content_words(goal)
    fear_words: set[str] = set()
    for fear in sheet.fears:
        fear_words |= content_words(fear)
    goals = tuple(goal.strip() for goal in sheet.goals if goal.strip())
    fears = tuple(fear.strip() for fear in sheet.fears if fear.strip())
    return Profile(
        name=sheet.name,
        self_preservation=sheet.weight("self_preservation"),
        loyalty=sheet.weight("loyalty"),
        relationships=sheet.weight("relationships"),
        mission=sheet.weight("mission"),
        morality=sheet.weight("morality"),
        traits=frozenset(traits),
        trait_words=traits,
        goal_themes=frozenset(goal_themes),
        fear_themes=frozenset(fear_themes),
        goals=goals,
        fears=fears,
        goal_words=frozenset(goal_words),
        fear_words=frozenset(fear_words),
        goal_tokens=_tokens(goals),
        fear_tokens=_tokens(fears),
        goal_text=_theme_text(goals, GOAL_THEMES),
        fear_text=_theme_text(fears, FEAR_THEMES),
        roll_bonus=bonus,
        register=_register(sheet.speech),
        catchphrases=_catchphrases(sheet.speech),
    )


_CACHE: dict[int, tuple[CharacterSheet, Profile]] = {}
_BY_CONTENT: dict[str, Profile] = {}
_CACHE_LIMIT = 256


def profile_of(sheet: CharacterSheet) -> Profile:
    """The cached ``Profile`` of ``sheet``: by identity first (the sheet is held while cached),
    then by its canonical content, so a sheet loaded again from the store (a new object with
    the same content, as every process and every reload makes) is not read a second time."""
    entry = _CACHE.get(id(sheet))
    if entry is not None and entry[0] is sheet:
        return entry[1]
    content = sheet.canonical_json()
    profile = _BY_CONTENT.get(content)
    if profile is None:
        profile = build_profile(sheet)
        if len(_BY_CONTENT) >= _CACHE_LIMIT:
            _BY_CONTENT.pop(next(iter(_BY_CONTENT)))
        _BY_CONTENT[content] = profile
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(sheet)] = (sheet, profile)
    return profile
