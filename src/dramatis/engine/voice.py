"""One-sentence reasons in a persona's own voice.

A reason is a motive (from the factor that weighed most in the choice) joined to what the
persona does, in one of several sentence shapes, coloured by the register of its ``speech``
(terse, formal, rough, warm or plain) and now and then by a catchphrase quoted there.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection

from dramatis.domain.actions import ActionKind
from dramatis.engine.traits import Profile

K = ActionKind

MOTIVES: dict[str, tuple[str, ...]] = {
    "peril": (
        "the danger in {place} is too real to ignore",
        "{place} is turning deadly",
        "nobody thanks a corpse",
        "it's getting too hot in {place} for my liking",
        "one wrong step here and it's over",
        "I mean to live through this",
        "I can feel {place} closing in on us",
        "with things this tense, staying alive comes first",
        "I've seen what {place} does to the careless",
        "the air in {place} has turned bad",
    ),
    "flee": (
        "{dest} is safer than {place}",
        "staying in {place} is asking for trouble",
        "there's less danger in {dest}",
        "{place} is no place to linger",
        "I'd rather be anywhere but {place} right now",
        "I want walls I trust around me, and {dest} has them",
    ),
    "wounds": (
        "I'm hurt, and I won't last if I'm careless",
        "this wound won't stop bleeding",
        "I can barely stand",
        "every step reminds me I'm wounded",
        "I'm in no shape for heroics",
        "a hurt animal goes to ground",
    ),
    "fear": (
        "{fear} is the one thing I can't face",
        "I keep thinking of {fear}",
        "I won't let {fear} have me",
        "the thought of {fear} won't leave me alone",
        "{fear} is what keeps me awake at night",
        "every instinct I have is warning me of {fear}",
    ),
    "loyalty": (
        "{t} has stood by me, and I'll stand by them",
        "I owe {t} that much",
        "{t} is one of mine",
        "loyalty isn't something I switch off when it gets dark",
        "we came in together and we'll leave together",
        "{t} would do the same for me",
        "nobody touches {t} while I'm here",
        "I don't abandon my own, and {t} is my own",
    ),
    "warmth": (
        "I've come to trust {t}",
        "{t} has earned a little goodwill",
        "I like {t}, more than I let on",
        "{t} and I understand each other",
        "{t} has been straight with me",
        "it's good to have {t} close",
    ),
    "gratitude": (
        "{t} helped me when it counted",
        "I haven't forgotten what {t} did for me",
        "I owe {t} a debt, and I pay my debts",
        "{t} stood by me and I'll return the favour",
        "{t} was there for me when I needed it",
    ),
    "distrust": (
        "I don't trust {t} an inch",
        "{t} has been hiding something",
        "something about {t} smells wrong",
        "I've had enough of {t}'s games",
        "{t} knows more than they let on",
        "I'm done giving {t} the benefit of the doubt",
        "every word from {t} has a hook in it",
    ),
    "grudge": (
        "after what {t} did, they have this coming",
        "I haven't forgotten what {t} just pulled",
        "{t} crossed me, and that doesn't go unanswered",
        "{t} started this",
        "{t} made this personal",
        "I still feel the sting of what {t} did",
    ),
    "justice": (
        "{t} lied, and lies have to be answered",
        "someone has to hold {t} to account",
        "what {t} did was wrong, and I'll say so",
        "{t} doesn't get to deceive us and walk away",
        "the truth matters, even with {t}",
    ),
    "mission": (
        "{obj} won't finish itself",
        "we're here for {obj}, and nothing else",
        "every hour lost is an hour against {obj}",
        "the job comes first",
        "I didn't come this far to stall on {obj}",
        "{obj} is why we're here",
        "if nobody sees to {obj}, it's all been for nothing",
    ),
    "clues": (
        "we need answers, and they're hidden somewhere",
        "the answers are close, I can feel it",
        "what we don't know is what will hurt us",
        "somebody here knows more than they say",
        "every clue we find brings the end closer",
        "we can't finish this blind",
    ),
    "curiosity": (
        "there's something in {place} nobody has found yet",
        "I need to know what really happened",
        "questions left unanswered have a way of biting back",
        "I can't leave a puzzle alone",
        "{place} is keeping a secret and I want it",
        "my curiosity won't let me sit still",
    ),
    "conscience": (
        "it's the right thing to do",
        "I couldn't live with myself otherwise",
        "decency costs nothing",
        "someone has to act honestly here",
        "my conscience won't let me do less",
        "I'd rather be good than safe",
    ),
    "ambition": (
        "there's advantage to be had here",
        "I didn't come here to leave with nothing",
        "fortune favours whoever moves first",
        "this is how people like me get ahead",
        "I can see an opening, and I mean to take it",
    ),
    "goal": (
        "it all comes back to what I came for: {goal}",
        "I haven't forgotten my purpose: {goal}",
        "I keep my eyes on one thing: {goal}",
        "I came here for {goal}",
        "everything I do here is for {goal}",
    ),
    "goal_do": (
        "I came here to {goal}",
        "I mean to {goal}, whatever it takes",
        "all I want is to {goal}",
        "I promised myself I would {goal}",
        "I still have to {goal}",
        "my whole purpose here is to {goal}",
        "I won't rest until I {goal}",
    ),
    "company": (
        "I don't want to face this alone",
        "there's safety in numbers",
        "being alone out here is worse than any danger",
        "I need people around me I can see",
    ),
    "protector": (
        "keeping people safe is what I do",
        "I've always been the one who stands in front",
        "someone has to watch over the others",
        "I know what it is to lose someone",
    ),
    "default": (
        "it seems the sensible thing to do",
        "it's the best of a poor set of choices",
        "somebody has to",
        "it's what the moment asks for",
        "I see no better use of my time",
    ),
    "idle": (
        "nothing here calls for me just yet",
        "it pays to watch before you act",
        "I want to see which way this breaks",
        "there's nothing to gain by rushing",
        "the moment isn't right",
    ),
    "trait:cautious": (
        "caution has kept me alive this long",
        "I don't rush into things",
        "better a slow step than a last one",
        "I like to see trouble before it sees me",
    ),
    "trait:bold": (
        "sitting still was never my way",
        "fortune favours the bold",
        "I'd rather regret doing than waiting",
        "somebody has to make the first move",
    ),
    "trait:honest": (
        "I'd rather the truth be out",
        "lying never sat right with me",
        "plain dealing is the only kind I know",
    ),
    "trait:deceitful": (
        "the truth is a tool like any other",
        "a well-placed story is worth more than a blade",
        "people believe what they want to, and I know what they want",
    ),
    "trait:kind": (
        "nobody should have to face this alone",
        "a little kindness goes a long way in a place like this",
        "I can't stand to watch someone struggle",
    ),
    "trait:cruel": (
        "weakness invites what it gets",
        "fear is useful, and I know how to use it",
        "I have no patience for soft hearts",
    ),
    "trait:suspicious": (
        "everyone here has an angle",
        "trust is how people get killed",
        "I watch everyone, and that's how I stay alive",
    ),
    "trait:charming": (
        "a smile opens more doors than a crowbar",
        "people like giving me what I ask for",
        "a pleasant word costs me nothing",
    ),
    "trait:aggressive": (
        "I'm done being patient",
        "my blood is up",
        "I settle things head-on",
    ),
    "trait:secretive": (
        "what I know stays with me",
        "the less anyone sees of me, the better",
        "I keep my cards close",
    ),
}
MOTIVES["trait:loyal"] = MOTIVES["loyalty"]
MOTIVES["trait:ambitious"] = MOTIVES["ambition"]
MOTIVES["trait:curious"] = MOTIVES["curiosity"]

DEEDS: dict[tuple[ActionKind, bool], tuple[str, ...]] = {
    (K.MOVE, True): (
        "head for {dest}",
        "make my way to {dest}",
        "get myself to {dest}",
        "go to {dest}",
        "take the way to {dest}",
        "try my luck in {dest}",
    ),
    (K.SEARCH, False): (
        "search {place} properly",
        "turn {place} over for whatever it's hiding",
        "look closer at {place}",
        "go through {place} inch by inch",
        "see what {place} has kept from us",
        "comb {place} once more",
    ),
    (K.HELP, True): (
        "lend {t} a hand",
        "help {t}",
        "stand with {t} and make the work lighter",
        "give {t} what help I can",
        "make {t}'s task easier",
        "see {t} through this",
    ),
    (K.SHARE, True): (
        "tell {t} what I know",
        "let {t} in on what I've found",
        "share what I know with {t}",
        "make sure what I know reaches {t}",
    ),
    (K.CONFRONT, True): (
        "have it out with {t}",
        "confront {t}",
        "put {t} on the spot",
        "press {t} until something gives",
        "call {t} to account",
        "face {t} down",
    ),
    (K.DECEIVE, True): (
        "feed {t} a story",
        "mislead {t}",
        "tell {t} what they want to hear",
        "spin {t} a tale",
        "keep {t} looking the wrong way",
        "lead {t} up the garden path",
    ),
    (K.BARGAIN, True): (
        "strike a bargain with {t}",
        "make {t} an offer",
        "trade with {t}",
        "see what I can get from {t} for what we have",
        "put a deal to {t}",
    ),
    (K.DEFEND, False): (
        "keep my guard up",
        "stand my ground and watch",
        "brace myself",
        "hold my position",
        "stand guard",
    ),
    (K.DEFEND, True): (
        "stand guard over {t}",
        "keep {t} safe",
        "put myself between {t} and harm",
        "watch {t}'s back",
        "keep an eye out for {t}",
    ),
    (K.HIDE, False): (
        "keep my head down",
        "find a dark corner and stay in it",
        "make myself scarce",
        "lie low",
        "get out of sight",
        "go to ground in {place}",
    ),
    (K.HIDE, True): (
        "slip away to {dest}",
        "get out of here, to {dest}",
        "retreat to {dest}",
        "steal away to {dest}",
    ),
    (K.PURSUE, True): (
        "push on with {obj}",
        "work at {obj}",
        "get on with {obj}",
        "keep at {obj}",
        "put my back into {obj}",
        "see to {obj}",
    ),
    (K.WAIT, False): (
        "wait and watch",
        "hold still and see what comes",
        "bide my time",
        "keep still and listen",
        "do nothing rash for now",
        "watch and wait",
    ),
}

FORMS: dict[str, tuple[str, ...]] = {
    "plain": (
        "{Open}{m}, so {will} {vp}.",
        "{Will} {vp}, because {m}.",
        "{M}, and that's why {will} {vp}.",
        "{M}; {will} {vp}.",
        "{Will} {vp}: {m}.",
        "Since {m}, {will} {vp}.",
        "{Open}{will} {vp}, since {m}.",
        "{M}, so the thing to do is {vp}.",
    ),
    "terse": (
        "{M}; {will} {vp}.",
        "{Will} {vp}: {m}.",
        "{M}; {vp}, then.",
        "{Will} {vp}, since {m}.",
    ),
}
FORMS["formal"] = FORMS["plain"]
FORMS["rough"] = FORMS["plain"]
FORMS["warm"] = FORMS["plain"]

OPENERS: dict[str, tuple[str, ...]] = {
    "plain": ("", "", "", "Well, ", "Right, ", "All right, "),
    "terse": ("",),
    "formal": ("", "", "Indeed, ", "To my mind, ", "Very well: "),
    "rough": ("", "", "Look, ", "Hell, ", "Right, ", "Damn it, "),
    "warm": ("", "", "Oh, ", "Ah, ", "Well, "),
}


def _motive_first(form: str) -> bool:
    where = form.find("{m}") if "{m}" in form else form.find("{M}")
    return where < form.find("{vp}")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


_TITLE_TEXT = (
    "the captain doctor dr dr. mr mr. mrs mrs. ms ms. miss sir lady lord father mother sister "
    "brother old young madame master mistress professor uncle aunt saint st st."
)
TITLES = frozenset(_TITLE_TEXT.split())
_FIRST_PERSON = (
    (re.compile(r"\b(?:him|her|them)sel(?:f|ves)\b", re.IGNORECASE), "myself"),
    (re.compile(r"\bhis\b", re.IGNORECASE), "my"),
    (re.compile(r"\bher own\b", re.IGNORECASE), "my own"),
)


_VERB_TEXT = """find keep save deliver raise relight signal repair reach escape protect recover
    restore open secure clear build fix light rescue catch stop expose solve win defend hold guard
    bring return carry cross break burn destroy steal hide search map mend seal free unmask prove
    learn uncover discover get make take end finish lift haul salvage sell buy pay earn warn tend
    feed heal bury track hunt chart sail row climb dig decode translate convince persuade unite
    reunite claim survive outlast drive lead rebuild clean drain pump launch load unload ring"""
OBJECTIVE_VERBS = frozenset(_VERB_TEXT.split())
_MORE_VERBS = "be pay see become stay live go marry avenge kill spend tell show give put look come"
GOAL_VERBS = OBJECTIVE_VERBS | frozenset(_MORE_VERBS.split())


def gerund(verb: str) -> str:
    """'find' -> 'finding', 'save' -> 'saving', 'stop' -> 'stopping'."""
    if verb.endswith("ie"):
        return verb[:-2] + "ying"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    vowels = "aeiou"
    if (
        len(verb) <= 4
        and len(verb) >= 3
        and verb[-1] not in vowels + "wxy"
        and verb[-2] in vowels
        and verb[-3] not in vowels
    ):
        return verb + verb[-1] + "ing"
    return verb + "ing"


def objective_phrase(name: str) -> str:
    """An objective's name as a noun phrase: 'find the true will' -> 'finding the true will'."""
    first, _, rest = name.partition(" ")
    if first.lower() in OBJECTIVE_VERBS:
        return f"{gerund(first.lower())} {rest}".strip()
    return name


def short_name(name: str) -> str:
    """How a persona calls another in speech: the first name, unless it is a title."""
    first = name.split(" ", 1)[0]
    if not first or first.lower() in TITLES or first == name:
        return name
    return first


def soften(text: str, proper: Collection[str] = ()) -> str:
    """A sheet phrase fit for mid-sentence in the persona's own voice: trailing stop removed,
    third-person 'his'/'himself' made first-person, first letter lowered unless it starts a name."""
    text = text.strip().rstrip(".!;")
    for pattern, replacement in _FIRST_PERSON:
        text = pattern.sub(replacement, text)
    if len(text) > 90:
        text = text[:90].rsplit(" ", 1)[0]
    first = text.split(" ", 1)[0].strip(",:;'\"").removesuffix("'s")
    if not first or first in proper or first.isupper() or first == "I":
        return text
    return text[:1].lower() + text[1:]


def phrase_reason(
    profile: Profile,
    factor: str,
    action: ActionKind,
    slots: dict[str, str],
    rng: random.Random,
) -> str:
    """One sentence, in ``profile``'s voice, saying that ``factor`` drove ``action``."""
    goal = slots.get("goal", "")
    if factor == "goal" and goal.split(" ", 1)[0].lower() in GOAL_VERBS:
        factor = "goal_do"
    motives = MOTIVES.get(factor) or MOTIVES["idle"]
    deeds = DEEDS.get((action, "t" in slots or "dest" in slots or "obj" in slots))
    if deeds is None:
        deeds = DEEDS.get((action, False)) or DEEDS.get((action, True)) or DEEDS[(K.WAIT, False)]
    register = profile.register
    motive_template = rng.choice(motives)
    if factor == "goal_do" and goal.startswith("be "):
        motive_template = motive_template.replace("until I {goal}", "until I can {goal}")
    motive = motive_template.format_map(_Slots(slots))
    deed_template = rng.choice(deeds)
    forms = FORMS.get(register, FORMS["plain"])
    if ":" in motive:
        forms = tuple(f for f in forms if f.endswith("{m}.") and ": {m}" not in f) or forms
    if motive.startswith("if "):
        forms = tuple(f for f in forms if not f.startswith("Since")) or forms
    form = rng.choice(forms)
    opener = rng.choice(OPENERS.get(register, OPENERS["plain"]))
    will = "I shall" if register == "formal" else "I'll"
    if profile.catchphrases and ":" not in motive and rng.random() < 0.3:
        opener = _capital(rng.choice(profile.catchphrases)) + ", "
        form = "{Open}{m}, so {will} {vp}."
    deed_slots = dict(slots)
    if _motive_first(form):
        # The motive already named them: "Osk is one of mine, so I'll lend them a hand."
        if "{t}" in motive_template and "{t}" in deed_template:
            deed_template = deed_template.replace("{t}'s", "their")
            deed_slots["t"] = "them"
        if "{obj}" in motive_template and "{obj}" in deed_template:
            deed_slots["obj"] = "it"
    deed = deed_template.format_map(_Slots(deed_slots))
    sentence = form.format(
        Open=opener,
        m=motive,
        M=_capital(motive),
        vp=deed,
        will=will,
        Will=will,
    )
    sentence = _capital(sentence)
    if len(sentence) > 400:
        sentence = sentence[:396].rsplit(" ", 1)[0] + "..."
    return sentence


_SLOT_DEFAULTS = {
    "t": "them",
    "place": "this place",
    "dest": "somewhere safer",
    "obj": "the task",
    "fear": "the worst",
    "goal": "what I came for",
}


class _Slots(dict[str, str]):
    """Template slots; a missing one reads as a neutral phrase rather than failing."""

    def __missing__(self, key: str) -> str:
        return _SLOT_DEFAULTS.get(key, key)
