"""Screen 2, Play: the current turn, the world, the running log; advance, auto-play, take control.

Turns are played in a worker (``campaigns.advance`` one turn at a time), so the UI keeps drawing
while personas think. A persona controlled by the player makes the worker wait inside
``HumanBrain.decide``; this screen shows its options and answers with the number keys.

In shared play (``DRAMATIS_PLAYER`` set, as in an SSH session) the screen sits at the campaign's
table instead: ``t`` takes control of a persona, space calls the next turn, the number keys
choose, and the turn is played once every controller has chosen or the timeout has passed.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Label, ProgressBar, RichLog, Static

from dramatis.domain.context import DecisionContext
from dramatis.domain.ledger import TurnLedger
from dramatis.domain.world import WorldBrief
from dramatis.services.human import PendingChoice
from dramatis.services.table import TableView
from dramatis.services.views import CampaignView, PlayResult
from dramatis.tui.screens.timetravel import HISTORY_BINDINGS, TurnHistory
from dramatis.tui.text import clean, safe
from dramatis.tui.widgets.bars import TopBar
from dramatis.tui.widgets.format import BRAIN_LABELS, turns_text
from dramatis.tui.widgets.table_bar import seat_label, seat_status, table_line
from dramatis.tui.widgets.tables import Row, fill_table
from dramatis.tui.widgets.turns import (
    SOURCE_LABELS,
    action_phrase,
    log_lines,
    outcome_text,
    tension_bars,
    tension_style,
    world_panel,
)

if TYPE_CHECKING:
    from dramatis.tui.app import DramatisApp

LOG_TURNS = 30  # turns kept in the running log
TURN_COLUMNS = {"persona": "Persona", "action": "Action", "result": "Result", "by": "By"}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MAX_AUTOPLAY = 10_000
SPIN_AFTER_SECONDS = 0.3  # a turn this slow shows a spinner
AUTOPLAY_DRAW_SECONDS = 0.25  # auto-play redraws the world and turn panels at most this often
SHARED_TICK_SECONDS = 0.5  # shared play: countdowns, and turns a stalled caller left behind


class TurnLog(RichLog):
    """The running log; re-wrapped when its width changes."""

    _width = 0

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            rewrap = getattr(self.screen, "rewrite_log", None)
            if rewrap is not None:
                self.call_after_refresh(rewrap)


class AutoPlayScreen(ModalScreen[int | None]):
    """How many turns to auto-play (a small modal; enter confirms, escape cancels)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="autoplay.cancel")
    ]

    DEFAULT_CSS = """
    AutoPlayScreen { align: center middle; }
    AutoPlayScreen > Vertical {
        width: 44; height: auto; border: round $primary; background: $surface; padding: 0 1;
    }
    AutoPlayScreen Label { color: $primary; text-style: bold; }
    AutoPlayScreen .error { color: $error; height: auto; }
    AutoPlayScreen .muted { color: $text-muted; }
    """

    def __init__(self, default: int = 10) -> None:
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Auto-play how many turns?")
            yield Input(str(self.default), id="count", compact=True)
            yield Static("", classes="error", id="count-error")
            yield Static("enter starts · esc cancels", classes="muted")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_AUTOPLAY:
            self.query_one("#count-error", Static).update(
                f"A whole number from 1 to {MAX_AUTOPLAY:,}."
            )
            return
        self.dismiss(int(text))


def _choose_bindings() -> list[BindingType]:
    bindings: list[BindingType] = [
        Binding(
            "1",
            "choose(0)",
            "choose",
            key_display="1-9",
            id="play.choose.1",
            tooltip="Pick option 1-9 for your persona",
        )
    ]
    bindings += [
        Binding(str(n), f"choose({n - 1})", f"choose {n}", show=False, id=f"play.choose.{n}")
        for n in range(2, 10)
    ]
    return bindings


class PlayScreen(TurnHistory, Screen[None]):
    """One campaign, turn by turn."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "advance", "next turn", id="play.advance", tooltip="Play the next turn"),
        Binding("p", "autoplay", "auto-play", id="play.autoplay", tooltip="Auto-play N turns"),
        Binding("p", "pause", "pause", id="play.pause", tooltip="Pause auto-play after this turn"),
        Binding("p", "resume", "resume", id="play.resume", tooltip="Resume a paused auto-play"),
        Binding("escape", "stop", "stop", id="play.stop", tooltip="Stop auto-play after this turn"),
        *_choose_bindings(),
        Binding(
            "t",
            "take",
            "take/let go",
            id="play.take",
            tooltip="Take control of the highlighted persona, or let go of yours",
        ),
        Binding("c", "chronicle", "chronicle", id="play.chronicle", tooltip="Read the chronicle"),
        Binding(
            "i",
            "inspect",
            "inspect",
            id="play.inspect",
            tooltip="Why did the highlighted persona do that?",
        ),
        *HISTORY_BINDINGS,
    ]

    DEFAULT_CSS = """
    PlayScreen #play-top { height: 1; background: $panel; }
    PlayScreen #play-top TopBar { width: 1fr; }
    PlayScreen #tension { width: auto; padding: 0 1; background: $panel; }
    PlayScreen #play-body { height: 1fr; }
    PlayScreen #world {
        width: 34; border-right: vkey $panel; padding: 0 1; scrollbar-size-vertical: 1;
    }
    PlayScreen #right { width: 1fr; }
    PlayScreen #turn-title {
        height: 1; padding: 0 1; color: $primary; text-style: bold; margin-top: 1;
    }
    PlayScreen #table-bar { height: auto; padding: 0 1; display: none; }
    PlayScreen.-shared #table-bar { display: block; }
    PlayScreen #turn-table {
        height: auto; max-height: 10; background: $background; overflow-x: hidden;
    }
    PlayScreen #choice {
        height: auto; display: none; border: round $accent; margin: 0 1; padding: 0 1;
        border-title-color: $accent; border-title-style: bold;
    }
    PlayScreen #choice.-pending { display: block; }
    PlayScreen #choice-options { height: auto; }
    PlayScreen #choice-timeout { color: $text-muted; height: 1; }
    PlayScreen #log-title {
        height: 1; padding: 0 1; color: $primary; text-style: bold; margin-top: 1;
    }
    PlayScreen #log {
        height: 1fr; background: $background; padding: 0 1;
        scrollbar-size-vertical: 1; overflow-x: hidden;
    }
    PlayScreen #autoplay { height: 1; display: none; padding: 0 1; background: $panel; }
    PlayScreen #autoplay.-running { display: block; }
    PlayScreen #autoplay Label { width: auto; padding-right: 1; }
    PlayScreen #autoplay ProgressBar { width: 1fr; }
    PlayScreen #autoplay #autoplay-hint { color: $text-muted; padding-left: 1; }
    PlayScreen.narrow #world { width: 28; }
    PlayScreen.narrow #turn-title { margin-top: 0; }
    PlayScreen.narrow #log-title { margin-top: 0; }
    PlayScreen.narrow #turn-table { max-height: 6; }
    """

    busy: reactive[bool] = reactive(False, bindings=True)
    paused: reactive[bool] = reactive(False, bindings=True)
    pending: reactive[bool] = reactive(False, bindings=True)

    def __init__(self) -> None:
        super().__init__()
        self.view: CampaignView | None = None
        self.brief: WorldBrief | None = None
        self._brief_for: str | None = None
        self.ledgers: dict[int, TurnLedger] = {}
        self._ledgers_for: str | None = None
        self._stop = False
        self._resume = asyncio.Event()
        self._resume.set()
        self._spin = 0
        self._spinner: Timer | None = None
        self._countdown: Timer | None = None
        self._choice: PendingChoice | None = None
        self._choice_started = 0.0
        self._answered: set[str] = set()
        self.table_view: TableView | None = None  # shared play: the campaign's table
        self._options: DecisionContext | None = None  # shared play: this session's choice
        self._joined: str | None = None
        self._drawn_at = 0.0

    @property
    def dramatis_app(self) -> DramatisApp:
        return cast("DramatisApp", self.app)

    def compose(self) -> ComposeResult:
        with Horizontal(id="play-top"):
            yield TopBar(id="play-bar")
            yield Static(id="tension")
        with Horizontal(id="play-body"):
            with VerticalScroll(id="world"):
                yield Static(id="world-body")
            with Vertical(id="right"):
                yield Static("", id="turn-title")
                yield Static("", id="table-bar")
                yield DataTable(id="turn-table", cursor_type="row", show_header=False)
                with Vertical(id="choice"):
                    yield Static(id="choice-options")
                    yield Static(id="choice-timeout")
                yield Static("Log", id="log-title")
                yield TurnLog(
                    id="log",
                    wrap=True,
                    markup=False,
                    max_lines=2000,
                    auto_scroll=True,
                    min_width=20,
                )
        with Horizontal(id="autoplay"):
            yield Label("auto-play", id="autoplay-label")
            yield ProgressBar(id="autoplay-bar", show_eta=False)
            yield Static("p pause · esc stop", id="autoplay-hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#turn-table", DataTable)
        self._add_columns(table)
        table.focus()  # up/down pick the persona that i inspects and t takes
        self._apply_width()
        if self.shared:
            self.add_class("-shared")
            self.set_interval(SHARED_TICK_SECONDS, self._shared_tick, name="shared-tick")

    def on_resize(self) -> None:
        self._apply_width()

    @staticmethod
    def _add_columns(table: DataTable[object]) -> None:
        for key, label in TURN_COLUMNS.items():
            table.add_column(label, key=key)

    def _apply_width(self) -> None:
        self.set_class(self.app.size.width < 100 or self.app.size.height < 30, "narrow")

    @property
    def shared(self) -> bool:
        return self.dramatis_app.shared

    @property
    def colours(self) -> dict[str, str]:
        theme = self.app.current_theme
        return {
            name: value
            for name in ("primary", "secondary", "accent", "success", "warning", "error")
            if (value := getattr(theme, name, None))
        }

    # ------------------------------------------------------------------ data

    async def refresh_data(self) -> None:
        app = self.dramatis_app
        dramatis = app.dramatis
        if dramatis is None:
            return
        if self.busy and self.view is not None and self.view.campaign_id == app.campaign_id:
            return  # the turn worker shows what it plays (and, in shared play, the table)
        campaign_id = app.campaign_id
        if campaign_id is None:
            self.view = None
            self.query_one(TopBar).set(
                Text("No campaign open", style="bold"), Text("1 setup", style="dim")
            )
            self.query_one("#world-body", Static).update(
                Text("Choose or start a campaign on the Setup screen (press 1).", style="dim")
            )
            return
        view = await dramatis.campaigns.show(campaign_id)
        if self._brief_for != campaign_id:
            self.brief = (await dramatis.campaigns.get(campaign_id)).brief
            self._brief_for = campaign_id
        if self._ledgers_for != campaign_id:
            self.ledgers = {}
            self._ledgers_for = campaign_id
            self.leave_history()
            self.query_one("#log", RichLog).clear()
            self._log_opening()
        known = max(self.ledgers, default=0)
        if view.turns > known:
            start = max(known + 1, view.turns - LOG_TURNS + 1)
            if start == view.turns and view.last_turn is not None:
                new = [view.last_turn]
            else:
                new = await dramatis.campaigns.ledger(campaign_id, from_turn=start)
            self._add_ledgers(new)
        self.view = view
        if self.shared:
            await self._load_table(campaign_id)
        self._show_view()
        if self.shared:
            self.show_pending()

    def rewrite_log(self) -> None:
        """Write the opening and the kept turns again (after a resize, so lines wrap anew)."""
        log = self.query_one("#log", RichLog)
        log.clear()
        self._log_opening()
        colours = self.colours
        for turn in sorted(self.ledgers):
            for line in log_lines(self.ledgers[turn], colours):
                log.write(line)

    def _log_opening(self) -> None:
        if self.brief is not None and self.brief.opening:
            log = self.query_one("#log", RichLog)
            log.write(safe(self.brief.opening.strip(), "italic"))

    def _add_ledgers(self, ledgers: list[TurnLedger] | tuple[TurnLedger, ...]) -> None:
        log = self.query_one("#log", RichLog)
        colours = self.colours
        for ledger in ledgers:
            if ledger.turn_number in self.ledgers:
                continue
            self.ledgers[ledger.turn_number] = ledger
            for line in log_lines(ledger, colours):
                log.write(line)
        for turn in sorted(self.ledgers)[:-LOG_TURNS]:
            del self.ledgers[turn]

    def _show_view(self) -> None:
        view = self.view
        if view is None:
            return
        if self.history is not None and self.history.campaign_id == view.campaign_id:
            self.show_history()  # a past turn is on screen until the player steps back to now
            return
        colours = self.colours
        title = safe(view.name, "bold")
        limit = f" of {view.turn_limit}" if view.turn_limit else ""
        title.append(f"  ·  turn {view.turns}{limit}", style="")
        if view.status != "active":
            title.append(f"  ·  {view.status}", style=colours.get("secondary", ""))
        self.query_one(TopBar).set(title)
        tension = view.tension or 0.0
        gauge = Text("tension ", style="dim")
        gauge.append(tension_bars(view.tension_history, 16), style=tension_style(tension, colours))
        gauge.append(f" {tension:.2f}", style="bold")
        self.query_one("#tension", Static).update(gauge)
        names = {p.persona_id: p.name for p in view.personas}
        self.query_one("#world-body", Static).update(
            world_panel(view.world, self.brief, names, colours)
        )
        self._show_turn()

    def _show_turn(self) -> None:
        view = self.view
        if view is None:
            return
        table = self.query_one("#turn-table", DataTable)
        cursor = table.cursor_row
        rows: list[Row] = []

        def add(*cells: str | Text, key: str) -> None:
            rows.append((cells, key))

        title = self.query_one("#turn-title", Static)
        waiting = self._waiting_ids()
        call = self.table_view.call if self.table_view is not None else None
        if self.busy or call is not None:
            turn = call.turn if call is not None else view.turns + 1
            thinking = "the players are choosing" if waiting else "the personas are thinking"
            title.update(f"Turn {turn}  ·  {thinking}…")
            frame = SPINNER[self._spin % len(SPINNER)] if self.dramatis_app.animate else "…"
            for p in view.personas:
                status = self._shared_status(p.persona_id)
                if status is None and p.persona_id in waiting:
                    status = Text("▸ waiting for you…", style=self.colours.get("accent", ""))
                if status is None:
                    status = Text(f"{frame} thinking" if self.busy else "", style="dim")
                add(
                    safe(p.name, "bold"),
                    status,
                    "",
                    self._by(p.persona_id, BRAIN_LABELS.get(p.brain, p.brain)),
                    key=p.persona_id,
                )
        else:
            ledger = self.ledgers.get(view.turns)
            if ledger is None:
                if view.turns == 0 and view.status == "active":
                    title.update("Ready: press space to play turn 1")
                else:
                    title.update(turns_text(view.turns, view.turn_limit) + " turns")
                for p in view.personas:
                    add(
                        safe(p.name, "bold"),
                        Text(""),
                        Text(""),
                        self._by(p.persona_id, BRAIN_LABELS.get(p.brain, p.brain)),
                        key=p.persona_id,
                    )
            else:
                title.update(f"Turn {ledger.turn_number}")
                entries = {entry.persona_id: entry for entry in ledger.action_log}
                for p in view.personas:
                    entry = entries.get(p.persona_id)
                    if entry is None:
                        add(safe(p.name, "bold"), "", "", "", key=p.persona_id)
                        continue
                    source = SOURCE_LABELS.get(entry.source, entry.source)
                    add(
                        safe(p.name, "bold"),
                        safe(action_phrase(entry)),
                        outcome_text(entry, self.colours),
                        self._by(p.persona_id, Text(source, style="dim")),
                        key=p.persona_id,
                    )
        fill_table(table, TURN_COLUMNS, rows)
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1), animate=False)

    # ------------------------------------------------------------------ bindings

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "autoplay":
            return not self.busy
        if action == "pause":
            return self.busy and not self.paused and self._autoplaying
        if action == "resume":
            return self.busy and self.paused
        if action == "stop":
            return self.busy and self._autoplaying
        if action == "choose":
            return self.pending
        if action == "take":
            return self.shared
        if action == "advance":
            return True if not self.busy else None
        if action in ("history", "rewind", "reroll"):
            return not self.busy
        return True

    _autoplaying = False

    def action_advance(self) -> None:
        if self._can_play():
            self.play_turns(1)

    def action_autoplay(self) -> None:
        if self._can_play():
            self.app.push_screen(AutoPlayScreen(), self._autoplay_chosen)

    def _autoplay_chosen(self, count: int | None) -> None:
        if count:
            self.play_turns(count)

    def action_pause(self) -> None:
        self.paused = True
        self._resume.clear()
        self.query_one("#autoplay-hint", Static).update("paused · p resume · esc stop")

    def action_resume(self) -> None:
        self.paused = False
        self._resume.set()
        self.query_one("#autoplay-hint", Static).update("p pause · esc stop")

    def action_stop(self) -> None:
        self._stop = True
        self.paused = False
        self._resume.set()
        self.query_one("#autoplay-hint", Static).update("stopping after this turn…")

    def action_choose(self, index: int) -> None:
        if self.shared:
            self.choose_shared(index)
            return
        choice = self._choice
        if choice is None:
            return
        try:
            self.dramatis_app.human.choose(choice.persona_id, index)
        except IndexError as exc:
            self.notify(str(exc), severity="warning", timeout=3)
            return
        except LookupError:
            pass  # the timeout won the race; the fallback already acted
        self._answered.add(choice.persona_id)
        self._choice = None
        self.show_pending()

    async def action_chronicle(self) -> None:
        await self.dramatis_app.go("chronicle")

    async def action_inspect(self) -> None:
        table = self.query_one("#turn-table", DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.dramatis_app.persona_id = key
        await self.dramatis_app.go("persona")

    def _can_play(self) -> bool:
        view = self.view
        if view is None:
            self.notify("Open a campaign first: press 1 for Setup.", severity="warning", timeout=3)
            return False
        if self.busy:
            return False
        if view.status != "active":
            self.notify(
                f"This campaign is {view.status} after {view.turns} turns; it takes no more turns.",
                severity="warning",
                timeout=4,
            )
            return False
        return True

    # ------------------------------------------------------------------ playing

    @work(exclusive=True, group="turns")
    async def play_turns(self, count: int) -> None:
        """Play ``count`` turns, one transaction each, honouring stop, pause and the end."""
        from dramatis.tui.app import USER_ERRORS

        app = self.dramatis_app
        dramatis = app.dramatis
        view = self.view
        if dramatis is None or view is None:
            return
        campaign_id = view.campaign_id
        self.leave_history()
        self._stop = False
        self.paused = False
        self._resume.set()
        self._autoplaying = count > 1
        bar = self.query_one("#autoplay-bar", ProgressBar)
        bar.update(total=count, progress=0)
        self.query_one("#autoplay-label", Label).update(f"auto-play {count} turns")
        self.query_one("#autoplay-hint", Static).update("p pause · esc stop")
        self.query_one("#autoplay").set_class(count > 1, "-running")
        self.busy = True
        played = 0
        unshown: list[TurnLedger] = []  # played, not yet written to the log
        pace = app.autoplay_pace_seconds if count > 1 else 0.0
        loop = asyncio.get_running_loop()
        next_turn_at = loop.time()
        try:
            for _ in range(count):
                await self._resume.wait()
                if pace and loop.time() < next_turn_at:
                    await asyncio.sleep(next_turn_at - loop.time())
                next_turn_at = loop.time() + pace
                if self._stop or app.campaign_id != campaign_id:
                    break
                # The turn shows as under way (with a spinner) only once it takes a while (a
                # remote brain, players choosing): an offline turn is over before anyone could
                # read it, and each extra frame costs more than the turn.
                spin_later = self.set_timer(SPIN_AFTER_SECONDS, self._show_turn_under_way)
                try:
                    if self.shared:
                        result = await self._play_shared_turn(campaign_id)
                    else:
                        result = await dramatis.campaigns.advance(campaign_id, turns=1)
                except USER_ERRORS as exc:
                    app.notify(
                        clean(str(exc)),
                        markup=False,
                        severity="error",
                        title="The turn was not played",
                    )
                    break
                finally:
                    spin_later.stop()
                    self._stop_spinner()
                    self._answered.clear()
                    self.show_pending()
                played += 1
                if app.campaign_id == campaign_id:
                    unshown.extend(result.ledgers)
                    self.view = result.view
                    # Auto-play draws a few times a second, not every turn: drawing costs more
                    # than playing, and nobody reads forty frames a second.
                    now = asyncio.get_running_loop().time()
                    if count == 1 or now - self._drawn_at >= AUTOPLAY_DRAW_SECONDS:
                        self._drawn_at = now
                        self._draw_played(unshown, played)
                if result.view.status != "active":
                    app.notify(
                        clean(
                            f"{result.view.name} is {result.view.status} "
                            f"after {result.view.turns} turns."
                        ),
                        markup=False,
                        title="The end",
                        timeout=6,
                    )
                    break
        finally:
            self.busy = False
            self.paused = False
            self._autoplaying = False
            self._stop_spinner()
            self.query_one("#autoplay").set_class(False, "-running")
            if app.campaign_id == campaign_id:
                self._draw_played(unshown, played)
            else:
                self._show_view()
        if count > 1 and played < count and self.view is not None and self.view.status == "active":
            self.notify(f"Auto-play stopped after {played} of {count} turns.", timeout=3)

    def _draw_played(self, unshown: list[TurnLedger], played: int) -> None:
        """Show the turns played since the last drawing: the log, the panels, the progress."""
        self.query_one("#autoplay-bar", ProgressBar).update(progress=played)
        self._add_ledgers(unshown)
        unshown.clear()
        self._show_view()

    def _show_turn_under_way(self) -> None:
        self._show_turn()
        self._start_spinner()

    def _start_spinner(self) -> None:
        if self.dramatis_app.animate and self._spinner is None:
            self._spinner = self.set_interval(0.1, self._tick_spinner)

    def _stop_spinner(self) -> None:
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def _tick_spinner(self) -> None:
        self._spin += 1
        if self.busy and self.view is not None:
            table = self.query_one("#turn-table", DataTable)
            frame = SPINNER[self._spin % len(SPINNER)]
            waiting = self._waiting_ids()
            for p in self.view.personas:
                if self._shared_status(p.persona_id) is not None:
                    continue
                if p.persona_id not in waiting and p.persona_id in table.rows:
                    table.update_cell(
                        p.persona_id, "action", Text(f"{frame} thinking", style="dim")
                    )

    # ------------------------------------------------------------------ human players

    def show_pending(self) -> None:
        """Show the options of the first persona of this campaign waiting for the player."""
        if self.shared:
            self._show_shared_choice()
            return
        view = self.view
        waiting = [
            choice
            for choice in self.dramatis_app.human.pending
            if view is not None
            and choice.context.campaign_id in (view.campaign_id, self.rerolling)
            and choice.persona_id not in self._answered
        ]
        panel = self.query_one("#choice", Vertical)
        if not waiting:
            self._choice = None
            self.pending = False
            panel.set_class(False, "-pending")
            if self._countdown is not None:
                self._countdown.stop()
                self._countdown = None
            if self.busy:
                self._show_turn()
            return
        choice = waiting[0]
        if self._choice is None or self._choice.persona_id != choice.persona_id:
            self._choice_started = asyncio.get_running_loop().time()
        self._choice = choice
        self.pending = True
        name = choice.context.names.get(choice.persona_id, "your persona")
        panel.border_title = clean(f"Your move, {name}")
        self.query_one("#choice-options", Static).update(self._options_line(choice.context))
        self._update_countdown()
        panel.set_class(True, "-pending")
        if self.dramatis_app.animate and self._countdown is None:
            self._countdown = self.set_interval(1.0, self._update_countdown)
        self._show_turn()

    def _options_line(self, context: DecisionContext) -> Text:
        """A persona's first nine options, numbered for the keys that choose them."""
        line = Text()
        for number, option in enumerate(context.options[:9], start=1):
            if number > 1:
                line.append("   ")
            line.append(f"{number} ", style=f"bold {self.colours.get('accent', '')}")
            line.append_text(safe(option.label))
        return line

    def _update_countdown(self) -> None:
        choice = self._choice
        if choice is None:
            return
        if self.dramatis_app.animate:
            left = choice.timeout_seconds - (
                asyncio.get_running_loop().time() - self._choice_started
            )
            when = f"in {max(0, left):.0f} s"
        else:
            when = f"after {choice.timeout_seconds:g} s"
        count = min(9, len(choice.context.options))
        text = f"press 1-{count} · the fallback acts {when}"
        self.query_one("#choice-timeout", Static).update(text)

    def on_screen_resume(self) -> None:
        if self.dramatis_app.human.pending or self.shared:
            self.show_pending()

    # ------------------------------------------------------------------ shared play

    async def _load_table(self, campaign_id: str) -> None:
        """Read the campaign's table and, while this session is to choose, its options."""
        dramatis = self.dramatis_app.dramatis
        if dramatis is None:
            return
        if self._joined != campaign_id:
            if self._joined is not None:  # one table at a time: leave the campaign left behind
                await dramatis.table.leave(self._joined, "opened another campaign")
            self.table_view = await dramatis.table.join(campaign_id)
            self._joined = campaign_id
        else:
            self.table_view = await dramatis.table.view(campaign_id)
        can_choose = self.table_view.can_choose
        if not can_choose:
            self._options = None
        elif self._options is None or self._options.turn != self._call_turn():
            self._options = await dramatis.table.my_options(campaign_id)
        self.query_one("#table-bar", Static).update(table_line(self.table_view, self.colours))

    def _call_turn(self) -> int | None:
        call = self.table_view.call if self.table_view is not None else None
        return call.turn if call is not None else None

    def _waiting_ids(self) -> set[str]:
        if self.shared:
            seats = self.table_view.seats if self.table_view is not None else ()
            return {seat.persona_id for seat in seats if seat.waiting}
        return {choice.persona_id for choice in self.dramatis_app.human.pending}

    def _shared_status(self, persona_id: str) -> Text | None:
        """A persona's state in the called turn (chosen, or whom it waits for)."""
        if self.table_view is None or self.table_view.call is None:
            return None
        seat = next((s for s in self.table_view.seats if s.persona_id == persona_id), None)
        return seat_status(seat, self.colours) if seat is not None else None

    def _by(self, persona_id: str, default: str | Text) -> str | Text:
        """Who acts for a persona: its controller in shared play, else its brain or source."""
        if self.table_view is None:
            return default
        seat = next((s for s in self.table_view.seats if s.persona_id == persona_id), None)
        if seat is None or seat.controller is None:
            return default
        return seat_label(seat, self.colours)

    async def _shared_tick(self) -> None:
        """Keep the countdown moving and play a called turn whose caller has stalled or gone."""
        from dramatis.tui.app import USER_ERRORS

        app = self.dramatis_app
        view = self.view
        if app.dramatis is None or view is None or self.busy or not self.is_current:
            return
        if self.table_view is None or self.table_view.call is None:
            return
        try:
            result = await app.dramatis.table.resolve_due(view.campaign_id)
            if result is not None:
                self._add_ledgers(result.ledgers)
                self.view = result.view
            await self._load_table(view.campaign_id)
        except USER_ERRORS:
            return  # shown when the player acts; the next tick tries again
        self._show_view()
        self.show_pending()

    async def _play_shared_turn(self, campaign_id: str) -> PlayResult:
        """Call the next turn and wait until it is played (by this session or another)."""
        dramatis = self.dramatis_app.dramatis
        assert dramatis is not None
        called = await dramatis.table.call_turn(campaign_id)
        turn = called.call.turn if called.call is not None else called.campaign.turns + 1
        while True:
            result = await dramatis.table.resolve_due(campaign_id)
            if result is not None:
                return result
            view = await dramatis.campaigns.show(campaign_id)
            if view.turns >= turn or view.status != "active":
                played = await dramatis.campaigns.ledger(campaign_id, turn, turn)
                return PlayResult(view=view, ledgers=tuple(played))
            await self._load_table(campaign_id)
            self._show_turn()
            self.show_pending()
            await dramatis.notifier.wait_for_append(
                await dramatis.store.last_position(), SHARED_TICK_SECONDS
            )

    def action_take(self) -> None:
        table = self.query_one("#turn-table", DataTable)
        if self.view is None or not table.row_count:
            self.notify("Open a campaign first: press 1 for Setup.", severity="warning", timeout=3)
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key:
            self.take_or_release(key)

    @work(group="table")
    async def take_or_release(self, persona_id: str) -> None:
        from dramatis.tui.app import USER_ERRORS

        dramatis = self.dramatis_app.dramatis
        if dramatis is None or self.view is None:
            return
        campaign_id = self.view.campaign_id
        mine = self.table_view is not None and self.table_view.my_persona == persona_id
        name = next((p.name for p in self.view.personas if p.persona_id == persona_id), "")
        try:
            if mine:
                await dramatis.table.release(campaign_id)
                self.notify(clean(f"You let go of {name}; its own brain acts again."), timeout=3)
            else:
                await dramatis.table.take(campaign_id, persona_id)
                self.notify(
                    clean(f"You control {name}: choose with 1-9 when a turn is called."),
                    timeout=4,
                )
        except USER_ERRORS as exc:
            self.notify(clean(str(exc)), markup=False, severity="warning", timeout=4)
            return
        await self._load_table(campaign_id)
        self._show_view()
        self.show_pending()

    @work(group="table")
    async def choose_shared(self, index: int) -> None:
        from dramatis.tui.app import USER_ERRORS

        dramatis = self.dramatis_app.dramatis
        if dramatis is None or self.view is None:
            return
        campaign_id = self.view.campaign_id
        try:
            label = await dramatis.table.choose(campaign_id, index)
        except USER_ERRORS as exc:
            self.notify(clean(str(exc)), markup=False, severity="warning", timeout=3)
            return
        self.notify(clean(f"You chose: {label}."), markup=False, timeout=2)
        await self._load_table(campaign_id)
        self._show_turn()
        self.show_pending()

    def _show_shared_choice(self) -> None:
        """The choice panel while this session's persona is to choose in a called turn."""
        panel = self.query_one("#choice", Vertical)
        context = self._options
        view = self.table_view
        if context is None or view is None or view.call is None or not view.can_choose:
            self.pending = False
            panel.set_class(False, "-pending")
            return
        self.pending = True
        name = context.names.get(context.persona_id, "your persona")
        panel.border_title = clean(f"Your move, {name}  ·  turn {view.call.turn}")
        self.query_one("#choice-options", Static).update(self._options_line(context))
        count = min(9, len(context.options))
        left = max(0.0, view.call.seconds_left)
        when = (
            f"in {left:.0f} s"
            if self.dramatis_app.animate
            else f"after {view.call.timeout_seconds:g} s"
        )
        self.query_one("#choice-timeout", Static).update(
            f"press 1-{count} · the fallback acts {when}"
        )
        panel.set_class(True, "-pending")
