"""Chapter assembly: an opening that sets place and stakes, the turns told scene by scene, fired
brief events given room, and a close with consequences and a hook, then the citation line."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from dramatis.domain.actions import ActionKind
from dramatis.domain.ledger import FiredEvent, TurnLedger
from dramatis.engine.prose.beats import Act, Beat, Scene, build_scenes, read_turn
from dramatis.engine.prose.context import ChronicleContext
from dramatis.engine.prose.memory import ChroniclerMemory, pair_fact
from dramatis.engine.prose.realiser import Narrator, derive_rng
from dramatis.engine.prose.styles import get_style
from dramatis.engine.prose.text import citation_line, speech, speech_with_comma, title_case

_TENSION_STEP = 0.08
_VERB_SLOT = re.compile(
    r"(?:\bto|\bi'll|\bi will|\bi must|\bi can|\bwe'll|\bwe|\blet's|\bi|\bmust|\bcan|"
    r"\bshould|\bwill)\s+$"
)
_HOSTILE = frozenset({ActionKind.CONFRONT, ActionKind.DECEIVE})


def level(tension: float) -> str:
    """The named band of a tension value."""
    if tension < 0.35:
        return "low"
    if tension < 0.65:
        return "mid"
    return "high"


@dataclass
class _Tally:
    """What this chapter has shown so far, for openers, closes, hooks and the title."""

    pairs: set[str] = field(default_factory=set)
    done: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    habits: Counter[tuple[object, ...]] = field(default_factory=Counter)
    trust: Counter[tuple[str, str]] = field(default_factory=Counter)
    clues: list[str] = field(default_factory=list)
    events: list[FiredEvent] = field(default_factory=list)
    pursuit: Counter[tuple[str, str]] = field(default_factory=Counter)
    milestones: list[Act] = field(default_factory=list)
    hurt: list[Act] = field(default_factory=list)
    searched: set[str] = field(default_factory=set)
    described: set[str] = field(default_factory=set)
    quotes: int = 0
    acts: list[Act] = field(default_factory=list)


@dataclass(frozen=True)
class WrittenChapter:
    """The product of a ChapterWriter."""

    title: str
    markdown: str
    turns: tuple[int, ...]


class ChapterWriter:
    """Writes one chapter from its ledgers, under the chronicle's memory."""

    def __init__(
        self,
        number: int,
        ledgers: Sequence[TurnLedger],
        ctx: ChronicleContext,
        memory: ChroniclerMemory,
    ) -> None:
        if not ledgers:
            raise ValueError("a chapter needs at least one turn ledger to cite")
        self.number = number
        self.ledgers = sorted(ledgers, key=lambda ledger: ledger.turn_number)
        self.ctx = ctx
        self.memory = memory
        self.style = get_style(ctx.chronicler.style)
        # Structure (order of scenes, who speaks) is shared by every style: styles change the
        # voice, not the facts. Wording draws from its own stream per style.
        self.plot = derive_rng(ctx.seed, "plot", number)
        self.words = derive_rng(ctx.seed, "words", number, self.style.name)
        self.narrator = Narrator(ctx, self.style, memory, self.words)
        self.told_facts = memory.facts(ctx)
        self.known = frozenset(self.told_facts)
        self.tally = _Tally()
        self.turn_acts = [read_turn(ledger, ctx) for ledger in self.ledgers]
        self.positions: dict[str, str] = {}
        for acts in self.turn_acts:
            for act in acts:
                self.positions.setdefault(act.actor_id, act.place_id)
        self.quote_budget = max(2, (len(self.ledgers) + 1) // 2)

    # --- the whole chapter ----------------------------------------------------------------------
    def write(self) -> WrittenChapter:
        """Compose the chapter's markdown."""
        blocks: list[str] = []
        blocks.extend(self._opening())
        previous_quiet = False
        for index, (ledger, acts) in enumerate(zip(self.ledgers, self.turn_acts, strict=True)):
            quiet = self._quiet(ledger, acts)
            turn_blocks = self._turn(ledger, acts, first=index == 0, quiet=quiet)
            if quiet and previous_quiet and blocks and _is_prose(blocks[-1]) and turn_blocks:
                blocks[-1] = f"{blocks[-1]} {turn_blocks[0]}"
                turn_blocks = turn_blocks[1:]
            blocks.extend(turn_blocks)
            previous_quiet = quiet
        blocks.append(self._close())
        turns = tuple(ledger.turn_number for ledger in self.ledgers)
        blocks.append(citation_line(turns))
        title = self._title()
        body = "\n\n".join(block for block in blocks if block.strip())
        markdown = f"## Chapter {self.number} — {title}\n\n{body}\n"
        return WrittenChapter(title=title, markdown=markdown, turns=turns)

    # --- helpers --------------------------------------------------------------------------------
    def _place_values(
        self, location_id: str, ids: Sequence[str] = (), *, crowd_ok: bool = False
    ) -> dict[str, str]:
        """Slots for a place, and for the people there unless ``crowd_ok`` and it is everyone
        (then the place carries the sentence, not a roll-call of every name)."""
        values = {"P": self.ctx.place(location_id), "Pin": self.ctx.locative(location_id)}
        if ids and not (crowd_ok and len(ids) == len(self._cast()) > 2):
            values["AA"] = self.narrator.call_all(ids)
            values["WAS"] = "were" if len(ids) > 1 else "was"
        return values

    def _cast(self) -> list[str]:
        seen: dict[str, None] = {}
        for acts in self.turn_acts:
            for act in acts:
                seen.setdefault(act.actor_id, None)
        return list(seen)

    def _groups(self, positions: dict[str, str]) -> list[tuple[str, list[str]]]:
        groups: dict[str, list[str]] = defaultdict(list)
        for pid in self._cast():
            if pid in positions:
                groups[positions[pid]].append(pid)
        return sorted(groups.items())

    def _crowd(self) -> tuple[str, list[str]]:
        """The place where most personas stand now, and who is there."""
        counts = Counter(self.positions.values())
        if not counts:
            return "", []
        place = min(counts, key=lambda loc: (-counts[loc], loc))
        return place, [pid for pid in self._cast() if self.positions.get(pid) == place]

    def _describe(self, location_id: str) -> str | None:
        """The place's own description, the first time the story is there."""
        if not location_id or location_id in self.tally.described:
            return None
        self.tally.described.add(location_id)
        loc = next((loc for loc in self.ctx.brief.locations if loc.id == location_id), None)
        if loc is None or self.memory.mentions(loc.description):
            return None
        slots = self.ctx.description_slots(location_id)
        if not slots:
            return None
        values = {**self._place_values(location_id), **slots}
        return self.narrator.first(["place.np", "place.list"], values)

    # --- opening --------------------------------------------------------------------------------
    def _opening(self) -> list[str]:
        blocks: list[str] = []
        n = self.narrator
        first_chapter = self.memory.chapters == 0
        if first_chapter:
            authored = self.ctx.brief.opening.strip() or self.ctx.description.strip()
            if authored:
                blocks.append(n.keep(authored))
        sentences: list[str] = []
        groups = self._groups(self.positions)
        self.plot.shuffle(groups)
        for place_id, ids in groups:
            said = n.draw("where", self._place_values(place_id, ids))
            if said:
                sentences.append(said)
                described = self._describe(place_id)
                if described:
                    sentences.append(described)
        for pid in self._cast():
            if f"intro:{pid}" in self.known and not first_chapter:
                continue
            values = {"A": n.call(pid), **self._place_values(self.positions.get(pid, ""))}
            for slot, value in (
                ("TRAITS", self.ctx.traits(pid)),
                ("SUMMARY", self.ctx.summary(pid)),
                ("GOAL", self.ctx.goal(pid)),
            ):
                if value:
                    values[slot] = value
            intro = n.draw("intro", values)
            if intro:
                sentences.append(intro)
        tension = self.ledgers[0].tension_before
        crowd, _ = self._crowd()
        if first_chapter:
            stakes = n.draw(f"stakes.{level(tension)}", self._place_values(crowd))
        else:
            recap = None
            clue = _last(self.told_facts, "clue:")
            event_id = _last(self.told_facts, "event:")
            if event_id and event_id in self.ctx.events and self.plot.random() < 0.5:
                recap = n.draw("recap.event", {"E": self.ctx.events[event_id].title})
            elif clue and self.plot.random() < 0.7:
                recap = n.draw("recap.clue", {"C": self.ctx.clue_head(clue)})
            if recap:
                sentences.append(recap)
            stakes = n.draw(f"mood.{level(tension)}", self._place_values(crowd))
        if stakes:
            sentences.append(stakes)
        if sentences:
            blocks.append(" ".join(sentences))
        if first_chapter:
            for event in self.ctx.brief.events:
                if event.trigger.kind == "start":
                    fired = FiredEvent(id=event.id, title=event.title, text=event.text)
                    blocks.append(self._event(fired, None, []))
        return blocks

    # --- a turn ---------------------------------------------------------------------------------
    def _quiet(self, ledger: TurnLedger, acts: list[Act]) -> bool:
        return (
            not ledger.events
            and all(act.salience <= 1 for act in acts)
            and abs(ledger.tension_after - ledger.tension_before) < _TENSION_STEP
        )

    def _turn(self, ledger: TurnLedger, acts: list[Act], *, first: bool, quiet: bool) -> list[str]:
        tension = level(ledger.tension_before)
        hot_first = tension == "high" and self.plot.random() < 0.35
        scenes = build_scenes(acts, self.plot, hot_first=hot_first)
        blocks: list[str] = []
        paragraph: list[str] = []
        if quiet and scenes and self.plot.random() < 0.5:
            lull = self.narrator.draw("lull", self._place_values(scenes[0].place_id))
            if lull:
                paragraph.append(lull)
        for scene_index, scene in enumerate(scenes):
            described = self._describe(scene.place_id)
            if described:
                paragraph.append(described)
            for beat_index, beat in enumerate(scene.beats):
                sentences, aside = self._beat(
                    beat,
                    scene,
                    tension,
                    new_scene=scene_index > 0 and beat_index == 0,
                    para_start=not paragraph,
                    chapter_start=first and scene_index == 0 and beat_index == 0,
                )
                paragraph.extend(sentences)
                for act in beat.acts:
                    if act.dest_id and act.end_place_id == act.dest_id:
                        arrived = self._describe(act.dest_id)
                        if arrived:
                            paragraph.append(arrived)
                if aside:
                    if paragraph:
                        blocks.append(" ".join(paragraph))
                        paragraph = []
                    blocks.append(aside)
        for act in acts:
            self.positions[act.actor_id] = act.end_place_id
        if not ledger.events:
            change = self._tension_sentence(ledger, acts)
            if change:
                paragraph.append(change)
        if paragraph:
            blocks.append(" ".join(paragraph))
        for index, event in enumerate(ledger.events):
            last = index == len(ledger.events) - 1
            blocks.append(self._event(event, ledger, acts, react=last))
        return blocks

    def _opener(
        self,
        tension: str,
        scene: Scene,
        beat: Beat,
        *,
        new_scene: bool,
        para_start: bool,
        chapter_start: bool,
    ) -> tuple[str, bool]:
        """An opener for the beat's sentence, and whether it is only a time marker."""
        lead = beat.lead
        n = self.narrator
        values = self._place_values(scene.place_id)
        repeated = lead.target_id and self.tally.done[(lead.actor_id, lead.target_id, lead.kind)]
        if repeated and self.plot.random() < 0.7:
            return n.fragment("open.again", values), False
        if new_scene:
            return n.fragment("open.scene", values), False
        if para_start and not chapter_start and self.plot.random() < 0.6:
            return n.fragment(f"open.time.{tension}", values), True
        return "", False

    def _beat(
        self,
        beat: Beat,
        scene: Scene,
        tension: str,
        *,
        new_scene: bool,
        para_start: bool,
        chapter_start: bool,
    ) -> tuple[list[str], str | None]:
        n = self.narrator
        sentences: list[str] = []
        lead = beat.lead
        habit = self._habit(beat)
        if habit is not None:
            for act in beat.acts:
                self._record(act)
            return ([habit] if habit else []), None
        opener, time_only = self._opener(
            tension,
            scene,
            beat,
            new_scene=new_scene,
            para_start=para_start,
            chapter_start=chapter_start,
        )
        meet = None
        if lead.target_id and lead.key != "missed":
            fact = pair_fact(lead.actor_id, lead.target_id)
            if fact not in self.known and fact not in self.tally.pairs:
                meet = n.draw("meet.first", n.act_values(lead))
                if meet and time_only:
                    opener = ""
            self.tally.pairs.add(fact)
        text = self._realise(beat, lead, opener)
        if text:
            sentences.extend(part for part in (meet, text) if part)
        if beat.shape == "exchange":
            answer = beat.acts[1]
            if answer.kind in _HOSTILE and lead.kind not in _HOSTILE:
                tone = "open.reply.betray"
            elif answer.kind in _HOSTILE:
                tone = "open.reply.hostile"
            elif lead.kind in _HOSTILE:
                tone = "open.reply.despite"
            else:
                tone = "open.reply"
            reply = n.fragment(tone, self._place_values(answer.place_id))
            values = n.act_values(answer, OPEN=reply)
            text = n.first(
                [self._frame(answer, reply), "frame"],
                values,
                must=n.must(answer, values),
                repeat_ok=True,
            )
            if text:
                sentences.append(text)
        for act in beat.acts:
            self._record(act)
            peril = self._peril(act)
            if peril:
                sentences.append(peril)
        aside = None
        speakers = [act for act in beat.acts if self._wants_quote(act, beat, tension)]
        if beat.shape != "exchange":
            speakers = speakers[:1]
        lines = [q for act in speakers if (q := self._quote(act))]
        if lines:
            as_block = beat.shape == "exchange" and len(lines) > 1
            if as_block or self.plot.random() < 0.35:
                aside = "\n>\n".join(f"> {line}" for line in lines)
            else:
                sentences.extend(lines)
        return sentences, aside

    def _realise(self, beat: Beat, lead: Act, opener: str) -> str | None:
        n = self.narrator
        if beat.shape == "group":
            values = n.act_values(
                lead, A=n.call_all(a.actor_id for a in beat.acts), OPEN=opener, WAS="were"
            )
            return n.first(
                [n.frame_for(lead, "frame.group"), "frame.group"],
                values,
                must=n.must(lead, values),
                repeat_ok=True,
            )
        if beat.shape == "aid":
            people = list(
                dict.fromkeys(x for a in beat.acts for x in (a.actor_id, a.target_id) if x)
            )
            failed = [a.actor_id for a in beat.acts if a.outcome == "failure"]
            values = {"AA": n.call_all(people), "OPEN": opener, **self._place_values(lead.place_id)}
            told = n.first(["aid"], values)
            if told is None:
                return " ".join(
                    t for a in beat.acts if (t := self._realise(Beat("solo", (a,)), a, ""))
                )
            if failed:
                slip = n.first(
                    ["aid.slip"],
                    {"AF": n.call_all(failed), "WAS": "were" if len(failed) > 1 else "was"},
                    repeat_ok=True,
                )
                told = f"{told} {slip}" if slip else told
            return told
        if beat.shape == "crowd":
            won = [a.actor_id for a in beat.acts if a.outcome != "failure"]
            lost = [a.actor_id for a in beat.acts if a.outcome == "failure"]
            values = n.act_values(
                lead, A=n.call_all(a.actor_id for a in beat.acts), OPEN=opener, WAS="were"
            )
            values.update(
                ALL="both" if len(beat.acts) == 2 else "all",
                AS=n.call_all(won),
                AF=n.call_all(lost),
            )
            if not won or not lost:
                return " ".join(
                    t for a in beat.acts if (t := self._realise(Beat("solo", (a,)), a, ""))
                )
            task = n.first(["frame.crowd"], values, must=n.must(lead, values), repeat_ok=True)
            luck = n.first(["crowd.mixed"], values, repeat_ok=True)
            return " ".join(part for part in (task, luck) if part) or None
        if beat.shape == "while":
            minor = beat.acts[1]
            quiet = n.fragment(f"{minor.kind.value}.vp", {"K": minor.kind.value})
            if quiet:
                values = n.act_values(lead, OPEN=opener, A2=n.call(minor.actor_id), V2=quiet)
                text = n.first(["frame.while"], values, must=n.must(lead, values))
                if text:
                    return text
            solo = self._realise(Beat("solo", (lead,)), lead, opener)
            rest = self._realise(Beat("solo", (minor,)), minor, "")
            return " ".join(part for part in (solo, rest) if part) or None
        values = n.act_values(lead, OPEN=opener)
        symbols = [self._frame(lead, opener), "frame"]
        text = n.first(symbols, values, must=n.must(lead, values))
        if text is None and not opener:
            # Everything this frame can say was said before: let a fresh opener vary it.
            tension = level(self.ledgers[0].tension_before)
            fresh = n.fragment(f"open.time.{tension}", self._place_values(lead.place_id))
            values = n.act_values(lead, OPEN=fresh)
            text = n.first([self._frame(lead, fresh)], values, must=n.must(lead, values))
        if text is None:
            text = n.first(symbols, values, must=n.must(lead, values), repeat_ok=True)
        if text is None:
            # The grammar cannot carry every detail at once: tell who did what to whom.
            essential = tuple(values[slot] for slot in ("T", "D") if slot in values)
            text = n.first(symbols, values, must=essential, repeat_ok=True)
        return text

    def _frame(self, act: Act, opener: str) -> str:
        return self.narrator.frame_for(act, "frame.open" if opener else "frame")

    def _habit(self, beat: Beat) -> str | None:
        """For a beat that repeats an earlier one of this chapter: a brief mention, nothing (an
        empty string) once it has become routine, or None when the beat is news."""
        if beat.shape in ("group", "crowd", "aid") or beat.lead.kind is ActionKind.MOVE:
            return None
        key = (beat.shape, *((a.actor_id, a.kind, a.target_id, a.key) for a in beat.acts))
        seen = self.tally.habits[key]
        self.tally.habits[key] += 1
        if seen == 0 or any(a.peril or a.clue or a.key == "milestone" for a in beat.acts):
            return None
        n = self.narrator
        lead = beat.lead
        if seen >= 2 and self.plot.random() < 0.5:
            return ""
        if beat.shape == "exchange" and beat.acts[1].kind is lead.kind:
            values = n.act_values(lead)
            text = n.draw("habit.mutual", values, must=(values["T"],))
        else:
            values = n.act_values(lead)
            text = n.draw("habit", values, must=n.must(lead, values))
        return text

    def _record(self, act: Act) -> None:
        t = self.tally
        t.acts.append(act)
        if act.target_id and act.key != "missed":
            t.done[(act.actor_id, act.target_id, act.kind)] += 1
            score = act.trust
            if act.kind is ActionKind.CONFRONT:
                score -= 1
            if act.kind is ActionKind.DECEIVE and act.outcome == "failure":
                score -= 2
            if act.kind is ActionKind.BARGAIN and act.outcome == "success":
                score += 1
            t.trust[(act.actor_id, act.target_id)] += score
        if act.clue and act.clue not in t.clues and f"clue:{act.clue}" not in self.known:
            t.clues.append(act.clue)
        if act.kind is ActionKind.PURSUE and act.objective and act.outcome != "failure":
            t.pursuit[(act.actor_id, act.objective)] += 1
        if act.key == "milestone":
            t.milestones.append(act)
        if act.peril in ("hurt", "badly"):
            t.hurt.append(act)
        if act.kind is ActionKind.SEARCH:
            t.searched.add(act.place_id)

    def _peril(self, act: Act) -> str | None:
        if act.peril is None:
            return None
        n = self.narrator
        values = {"A": n.call(act.actor_id), **self._place_values(act.place_id)}
        symbol = f"peril.{act.peril}"
        if act.refuge:
            values["D"] = act.refuge
            return n.first([f"{symbol}.fled", symbol], values, must=(act.refuge,), repeat_ok=True)
        return n.draw(symbol, values, repeat_ok=True)

    # --- speech ---------------------------------------------------------------------------------
    def _wants_quote(self, act: Act, beat: Beat, tension: str) -> bool:
        if self.tally.quotes >= self.quote_budget or act.key == "missed":
            return False
        chance = {0: 0.05, 1: 0.1, 2: 0.22, 3: 0.4}.get(act.salience, 0.55)
        if beat.shape == "exchange":
            chance += 0.2
        if tension == "high":
            chance += 0.1
        return self.plot.random() < chance

    def _quote(self, act: Act) -> str | None:
        words = speech(act.reason)
        if words is None or self.narrator.quoted(words) or self._awkward(words):
            return None
        say = f"say.{act.kind.value}"
        values = {
            "A": self.narrator.call(act.actor_id),
            "Q": words,
            "Qc": speech_with_comma(words),
            "SAY": say if self.narrator.grammar.has(say) else "say",
        }
        adverb = self.ctx.adverb(act.actor_id)
        if adverb:
            values["ADV"] = adverb
        line = self.narrator.draw("quote", values)
        if line:
            self.narrator.mark_quoted(words)
            self.tally.quotes += 1
        return line

    def _awkward(self, words: str) -> bool:
        """True when a reason uses a verb-phrase objective as a noun ("against deliver the
        salt"): quoting it would put a stumble in a character's mouth."""
        lowered = words.lower()
        for name in self.ctx.objectives:
            if self.ctx.objective_phrase(name) == name:
                continue
            for match in re.finditer(re.escape(name.lower()), lowered):
                before = lowered[: match.start()]
                if not _VERB_SLOT.search(before):
                    return True
        return False

    # --- tension and events ---------------------------------------------------------------------
    def _present(self, acts: list[Act]) -> tuple[str, list[str]]:
        where: dict[str, list[str]] = defaultdict(list)
        for act in acts:
            where[act.end_place_id].append(act.actor_id)
        if not where:
            return self._crowd()
        place = min(where, key=lambda loc: (-len(where[loc]), loc))
        return place, where[place]

    def _tension_sentence(self, ledger: TurnLedger, acts: list[Act]) -> str | None:
        delta = ledger.tension_after - ledger.tension_before
        if abs(delta) < _TENSION_STEP:
            return None
        direction = "rise" if delta > 0 else "fall"
        place, ids = self._present(acts)
        values = self._place_values(place, ids, crowd_ok=True)
        return self.narrator.draw(f"tension.{direction}.{level(ledger.tension_after)}", values)

    def _event(
        self, event: FiredEvent, ledger: TurnLedger | None, acts: list[Act], *, react: bool = True
    ) -> str:
        n = self.narrator
        self.tally.events.append(event)
        parts: list[str] = []
        head = n.draw("event.head", {"E": event.title}, repeat_ok=True)
        if head:
            parts.append(head)
        parts.append(n.keep(event.text.strip()))
        delta = ledger.tension_after - ledger.tension_before if ledger else 0.1
        direction = "rise" if delta > 0.05 else "fall" if delta < -0.05 else "steady"
        brief = self.ctx.events.get(event.id)
        place, ids = self._present(acts)
        if brief is not None and brief.location:
            there = [a.actor_id for a in acts if a.end_place_id == brief.location]
            if there or not acts:
                place, ids = brief.location, there or ids
        if react:
            values = {"E": event.title, **self._place_values(place, ids, crowd_ok=True)}
            reaction = n.draw(f"event.react.{direction}", values)
            if reaction:
                parts.append(reaction)
        return " ".join(parts)

    # --- close ----------------------------------------------------------------------------------
    def _close(self) -> str:
        n = self.narrator
        t = self.tally
        options: list[tuple[str, dict[str, str]]] = []
        if t.clues:
            heads = [self.ctx.clue_head(c) for c in t.clues]
            listed = {"CL": _join(heads, self.style.conjunction)}
            if len(heads) > 1:
                listed["CL2"] = listed["CL"]
            options.append(("close.clues", listed))
        if t.milestones:
            act = t.milestones[-1]
            options.append(
                ("close.milestone", {"A": n.call(act.actor_id), "G": act.objective or ""})
            )
        if t.hurt:
            act = t.hurt[-1]
            options.append(
                ("close.hurt", {"A": n.call(act.actor_id), **self._place_values(act.place_id)})
            )
        if t.trust:
            worst = min(t.trust, key=lambda k: (t.trust[k], self._names(k)))
            best = max(t.trust, key=lambda k: (t.trust[k], self._names(k)))
            if t.trust[worst] < 0:
                options.append(("close.rift", self._pair_values(worst)))
            if t.trust[best] > 0:
                options.append(("close.bond", self._pair_values(best)))
        if t.pursuit and not t.milestones:
            (pid, objective), _ = max(
                t.pursuit.items(), key=lambda kv: (kv[1], self.ctx.name(kv[0][0]), kv[0][1])
            )
            options.append(("close.pursue", {"A": n.call(pid), "G": objective}))
        self.plot.shuffle(options)
        options.sort(key=lambda o: o[0] not in ("close.milestone", "close.clues"))
        sentences = [s for symbol, values in options[:2] if (s := n.draw(symbol, values))]
        final = self.ledgers[-1].tension_after
        place, ids = self._crowd()
        closing = n.draw(
            f"close.tension.{level(final)}", self._place_values(place, ids, crowd_ok=True)
        )
        if closing:
            sentences.append(closing)
        hook = self._hook(final)
        if hook:
            sentences.append(hook)
        return " ".join(sentences)

    def _names(self, pair: tuple[str, str]) -> tuple[str, str]:
        """A pair of personas by name: ties break the same way whatever their ids are."""
        return (self.ctx.name(pair[0]), self.ctx.name(pair[1]))

    def _pair_values(self, pair: tuple[str, str]) -> dict[str, str]:
        return {"A": self.narrator.call(pair[0]), "T": self.narrator.call(pair[1])}

    def _hook(self, final: float) -> str | None:
        t = self.tally
        options: list[tuple[float, str, dict[str, str]]] = []
        if t.trust:
            worst = min(t.trust, key=lambda k: (t.trust[k], self._names(k)))
            if t.trust[worst] < 0:
                options.append((3.0, "hook.rift", self._pair_values(worst)))
        place, _ = self._crowd()
        if level(final) == "high":
            options.append((3.0, "hook.tension", self._place_values(place)))
        counts = Counter(self.positions.values())
        alone = sorted(
            (pid for pid, loc in self.positions.items() if counts[loc] == 1), key=self.ctx.name
        )
        if alone:
            pid = alone[int(self.plot.random() * len(alone))]
            values = {"A": self.narrator.call(pid), **self._place_values(self.positions[pid])}
            options.append((1.5, "hook.alone", values))
        if t.events:
            options.append((2.0, "hook.event", {"E": t.events[-1].title}))
        unsearched = sorted(set(self.ctx.place_names) - t.searched)
        if unsearched and self.ctx.clues:
            loc = unsearched[int(self.plot.random() * len(unsearched))]
            options.append((1.0, "hook.hidden", self._place_values(loc)))
        finished = {act.objective for act in t.milestones}
        for (pid, objective), _ in sorted(
            t.pursuit.items(), key=lambda kv: (self.ctx.name(kv[0][0]), kv[0][1])
        ):
            if objective in finished:
                continue
            options.append((1.0, "hook.goal", {"A": self.narrator.call(pid), "G": objective}))
            break
        options.append((0.5, "hook.tension", self._place_values(place)))
        total = sum(weight for weight, _, _ in options)
        point = self.plot.random() * total
        ordered = list(options)
        for index, (weight, _, _) in enumerate(options):
            point -= weight
            if point <= 0:
                ordered.insert(0, ordered.pop(index))
                break
        for _, symbol, values in ordered:
            hook = self.narrator.draw(symbol, values)
            if hook:
                return hook
        return None

    # --- title ----------------------------------------------------------------------------------
    def _title(self) -> str:
        t = self.tally
        short = self.ctx.short_name
        candidates: list[tuple[int, str, dict[str, str]]] = []
        for event in t.events:
            candidates.append((10, "title.event", {"E": event.title}))
        for act in t.acts:
            values = {"A": short(act.actor_id), "P": act.place}
            if act.target_id:
                values["T"] = short(act.target_id)
            if act.key == "missed":
                continue
            if act.clue and act.clue in t.clues:
                candidates.append((7, "title.clue", {**values, "C": self.ctx.clue_head(act.clue)}))
            if act.key == "milestone" and act.objective:
                candidates.append((8, "title.milestone", {**values, "G": act.objective}))
            if act.peril in ("hurt", "badly"):
                candidates.append((5, "title.hurt", values))
            if act.kind is ActionKind.DECEIVE:
                candidates.append((6 if act.outcome == "failure" else 4, "title.deceive", values))
            elif act.kind is ActionKind.CONFRONT:
                candidates.append((5, "title.confront", values))
            elif act.kind in (ActionKind.SHARE, ActionKind.BARGAIN, ActionKind.HELP):
                candidates.append((3, f"title.{act.kind.value}", values))
            elif act.kind is ActionKind.PURSUE and act.objective and act.outcome == "success":
                candidates.append((3, "title.pursue", {**values, "G": act.objective}))
            elif act.kind is ActionKind.MOVE and act.dest and act.outcome != "failure":
                candidates.append((2, "title.move", {**values, "D": act.dest}))
            elif act.kind is ActionKind.HIDE:
                candidates.append((1, "title.hide", values))
        place, _ = self._crowd()
        if level(self.ledgers[-1].tension_after) == "high":
            candidates.append((4, "title.tension", {"P": self.ctx.place(place)}))
        candidates.append((0, "title.place", {"P": self.ctx.place(place)}))
        jitter = [self.plot.random() for _ in candidates]
        order = sorted(range(len(candidates)), key=lambda i: -(candidates[i][0] + 2.5 * jitter[i]))
        used = {title.lower() for title in self.memory.titles}
        grammar = self.style.grammar
        for index in order:
            _, symbol, values = candidates[index]
            for _attempt in range(4):
                raw = grammar.expand(symbol, values, self.words, self.narrator.usage)
                if raw is None:
                    break
                title = title_case(raw.strip())
                if title.lower() not in used:
                    return title
        return f"{title_case(self.ctx.place(place) or self.ctx.campaign_name)}, Again"


def _is_prose(block: str) -> bool:
    return not block.startswith((">", "*—", "#"))


def _last(facts: Sequence[str], prefix: str) -> str | None:
    for fact in reversed(facts):
        if fact.startswith(prefix):
            return fact[len(prefix) :]
    return None


def _join(items: Sequence[str], conjunction: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"
