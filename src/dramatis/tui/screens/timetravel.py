"""Time travel in the terminal app: step through past turns on the Play screen, rewind to a turn
(fork there), reroll the last turn and pick a branch, and the family tree on the Setup screen.

``TurnHistory`` is mixed into the Play screen. Past turns are read with
``TimeTravelService.turn_state``, from the events of the campaign's timeline, never from a copy
kept by the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from dramatis.services.timetravel import FamilyNode, RerollResult, TimeTravelService, TurnState
from dramatis.tui.text import clean, safe
from dramatis.tui.widgets.bars import TopBar
from dramatis.tui.widgets.turns import SOURCE_LABELS, action_phrase, outcome_text, world_panel

if TYPE_CHECKING:
    from dramatis.domain.ledger import TurnLedger

HISTORY_BINDINGS: list[BindingType] = [
    Binding(
        "left",
        "history(-1)",
        "earlier turn",
        key_display="←",
        id="play.history.back",
        tooltip="Show the turn before (world, decisions, knowledge as they were)",
        priority=True,
    ),
    Binding(
        "right",
        "history(1)",
        "later turn",
        key_display="→",
        id="play.history.forward",
        tooltip="Show the turn after; past the last turn, back to live play",
        priority=True,
    ),
    Binding(
        "f",
        "rewind",
        "rewind to here",
        id="play.rewind",
        tooltip="Fork the campaign at the turn shown and play on from there",
    ),
    Binding(
        "R",
        "reroll",
        "reroll",
        id="play.reroll",
        tooltip="Play the last turn again with another seed, then pick a branch",
    ),
]


def ledger_rows(ledger: TurnLedger, colours: dict[str, str]) -> list[tuple[Any, ...]]:
    """The turn table's rows for a ledger: persona, action, result, source."""
    return [
        (
            safe(entry.persona_name, "bold"),
            safe(action_phrase(entry)),
            outcome_text(entry, colours),
            Text(SOURCE_LABELS.get(entry.source, entry.source), style="dim"),
        )
        for entry in ledger.action_log
    ]


def family_tree(node: FamilyNode, current: str | None = None) -> RenderableType:
    """The family tree of a campaign: each fork under the campaign it branched from."""
    lines = [Text("Family", style="bold")]
    for depth, item in node.walk():
        line = Text("   " * max(0, depth - 1) + ("└─ " if depth else ""), style="dim")
        line.append_text(safe(item.name, "bold" if item.campaign_id == current else ""))
        where = "" if item.forked_at_turn is None else f"from turn {item.forked_at_turn} · "
        line.append(
            f"  {where}{item.status} · turn {item.turns} · {item.campaign_id[:8]}", style="dim"
        )
        if item.campaign_id == current:
            line.append("  ◂ this one", style="bold")
        lines.append(line)
    return Group(*lines)


class TurnHistory:
    """Play-screen mixin: step back and forth through past turns; rewind; reroll.

    The host screen provides ``view``, ``brief``, ``busy``, ``colours``, ``dramatis_app``,
    ``_show_view`` and ``query_one``.
    """

    viewing: int | None = None  # the past turn shown, or None for the live campaign
    history: TurnState | None = None
    rerolling: str | None = None  # the reroll fork being played (its human choices are shown)

    def _timetravel(self) -> TimeTravelService | None:
        dramatis = self.dramatis_app.dramatis  # type: ignore[attr-defined]
        return None if dramatis is None else TimeTravelService(dramatis.campaigns)

    def leave_history(self) -> None:
        self.viewing = None
        self.history = None

    async def action_history(self, offset: int) -> None:
        view = self.view  # type: ignore[attr-defined]
        tt = self._timetravel()
        if view is None or tt is None or self.busy:  # type: ignore[attr-defined]
            return
        shown = self.viewing if self.viewing is not None else view.turns
        turn = shown + offset
        if turn > view.turns or turn < 0:
            self.app.bell()  # type: ignore[attr-defined]
            return
        if turn == view.turns:
            self.leave_history()
            self._show_view()  # type: ignore[attr-defined]
            return
        self.history = await tt.turn_state(view.campaign_id, turn)
        self.viewing = turn
        self.show_history()

    def show_history(self) -> None:
        """Render the turn in ``history`` into the play screen's panels."""
        state, view = self.history, self.view  # type: ignore[attr-defined]
        if state is None or view is None:
            return
        colours = self.colours  # type: ignore[attr-defined]
        names = {p.persona_id: p.name for p in view.personas}
        title = safe(view.name, "bold")
        title.append(f"  ·  turn {state.turn} of {state.current_turn}  ·  history", style="")
        self.query_one(TopBar).set(title, Text("← → step · f rewind here", style="dim"))  # type: ignore[attr-defined]
        self.query_one("#world-body", Static).update(  # type: ignore[attr-defined]
            world_panel(state.world, self.brief, names, colours)  # type: ignore[attr-defined]
        )
        heading = self.query_one("#turn-title", Static)  # type: ignore[attr-defined]
        table = self.query_one("#turn-table", DataTable)  # type: ignore[attr-defined]
        table.clear()
        if state.ledger is None:
            heading.update(f"Turn 0 of {state.current_turn}: as the campaign began")
        else:
            mark = "" if state.hash_ok is not False else "  ·  ALTERED: does not match its hash"
            heading.update(f"Turn {state.turn} of {state.current_turn} (history){mark}")
            rows = ledger_rows(state.ledger, colours)
            entries = state.ledger.action_log
            by_id = {e.persona_id: row for e, row in zip(entries, rows, strict=True)}
            for p in view.personas:
                if p.persona_id in by_id:
                    table.add_row(*by_id[p.persona_id], key=p.persona_id)

    async def action_rewind(self) -> None:
        from dramatis.tui.app import USER_ERRORS

        view = self.view  # type: ignore[attr-defined]
        tt = self._timetravel()
        if view is None or tt is None or self.busy:  # type: ignore[attr-defined]
            return
        turn = self.viewing if self.viewing is not None else view.turns
        try:
            fork = await tt.fork_campaign(view.campaign_id, turn)
        except USER_ERRORS as exc:
            self.notify(clean(str(exc)), markup=False, severity="error", title="Could not rewind")  # type: ignore[attr-defined]
            return
        self.leave_history()
        self.notify(  # type: ignore[attr-defined]
            clean(f"Rewound to turn {turn}: playing {fork.name}. The original stays as it was."),
            markup=False,
            timeout=4,
        )
        await self.dramatis_app.play_campaign(fork.campaign_id)  # type: ignore[attr-defined]

    def action_reroll(self) -> None:
        view = self.view  # type: ignore[attr-defined]
        if view is None or self.busy:  # type: ignore[attr-defined]
            return
        self.leave_history()
        self.reroll_worker(view.campaign_id)

    @work(exclusive=True, group="turns")
    async def reroll_worker(self, campaign_id: str) -> None:
        from dramatis.tui.app import USER_ERRORS

        tt = self._timetravel()
        if tt is None:
            return
        self.busy = True  # type: ignore[attr-defined]

        def fork_made(fork_id: str) -> None:
            self.rerolling = fork_id

        try:
            result = await tt.reroll(campaign_id, on_fork=fork_made)
        except USER_ERRORS as exc:
            self.notify(clean(str(exc)), markup=False, severity="error", title="Could not reroll")  # type: ignore[attr-defined]
            return
        finally:
            self.rerolling = None
            self.busy = False  # type: ignore[attr-defined]
            self._show_view()  # type: ignore[attr-defined]
        self.app.push_screen(RerollScreen(result), self._branch_chosen)  # type: ignore[attr-defined]

    async def _branch_chosen(self, campaign_id: str | None) -> None:
        if campaign_id:
            await self.dramatis_app.play_campaign(campaign_id)  # type: ignore[attr-defined]


class RerollScreen(ModalScreen[str | None]):
    """The last turn as played and as rerolled, side by side: pick the branch to play on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "keep('original')", "keep original", id="reroll.original"),
        Binding("2", "keep('reroll')", "keep reroll", id="reroll.reroll"),
        Binding("escape", "keep('original')", "keep original", id="reroll.cancel"),
    ]

    DEFAULT_CSS = """
    RerollScreen { align: center middle; }
    RerollScreen > Vertical {
        width: 96; height: auto; border: round $primary; background: $surface; padding: 0 1;
    }
    RerollScreen Horizontal { height: auto; }
    RerollScreen .branch { width: 1fr; height: auto; padding: 0 1; }
    RerollScreen .muted { color: $text-muted; }
    """

    def __init__(self, result: RerollResult) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        result = self.result
        with Vertical():
            yield Static(Text(f"Turn {result.turn}, two ways", style="bold"))
            with Horizontal():
                yield Static(
                    self._branch("1  as played", result.original_turn),
                    classes="branch",
                    id="branch-original",
                )
                yield Static(
                    self._branch(f"2  rerolled (seed {result.seed})", result.reroll_turn),
                    classes="branch",
                    id="branch-reroll",
                )
            yield Static(
                "1 keeps playing the original · 2 the reroll · both stay on the Setup screen",
                classes="muted",
            )

    @staticmethod
    def _branch(title: str, ledger: TurnLedger) -> RenderableType:
        table = Table(box=None, show_header=False, padding=(0, 1, 0, 0))
        for entry in ledger.action_log:
            table.add_row(
                safe(entry.persona_name, "bold"),
                safe(action_phrase(entry)),
                Text(entry.outcome),
            )
        return Group(Text(title, style="bold"), table)

    def action_keep(self, which: str) -> None:
        chosen = self.result.original if which == "original" else self.result.reroll
        self.dismiss(chosen.campaign_id)


async def persona_panels_at(
    screen: Any, campaign_id: str, persona_id: str, turn: int
) -> tuple[Any, Any] | None:
    """The Persona screen's trust and knowledge panels as they stood after ``turn``."""
    from dramatis.tui.widgets.persona_panels import knowledge_content, relationships_content

    dramatis = getattr(screen.app, "dramatis", None)
    if dramatis is None:
        return None
    tt = TimeTravelService(dramatis.campaigns)
    state = await tt.turn_state(campaign_id, turn)
    view = next((p for p in state.personas if p.persona_id == persona_id), None)
    if view is None:
        return None
    names = {p.persona_id: p.name for p in state.personas}
    return (
        relationships_content(persona_id, names, state.world.trust),
        knowledge_content(view.location, view.knowledge, view.perceptions),
    )
