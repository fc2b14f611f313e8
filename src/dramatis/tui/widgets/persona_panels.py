"""Pieces of the persona screen: the profile, weight bars, relationships and what a persona knows.

Everything here turns sheet and world data into ``Content``; untrusted text (names, profiles,
clues, model output) goes through ``clean`` and is never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from textual.content import Content

from dramatis.domain.ledger import Provenance
from dramatis.domain.sheet import CharacterSheet
from dramatis.tui.text import clean

SHEET_FORMATS = {"toml": "TOML sheet", "markdown": "markdown sheet", "card_v2": "Card V2"}

BAR_WIDTH = 10


def sheet_format(source_format: str) -> str:
    """A reader's name for a sheet format."""
    return SHEET_FORMATS.get(source_format, source_format or "unknown format")


def heading(text: str) -> Content:
    """A section heading."""
    return Content.styled(text, "bold $accent")


def _lines(parts: Sequence[Content]) -> Content:
    return Content("\n").join(parts)


def profile_content(sheet: CharacterSheet) -> Content:
    """Who the persona is: summary, traits, goals and fears."""
    parts: list[Content] = [heading("Profile")]
    if sheet.summary:
        parts.append(Content(clean(sheet.summary.strip())))
    if sheet.personality:
        parts.append(Content.assemble(("traits ", "dim"), clean(", ".join(sheet.personality))))
    for goal in sheet.goals:
        parts.append(Content.assemble(("goal ", "$success"), clean(goal)))
    for fear in sheet.fears:
        parts.append(Content.assemble(("fear ", "$warning"), clean(fear)))
    if sheet.speech:
        parts.append(Content.assemble(("voice ", "dim"), (clean(sheet.speech.strip()), "italic")))
    if len(parts) == 1:
        parts.append(Content.styled("the sheet says nothing of who they are", "dim italic"))
    return _lines(parts)


def background_content(sheet: CharacterSheet) -> Content:
    """The sheet's longer background text, if it has one beyond the summary."""
    profile = sheet.profile.strip()
    if not profile or profile == sheet.summary.strip():
        return Content("")
    return _lines([heading("Background"), Content.styled(clean(profile), "dim")])


def bar(fraction: float, width: int = BAR_WIDTH, style: str = "$accent") -> Content:
    """A horizontal bar ``width`` cells wide, filled to ``fraction`` (0..1)."""
    filled = max(0, min(width, round(fraction * width)))
    return Content.assemble(("█" * filled, style), ("░" * (width - filled), "$foreground 25%"))


def weights_content(sheet: CharacterSheet) -> Content:
    """The decision weights as bars, core weights first."""
    title = "Decision weights" + (" (inferred)" if sheet.weights_inferred else "")
    parts: list[Content] = [heading(title)]
    weights = sheet.decision_weights
    if not weights:
        parts.append(Content.styled("none declared; the policy uses 0.5 for each", "dim italic"))
        return _lines(parts)
    labels = {key: clean(key.replace("_", " ")) for key in weights}
    width = min(18, max(len(label) for label in labels.values()))
    for key, value in weights.items():
        label = labels[key]
        label = label if len(label) <= width else label[: width - 1] + "…"
        parts.append(Content.assemble(f" {label:<{width}} ", bar(value), (f" {value:.1f}", "bold")))
    return _lines(parts)


def relationships_content(
    persona_id: str,
    names: Mapping[str, str],
    trust: Mapping[str, Mapping[str, float]],
) -> Content:
    """Trust from this persona toward each other participant, and theirs back."""
    parts: list[Content] = [heading("Trust")]
    others = [pid for pid in names if pid != persona_id]
    if not others:
        parts.append(Content.styled("no one else in this campaign", "dim italic"))
        return _lines(parts)
    mine = trust.get(persona_id, {})
    width = min(16, max(len(clean(names[pid])) for pid in others))
    for other in others:
        name = clean(names[other])
        name = name if len(name) <= width else name[: width - 1] + "…"
        toward = mine.get(other, 0.0)
        back = trust.get(other, {}).get(persona_id)
        style = "$success" if toward > 0.05 else "$error" if toward < -0.05 else "$foreground 60%"
        back_text = f"  them {back:+.2f}" if back is not None else ""
        parts.append(
            Content.assemble(
                f" {name:<{width}} ",
                (f"{toward:+.2f} ", f"bold {style}"),
                bar(abs(toward), 6, style),
                (back_text, "dim"),
            )
        )
    return _lines(parts)


def knowledge_content(
    location: str | None, known: Sequence[str], perceived: Sequence[str]
) -> Content:
    """Where the persona is, the clues it knows, and what it saw last turn."""
    parts: list[Content] = [heading("Knows")]
    if location:
        parts.append(Content.assemble(("at ", "dim"), clean(location)))
    if known:
        parts.extend(Content.assemble(("• ", "$accent"), clean(clue)) for clue in known)
    else:
        parts.append(Content.styled("no clues yet", "dim italic"))
    if perceived:
        parts.append(heading("Saw last turn"))
        parts.extend(Content.assemble(("• ", "dim"), clean(line)) for line in perceived)
    return _lines(parts)


def latency_text(ms: float) -> str:
    """A latency a person reads at a glance: <1 ms, 12 ms, 1.2 s."""
    if ms < 1:
        return "<1 ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


def provenance_text(provenance: Provenance) -> str:
    """Source, latency and tokens of a decision, e.g. ``gemini 1.2 s 412/38 tok``."""
    text = f"{provenance.source} {latency_text(provenance.latency_ms)}"
    if provenance.tokens_in is not None or provenance.tokens_out is not None:
        tokens_in = provenance.tokens_in if provenance.tokens_in is not None else "?"
        tokens_out = provenance.tokens_out if provenance.tokens_out is not None else "?"
        text += f" {tokens_in}/{tokens_out} tok"
    return text
