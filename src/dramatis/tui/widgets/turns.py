"""Rendering turns and the world for the Play screen: plain functions returning rich renderables.

Every name, reason, clue and event text comes from sheets, campaign files or models, so it goes
through ``safe()``: shown literally, never parsed as markup, escapes neutralised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from dramatis.domain.ledger import ActionEntry, TurnLedger
from dramatis.domain.world import WorldBrief, WorldState
from dramatis.tui.text import safe

BARS = "▁▂▃▄▅▆▇█"

OUTCOME_MARKS = {
    "success": ("✓", "success"),
    "partial": ("~", "partial"),
    "failure": ("✗", "failure"),
}
SOURCE_LABELS = {"offline": "offline", "gemini": "Gemini", "cache": "cache", "human": "you"}


def tension_bars(history: Sequence[float], width: int) -> str:
    """The last ``width`` tension values as bars on a fixed 0..1 scale."""
    values = list(history)[-width:]
    return "".join(BARS[min(len(BARS) - 1, max(0, round(v * (len(BARS) - 1))))] for v in values)


def tension_style(value: float, colours: Mapping[str, str]) -> str:
    """Calm, rising or high: the theme's success, warning or error colour."""
    if value >= 0.7:
        return colours.get("error", "red")
    if value >= 0.4:
        return colours.get("warning", "yellow")
    return colours.get("success", "green")


def action_phrase(entry: ActionEntry) -> str:
    """What the persona did, briefly: ``confronts Tobiah``, ``moves to the cistern``."""
    target = entry.target_name or entry.target or ""
    action = entry.action.value
    phrases = {
        "move": f"moves to {target}" if target else "moves on",
        "search": "searches",
        "help": f"helps {target}",
        "share": f"shares a clue with {target}",
        "confront": f"confronts {target}",
        "deceive": f"deceives {target}",
        "bargain": f"bargains with {target}",
        "defend": f"defends {target}" if target else "stands guard",
        "hide": f"hides in {target}" if target else "hides",
        "pursue": f"pursues {target}" if target else "pursues the goal",
        "wait": "waits and watches",
    }
    return phrases.get(action, f"{action} {target}".strip())


def outcome_text(entry: ActionEntry, colours: Mapping[str, str]) -> Text:
    mark, word = OUTCOME_MARKS.get(entry.outcome, ("·", entry.outcome))
    style = {"success": "success", "partial": "warning", "failure": "error"}.get(entry.outcome, "")
    return Text(f"{mark} {word}", style=colours.get(style, ""))


def log_lines(ledger: TurnLedger, colours: Mapping[str, str]) -> list[Text]:
    """A turn for the running log: a heading, one line per action, then the events that fired."""
    lines = [Text(f"Turn {ledger.turn_number}", style=f"bold {colours.get('primary', '')}")]
    for entry in ledger.action_log:
        line = Text("  ")
        line.append_text(safe(entry.persona_name, "bold"))
        line.append(" ")
        line.append_text(safe(action_phrase(entry)))
        line.append(" — ")
        line.append_text(outcome_text(entry, colours))
        if entry.consequence:
            line.append(": ")
            line.append_text(safe(entry.consequence, "italic"))
        lines.append(line)
    for event in ledger.events:
        line = Text("  ✦ ", style=colours.get("accent", ""))
        line.append_text(safe(event.title, "bold"))
        line.append(": ")
        line.append_text(safe(event.text, "italic"))
        lines.append(line)
    return lines


def world_panel(
    world: WorldState | None,
    brief: WorldBrief | None,
    names: Mapping[str, str],
    colours: Mapping[str, str],
) -> RenderableType:
    """Where everyone is, what has been found, what is left, who trusts whom."""
    if world is None or brief is None:
        return Text("The world is laid out when the campaign starts.", style="dim")
    heading = colours.get("primary", "")
    parts: list[RenderableType] = []

    def section(title: str) -> None:
        if parts:
            parts.append(Text(""))
        parts.append(Text(title, style=f"bold {heading}"))

    location_names = {loc.id: loc.name for loc in brief.locations}
    section("Where")
    by_place: dict[str, list[str]] = {}
    for pid, loc in world.positions.items():
        by_place.setdefault(loc, []).append(names.get(pid, "?"))
    order = [loc.id for loc in brief.locations if loc.id in by_place] + [
        loc for loc in by_place if loc not in location_names
    ]
    for loc in order:
        label = safe(location_names.get(loc, loc))
        if world.danger.get(loc, 0.0) >= 0.5:
            label.append(" ⚠", style=colours.get("error", "red"))
        parts.append(label)
        parts.append(safe("  " + ", ".join(first_name(n) for n in by_place[loc]), "dim"))

    section("Clues")
    found = Text()
    for index, clue in enumerate(world.discovered_clues):
        if index:
            found.append(" · ", style="dim")
        found.append_text(safe(clue))
    if not world.discovered_clues:
        found.append("none found yet", style="dim")
    hidden = len(world.hidden_clues)
    if hidden:
        found.append(f"  ({hidden} hidden)", style="dim")
    parts.append(found)

    if world.resources:
        section("Resources")
        parts.append(
            safe(" · ".join(f"{name} {amount}" for name, amount in sorted(world.resources.items())))
        )

    if brief.objectives:
        section("Objectives")
        goals = Table.grid(padding=(0, 1), expand=True)
        goals.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        goals.add_column(justify="right", no_wrap=True)
        for objective in brief.objectives:
            done = world.counters.get(objective.name, 0)
            goals.add_row(safe(objective.name), Text(f"{done}/{objective.target}", style="dim"))
        parts.append(goals)

    pairs = [
        (value, a, b)
        for a, row in world.trust.items()
        for b, value in row.items()
        if a != b and abs(value) >= 0.15
    ]
    if pairs:
        section("Trust")
        trust = Table.grid(padding=(0, 1), expand=True)
        trust.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        trust.add_column(justify="right", no_wrap=True)
        for value, a, b in sorted(pairs, key=lambda item: (-abs(item[0]), item[1], item[2]))[:6]:
            who = safe(f"{first_name(names.get(a, '?'))} → {first_name(names.get(b, '?'))}")
            style = colours.get("success" if value > 0 else "error", "")
            trust.add_row(who, Text(f"{value:+.1f}", style=style))
        parts.append(trust)

    if world.fired_events:
        section("Events")
        titles = {event.id: event.title for event in brief.events}
        for event_id in world.fired_events[-3:]:
            parts.append(safe(f"✦ {titles.get(event_id, event_id)}"))
    return Group(*parts)


def first_name(name: str) -> str:
    """``Mirela`` from ``Mirela Voss``: the world panel is narrow."""
    return name.split()[0] if name.split() else name
