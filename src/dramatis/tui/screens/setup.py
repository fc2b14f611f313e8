"""Screen 1, Setup: choose a campaign to play, start a sample, or create a new campaign."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar, cast

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from dramatis.services.timetravel import TimeTravelService
from dramatis.services.views import CampaignSummary, CampaignView
from dramatis.sheets.campaign_loader import SampleInfo, list_samples, load_campaign_file
from dramatis.tui.screens.timetravel import family_tree
from dramatis.tui.text import safe
from dramatis.tui.widgets.bars import TopBar
from dramatis.tui.widgets.format import BRAIN_LABELS, FORMAT_LABELS, age, turns_text

if TYPE_CHECKING:
    from dramatis.tui.app import DramatisApp

STATUS_STYLE = {"active": "success", "complete": "secondary", "archived": "dim", "draft": "warning"}


class ListTable(DataTable[object]):
    """A row-cursor table whose enter key reads "play" in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter", "select_cursor", "play", id="setup.play", tooltip="Play the highlighted row"
        ),
    ]


def _persona_table(*headers: str) -> Table:
    table = Table(
        box=None, padding=(0, 2, 0, 0), show_edge=False, header_style="bold dim", expand=False
    )
    for index, header in enumerate(headers):
        table.add_column(
            header,
            style="bold" if index == 0 else ("dim" if index == 2 else ""),
            no_wrap=index == 0,
        )
    return table


class SetupScreen(Screen[None]):
    """Campaigns and samples on the left, the highlighted one in detail on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "play",
            "play",
            id="setup.play",
            tooltip="Play the highlighted campaign or sample",
        ),
        Binding("n", "new", "new campaign", id="setup.new", tooltip="New campaign (form)"),
        Binding(
            "i",
            "import_sheet",
            "import sheet",
            id="setup.import",
            tooltip="Import a character sheet",
        ),
        Binding(
            "a",
            "archive",
            "archive",
            id="setup.archive",
            tooltip="Archive the highlighted campaign",
        ),
    ]

    DEFAULT_CSS = """
    SetupScreen #setup-body { height: 1fr; }
    SetupScreen #lists { width: 1fr; min-width: 38; }
    SetupScreen #details { width: 1fr; border-left: vkey $panel; padding: 0 1; }
    SetupScreen .section { color: $primary; text-style: bold; padding: 1 1 0 1; height: auto; }
    SetupScreen .hint { color: $text-muted; padding: 0 1; height: auto; }
    SetupScreen DataTable { height: auto; max-height: 1fr; background: $background; }
    SetupScreen DataTable:focus { background-tint: $primary 4%; }
    SetupScreen #campaigns { max-height: 60%; }
    SetupScreen.narrow #setup-body { layout: vertical; }
    SetupScreen.narrow #lists { width: 100%; height: auto; max-height: 60%; }
    SetupScreen.narrow #details {
        width: 100%; height: 1fr; border-left: none; border-top: hkey $panel;
    }
    SetupScreen.narrow .section { padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.samples: list[SampleInfo] = []
        self.summaries: list[CampaignSummary] = []
        self._sample_personas: dict[str, list[tuple[str, str, str]]] = {}

    @property
    def dramatis_app(self) -> DramatisApp:
        return cast("DramatisApp", self.app)

    def compose(self) -> ComposeResult:
        yield TopBar(id="setup-bar")
        with Horizontal(id="setup-body"):
            with Vertical(id="lists"):
                yield Static("Campaigns", classes="section", id="campaigns-title")
                yield Static("", classes="hint", id="campaigns-hint")
                yield ListTable(id="campaigns", cursor_type="row")
                yield Static("Samples", classes="section", id="samples-title")
                yield Static("", classes="hint", id="samples-hint")
                yield ListTable(id="samples", cursor_type="row")
            with VerticalScroll(id="details"):
                yield Static(id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        campaigns = self.query_one("#campaigns", DataTable)
        campaigns.add_column("Campaign", key="name")
        campaigns.add_column("Status", key="status")
        campaigns.add_column("Turns", key="turns")
        campaigns.add_column("Cast", key="personas")
        campaigns.add_column("Played", key="played")
        samples = self.query_one("#samples", DataTable)
        samples.add_column("Sample", key="name")
        samples.add_column("Personas", key="personas")
        self.samples = list_samples()
        for sample in self.samples:
            samples.add_row(safe(sample.title), f"{sample.persona_count}", key=sample.name)
        self._apply_width(self.app.size.width)

    def on_resize(self) -> None:
        self._apply_width(self.app.size.width)

    def _apply_width(self, width: int) -> None:
        self.set_class(width < 100, "narrow")

    # ------------------------------------------------------------------ data

    async def refresh_data(self) -> None:
        app = self.dramatis_app
        dramatis = app.dramatis
        if dramatis is None:
            return
        self.summaries = await dramatis.campaigns.list_campaigns()
        mode = "Gemini" if app.settings.gemini_configured else "offline"
        who = f"{app.settings.player} ({app.settings.role}) · " if app.shared else ""
        self.query_one(TopBar).set(
            Text("dramatis", style="bold"),
            Text(f"{who}tenant: {app.settings.tenant} · {mode}", style="dim"),
        )
        table = self.query_one("#campaigns", DataTable)
        keep = table.cursor_row
        table.clear()
        now = app.clock.now_iso()
        theme = app.current_theme
        for s in self.summaries:
            style = getattr(theme, STATUS_STYLE.get(s.status, ""), None) or ""
            name = safe(s.name)
            if s.forked_from:
                name.append(" (fork)", style="dim")
            table.add_row(
                name,
                Text(s.status, style=style if s.status != "archived" else "dim"),
                turns_text(s.turns, s.turn_limit),
                str(s.persona_count),
                age(s.updated_at, now),
                key=s.campaign_id,
            )
        has_campaigns = bool(self.summaries)
        appeared = has_campaigns and not table.display
        table.display = has_campaigns
        hint = self.query_one("#campaigns-hint", Static)
        hint.update(
            ""
            if has_campaigns
            else "No campaigns yet: start a sample below with enter, or n for a new one."
        )
        hint.display = not has_campaigns
        samples_hint = self.query_one("#samples-hint", Static)
        samples_hint.update("enter starts one  ·  n builds your own from it")
        if has_campaigns:
            table.move_cursor(row=min(max(keep, 0), len(self.summaries) - 1))
            if app.campaign_id in {s.campaign_id for s in self.summaries} and keep <= 0:
                table.move_cursor(
                    row=[s.campaign_id for s in self.summaries].index(app.campaign_id)
                )
        focused = self.focused
        if focused is None or appeared or (not has_campaigns and focused is table):
            self.query_one("#campaigns" if has_campaigns else "#samples", DataTable).focus()
        await self._show_details()

    def _selected(self) -> tuple[str, str] | None:
        """("campaign", id) or ("sample", slug) for the highlighted row of the focused list."""
        focused = self.focused
        table_id = focused.id if isinstance(focused, DataTable) else None
        if table_id is None:
            table_id = "campaigns" if self.summaries else "samples"
        table = self.query_one(f"#{table_id}", DataTable)
        if table.row_count == 0 or not table.display:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is None:
            return None
        return ("campaign" if table_id == "campaigns" else "sample", key)

    @on(DataTable.RowHighlighted)
    async def _highlighted(self) -> None:
        await self._show_details()

    @on(DataTable.RowSelected)
    async def _selected_row(self) -> None:
        await self.action_play()

    def on_descendant_focus(self) -> None:
        self.call_later(self._show_details)

    async def _show_details(self) -> None:
        body = self.query_one("#detail-body", Static)
        selected = self._selected()
        if selected is None:
            body.update(Text("Nothing to show yet.", style="dim"))
            return
        kind, key = selected
        if kind == "campaign":
            dramatis = self.dramatis_app.dramatis
            assert dramatis is not None
            view = await dramatis.campaigns.show(key)
            details = self._campaign_details(view)
            tree = await TimeTravelService(dramatis.campaigns).family(key)
            if tree.children:  # the campaign has forks, or is one: show its family tree
                details = Group(details, Text(""), family_tree(tree, key))
            body.update(details)
        else:
            sample = next(s for s in self.samples if s.name == key)
            body.update(await self._sample_details(sample))

    def _campaign_details(self, view: CampaignView) -> Group:
        app = self.dramatis_app
        head = Table.grid(expand=True)
        head.add_column(ratio=1, overflow="fold")
        head.add_column(justify="right", no_wrap=True)
        head.add_row(
            safe(view.name, "bold"),
            Text(f"{view.status} · {turns_text(view.turns, view.turn_limit)}", style="dim"),
        )
        personas = _persona_table("Persona", "Brain", "Where")
        for p in view.personas:
            personas.add_row(
                safe(p.name), BRAIN_LABELS.get(p.brain, p.brain), safe(p.location or "")
            )
        last = age(view.updated_at, app.clock.now_iso())
        foot = Text(
            f"Seed {view.seed} · created {view.created_at[:10]} · updated {last} ago"
            if last != "now"
            else f"Seed {view.seed} · created {view.created_at[:10]} · updated just now",
            style="dim",
        )
        return Group(
            head,
            safe(view.description, "italic"),
            Text(""),
            personas,
            Text(""),
            Text(f"Narrated by {view.chronicler} ({view.style})", style="dim"),
            foot,
        )

    async def _sample_details(self, sample: SampleInfo) -> Group:
        personas = self._sample_personas.get(sample.name)
        if personas is None:
            try:
                loaded = await asyncio.to_thread(load_campaign_file, sample.path)
                personas = [
                    (
                        p.sheet.name,
                        BRAIN_LABELS.get(p.brain, p.brain),
                        FORMAT_LABELS.get(p.sheet.source_format, ""),
                    )
                    for p in loaded.personas
                ]
            except Exception as exc:  # a broken sample must not break the screen
                personas = [(f"cannot load: {exc}", "", "")]
            self._sample_personas[sample.name] = personas
        table = _persona_table("Persona", "Brain", "Sheet")
        for name, brain, fmt in personas:
            table.add_row(safe(name), brain, fmt)
        return Group(
            safe(sample.title, "bold"),
            safe(sample.description, "italic"),
            Text(""),
            table,
            Text(""),
            Text("enter: start playing it now  ·  n: adjust it first", style="dim"),
        )

    # ------------------------------------------------------------------ actions

    async def action_play(self) -> None:
        selected = self._selected()
        if selected is None:
            return
        kind, key = selected
        if kind == "sample":
            self.start_sample(key)
            return
        dramatis = self.dramatis_app.dramatis
        assert dramatis is not None
        view = await dramatis.campaigns.show(key)
        if view.status == "draft":
            await dramatis.campaigns.start(key)
        await self.dramatis_app.play_campaign(key)

    @work(exclusive=True, group="setup-start")
    async def start_sample(self, slug: str) -> None:
        """Create a campaign from a sample, start it and open it on the Play screen."""
        from dramatis.tui.app import USER_ERRORS

        app = self.dramatis_app
        dramatis = app.dramatis
        assert dramatis is not None
        sample = next(s for s in self.samples if s.name == slug)
        try:
            loaded = await asyncio.to_thread(load_campaign_file, sample.path)
            view = await dramatis.campaigns.create(loaded)
            await dramatis.campaigns.start(view.campaign_id)
        except USER_ERRORS as exc:
            app.notify(str(exc), severity="error", title="Could not start the sample")
            return
        app.notify(f"{sample.title} begins.", timeout=3)
        await app.play_campaign(view.campaign_id)

    def action_new(self) -> None:
        from dramatis.tui.screens.new_campaign import NewCampaignScreen

        selected = self._selected()
        sample = selected[1] if selected and selected[0] == "sample" else None
        self.app.push_screen(NewCampaignScreen(sample), self._created)

    async def _created(self, campaign_id: str | None) -> None:
        if campaign_id:
            await self.dramatis_app.play_campaign(campaign_id)

    def action_import_sheet(self) -> None:
        from dramatis.tui.screens.import_sheet import ImportSheetScreen

        self.app.push_screen(ImportSheetScreen())

    async def action_archive(self) -> None:
        from dramatis.tui.app import USER_ERRORS

        selected = self._selected()
        if selected is None or selected[0] != "campaign":
            self.notify("Highlight a campaign to archive it.", severity="warning", timeout=3)
            return
        dramatis = self.dramatis_app.dramatis
        assert dramatis is not None
        try:
            view = await dramatis.campaigns.archive(selected[1])
        except USER_ERRORS as exc:
            self.notify(str(exc), severity="error", title="Could not archive")
            return
        self.notify(f"Archived {view.name}.", timeout=3, markup=False)
        await self.refresh_data()
