"""Screen 3, Persona: why did they do that?

The persona's sheet (format, hash, profile, weights), where it stands with the others, what it
knows, and every decision it made in the campaign with its provenance and the exact context it
was given. Left/right step through turns; tab moves to the next persona of the campaign.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from dramatis.domain.campaign import Campaign
from dramatis.domain.errors import DomainError
from dramatis.domain.sheet import CharacterSheet
from dramatis.services.errors import ServiceError
from dramatis.services.views import DecisionView, PersonaView
from dramatis.tui.screens.timetravel import persona_panels_at
from dramatis.tui.text import clean, safe
from dramatis.tui.widgets.persona_panels import (
    background_content,
    knowledge_content,
    profile_content,
    provenance_text,
    relationships_content,
    sheet_format,
    weights_content,
)

OUTCOME_STYLE = {"success": "green", "partial": "yellow", "failure": "red"}
OUTCOME_MARK = {"success": "✓", "partial": "~", "failure": "✗"}


@dataclass
class _Loaded:
    """What the screen shows, loaded in one go."""

    persona: PersonaView | None = None
    sheet: CharacterSheet | None = None
    campaign: Campaign | None = None
    decisions: list[DecisionView] = field(default_factory=list)
    problem: str | None = None


class PersonaScreen(Screen[None]):
    """Inspect one persona: sheet, weights, trust, knowledge, decisions and their context."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (110, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "left",
            "previous_turn",
            "prev turn",
            id="persona.previous_turn",
            key_display="←",
            priority=True,
        ),
        Binding(
            "right",
            "next_turn",
            "next turn",
            id="persona.next_turn",
            key_display="→",
            priority=True,
        ),
        Binding("tab", "next_persona", "persona", id="persona.next_persona"),
        Binding(
            "pagedown",
            "scroll_context(1)",
            "context",
            id="persona.context_down",
            key_display="pgdn",
            priority=True,
        ),
        Binding(
            "pageup",
            "scroll_context(-1)",
            "context",
            id="persona.context_up",
            key_display="pgup",
            priority=True,
        ),
    ]

    DEFAULT_CSS = """
    PersonaScreen {
        layout: vertical;
    }
    PersonaScreen #persona-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    PersonaScreen #persona-body {
        height: 1fr;
    }
    PersonaScreen #persona-info {
        width: 40%;
        max-width: 60;
        min-width: 34;
        height: 1fr;
        padding: 0 1;
        border-right: tall $panel;
        scrollbar-size-vertical: 1;
    }
    PersonaScreen #persona-info > Static {
        margin-bottom: 1;
    }
    PersonaScreen #persona-main {
        width: 1fr;
        height: 1fr;
    }
    PersonaScreen #persona-decisions {
        height: auto;
        max-height: 45%;
        border-top: solid $primary-muted;
        border-title-color: $text-accent;
    }
    PersonaScreen #persona-decisions:focus {
        border-top: solid $primary;
    }
    PersonaScreen #persona-decision {
        margin-bottom: 1;
    }
    PersonaScreen #persona-context-label {
        color: $text-muted;
        text-style: italic;
    }
    PersonaScreen #persona-context {
        height: 1fr;
        padding: 0 1;
        border-top: solid $primary-muted;
        border-title-color: $text-accent;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    PersonaScreen #persona-context:focus {
        border-top: solid $primary;
    }

    /* Narrow terminals: the sheet panels sit side by side in a strip above the decisions. */
    PersonaScreen.-narrow #persona-body {
        layout: vertical;
    }
    PersonaScreen.-narrow #persona-info {
        width: 1fr;
        max-width: 100%;
        min-width: 0;
        height: 8;
        border-right: none;
        layout: grid;
        grid-size: 2;
        grid-gutter: 0 2;
        grid-rows: auto;
    }
    PersonaScreen.-narrow #persona-info > Static {
        margin-bottom: 0;
    }
    PersonaScreen.-narrow #persona-info > #persona-background {
        column-span: 2;
    }
    PersonaScreen.-narrow #persona-decisions {
        max-height: 6;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = asyncio.Lock()
        self._loaded = _Loaded()
        self._turns: list[int] = []
        self.persona_id: str | None = None
        """The persona shown (the app's persona, or the campaign's first when it has none)."""
        self.turn: int | None = None
        """The turn whose decision and context are shown."""
        self.context_text: str = ""
        """The exact context text shown for ``turn``."""
        self.world_turn: int | None = None
        """The turn whose trust and knowledge are shown (None: the campaign as it is now)."""

    def compose(self) -> ComposeResult:
        yield Static(id="persona-title")
        with Horizontal(id="persona-body"):
            with VerticalScroll(id="persona-info"):
                yield Static(id="persona-profile")
                yield Static(id="persona-weights")
                yield Static(id="persona-trust")
                yield Static(id="persona-knows")
                yield Static(id="persona-background")
            with Vertical(id="persona-main"):
                table: DataTable[Text] = DataTable(
                    id="persona-decisions", cursor_type="row", zebra_stripes=True
                )
                table.border_title = "Decisions"
                yield table
                with VerticalScroll(id="persona-context"):
                    yield Static(id="persona-decision")
                    yield Static("Context given, exactly:", id="persona-context-label")
                    yield Static(id="persona-context-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#persona-context", VerticalScroll).border_title = "Decision"
        self.query_one(DataTable).focus()

    def on_resize(self) -> None:
        self.query_one(Footer).compact = self.size.width < 110

    # ------------------------------------------------------------------ data

    async def refresh_data(self) -> None:
        """Reload the persona, its sheet, the campaign world and the decisions."""
        async with self._lock:
            loaded = await self._load()
            self._loaded = loaded
            self._show(loaded)

    async def _load(self) -> _Loaded:
        dramatis = getattr(self.app, "dramatis", None)
        if dramatis is None:
            return _Loaded(problem="The store is not open yet.")
        campaign_id: str | None = getattr(self.app, "campaign_id", None)
        persona_id: str | None = getattr(self.app, "persona_id", None)
        loaded = _Loaded()
        try:
            if campaign_id:
                loaded.campaign = await dramatis.campaigns.get(campaign_id)
                ids = loaded.campaign.participant_ids
                if persona_id not in ids:
                    persona_id = ids[0] if ids else None
            if persona_id is None:
                loaded.problem = (
                    "No persona chosen. Pick a campaign on the Setup screen, then inspect "
                    "one of its personas from Play."
                )
                return loaded
            loaded.persona = await dramatis.personas.get(persona_id)
            loaded.sheet = await dramatis.personas.sheet(persona_id)
            loaded.decisions = await dramatis.personas.decisions(persona_id, campaign_id)
        except (ServiceError, DomainError) as exc:
            loaded.problem = str(exc)
        self.persona_id = persona_id
        return loaded

    # ------------------------------------------------------------------ showing

    def _show(self, loaded: _Loaded) -> None:
        self._show_title(loaded)
        self._show_info(loaded)
        self._show_decisions(loaded)

    def _show_title(self, loaded: _Loaded) -> None:
        title = self.query_one("#persona-title", Static)
        persona, campaign = loaded.persona, loaded.campaign
        if persona is None:
            title.update(Content.styled("Persona", "bold"))
            return
        parts: list[str | tuple[str, str] | Content] = [
            (clean(persona.name), "bold"),
            " · ",
            sheet_format(persona.source_format),
            " · sha256 ",
            (persona.sheet_hash[:12] + "…", "$text-accent"),
        ]
        if campaign is not None:
            participant = next(
                (p for p in campaign.participants if p.persona_id == persona.persona_id), None
            )
            if participant is not None:
                parts += [" · brain ", participant.brain]
            ids = campaign.participant_ids
            position = ids.index(persona.persona_id) + 1 if persona.persona_id in ids else 0
            parts += [
                (" · ", "dim"),
                (clean(campaign.name), "italic"),
                (f" · persona {position} of {len(ids)}", "dim"),
            ]
        title.update(Content.assemble(*parts))

    def _show_info(self, loaded: _Loaded) -> None:
        profile = self.query_one("#persona-profile", Static)
        weights = self.query_one("#persona-weights", Static)
        trust = self.query_one("#persona-trust", Static)
        knows = self.query_one("#persona-knows", Static)
        background = self.query_one("#persona-background", Static)
        sheet = loaded.sheet
        if sheet is None or loaded.persona is None:
            profile.update(Content.styled(clean(loaded.problem or "Nothing to show."), "italic"))
            for widget in (weights, trust, knows, background):
                widget.update("")
            return
        profile.update(profile_content(sheet))
        background.update(background_content(sheet))
        weights.update(weights_content(sheet))
        campaign = loaded.campaign
        world = campaign.world if campaign is not None else None
        pid = loaded.persona.persona_id
        if campaign is None or world is None:
            note = (
                "not in a started campaign" if campaign is None else "the campaign has not started"
            )
            trust.update(Content.assemble(("Trust\n", "bold $accent"), (note, "dim italic")))
            knows.update(Content.assemble(("Knows\n", "bold $accent"), (note, "dim italic")))
            return
        names = {p.persona_id: p.name for p in campaign.participants}
        trust.update(relationships_content(pid, names, world.trust))
        places = {loc.id: loc.name for loc in campaign.brief.locations}
        here = world.positions.get(pid)
        knows.update(
            knowledge_content(
                places.get(here, here) if here else None,
                world.knowledge.get(pid, ()),
                world.perceptions.get(pid, ()),
            )
        )

    def _target_name(self, target: str | None) -> str:
        if not target:
            return "–"
        campaign = self._loaded.campaign
        if campaign is not None:
            for participant in campaign.participants:
                if participant.persona_id == target:
                    return participant.name
            for location in campaign.brief.locations:
                if location.id == target:
                    return location.name
        return target

    def _show_decisions(self, loaded: _Loaded) -> None:
        table: DataTable[Text] = self.query_one(DataTable)
        table.clear(columns=True)
        decisions = loaded.decisions
        count = len(decisions)
        table.border_title = f"Decisions ({count})" if count else "Decisions"
        self._turns = [d.turn for d in decisions]
        if not decisions:
            table.add_column("")
            self.turn = None
            self._show_turn(None)
            return
        table.add_column("turn", key="turn")
        table.add_column("action", key="action")
        table.add_column("target", key="target")
        table.add_column("outcome", key="outcome")
        table.add_column("source", key="source")
        with_fallback = any(d.provenance.fallback_reason for d in decisions)
        if with_fallback:
            table.add_column("fallback", key="fallback")
        for decision in decisions:
            outcome = decision.outcome or ""
            row = [
                Text(f"t{decision.turn}", style="bold"),
                safe(decision.action),
                safe(self._target_name(decision.target)),
                Text(
                    f"{OUTCOME_MARK.get(outcome, '')} {outcome}".strip(),
                    style=OUTCOME_STYLE.get(outcome, ""),
                ),
                safe(provenance_text(decision.provenance)),
            ]
            if with_fallback:
                row.append(safe(decision.provenance.fallback_reason or "", "italic"))
            table.add_row(*row, key=str(decision.turn))
        if self.turn not in self._turns:
            self.turn = self._turns[0]
        index = self._turns.index(self.turn)
        table.move_cursor(row=index, animate=False)
        self._show_turn(decisions[index])

    def _decision_for(self, turn: int | None) -> DecisionView | None:
        return next((d for d in self._loaded.decisions if d.turn == turn), None)

    def _show_turn(self, decision: DecisionView | None) -> None:
        detail = self.query_one("#persona-decision", Static)
        context = self.query_one("#persona-context", VerticalScroll)
        text = self.query_one("#persona-context-text", Static)
        label = self.query_one("#persona-context-label", Static)
        label.display = decision is not None
        if decision is None:
            problem = self._loaded.problem
            detail.update(
                Content.styled(
                    clean(problem)
                    if problem
                    else "No decisions yet: play a turn on the Play screen.",
                    "dim italic",
                )
            )
            context.border_title = "Decision"
            self.context_text = ""
            text.update("")
            return
        outcome = decision.outcome or "unresolved"
        provenance = decision.provenance
        summary: list[str | tuple[str, str]] = [
            (clean(decision.action), "bold"),
            " → ",
            clean(self._target_name(decision.target)),
            "  ",
            (outcome, "$success" if outcome == "success" else "$warning"),
            ("  " + clean(provenance_text(provenance)), "dim"),
        ]
        if provenance.model:
            summary.append((f" · {clean(provenance.model)}", "dim"))
        lines = [
            Content.assemble(*summary),
            Content.styled(f"“{clean(decision.reasoning)}”", "italic"),
        ]
        if provenance.fallback_reason:
            lines.append(
                Content.assemble(("fell back: ", "$warning"), clean(provenance.fallback_reason))
            )
        detail.update(Content("\n").join(lines))
        changed = self.context_text != decision.context_text
        context.border_title = f"Turn {decision.turn}: decision and the context it was given"
        self.context_text = decision.context_text
        text.update(Content(clean(decision.context_text)))
        if changed:
            context.scroll_home(animate=False)

    @work(exclusive=True, group="persona-history")
    async def show_world_at(self, turn: int) -> None:
        """Trust and knowledge as they stood after ``turn`` (read from the campaign's events)."""
        campaign, persona = self._loaded.campaign, self._loaded.persona
        if campaign is None or persona is None:
            return
        if turn == campaign.current_turn:  # the campaign's world now is the world after it
            self.world_turn = turn
            self._show_info(self._loaded)
            return
        try:
            panels = await persona_panels_at(self, campaign.campaign_id, persona.persona_id, turn)
        except (ServiceError, DomainError):
            return
        if panels is None or self.turn != turn:
            return
        self.world_turn = turn
        self.query_one("#persona-trust", Static).update(panels[0])
        self.query_one("#persona-knows", Static).update(panels[1])

    # ------------------------------------------------------------------ events and actions

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is None:
            return
        turn = int(event.row_key.value)
        if turn != self.turn or self.context_text == "":
            self.turn = turn
            self._show_turn(self._decision_for(turn))
            self.show_world_at(turn)

    def _step(self, offset: int) -> None:
        if not self._turns or self.turn not in self._turns:
            return
        # Rows are newest first: an older turn is further down.
        index = self._turns.index(self.turn) + offset
        if not 0 <= index < len(self._turns):
            self.app.bell()
            return
        self.turn = self._turns[index]
        self.query_one(DataTable).move_cursor(row=index, animate=False)
        self._show_turn(self._decision_for(self.turn))
        self.show_world_at(self.turn)

    def action_previous_turn(self) -> None:
        """Show the decision of the turn before."""
        self._step(+1)

    def action_next_turn(self) -> None:
        """Show the decision of the turn after."""
        self._step(-1)

    def _cycle(self, offset: int) -> None:
        campaign = self._loaded.campaign
        if campaign is None or not campaign.participant_ids:
            self.app.bell()
            return
        ids = list(campaign.participant_ids)
        current = self.persona_id if self.persona_id in ids else ids[0]
        chosen = ids[(ids.index(current) + offset) % len(ids)]
        # The app reloads the visible screen when its persona selection changes.
        self.app.persona_id = chosen

    def action_next_persona(self) -> None:
        """Inspect the campaign's next persona."""
        self._cycle(+1)

    def action_scroll_context(self, direction: int) -> None:
        """Scroll the context text a page."""
        context = self.query_one("#persona-context", VerticalScroll)
        if direction > 0:
            context.scroll_page_down(animate=False)
        else:
            context.scroll_page_up(animate=False)
