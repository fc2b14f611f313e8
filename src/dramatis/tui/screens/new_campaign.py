"""The new-campaign form (a modal): base, name, description, turn limit, seed, personas, brains.

Every problem is explained beside its field; nothing the player types can crash the app.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from dramatis.domain.campaign_file import BrainKind, PersonaEntry
from dramatis.sheets.campaign_loader import (
    LoadedCampaign,
    LoadedPersona,
    list_samples,
    load_campaign_file,
    resolve_campaign,
)
from dramatis.sheets.common import LoadedSheet
from dramatis.sheets.loader import load_sheet
from dramatis.tui.text import clean, safe
from dramatis.tui.widgets.format import FORMAT_LABELS

if TYPE_CHECKING:
    from dramatis.tui.app import DramatisApp

MAX_TURN_LIMIT = 100_000


class PersonaRow(Horizontal):
    """One persona the campaign may include: a checkbox and its brain."""

    DEFAULT_CSS = """
    PersonaRow { height: 1; }
    PersonaRow Checkbox { width: 1fr; }
    PersonaRow Select { width: 22; }
    """

    def __init__(
        self, loaded: LoadedSheet, origin: str, *, selected: bool, brain: str, gemini: bool
    ) -> None:
        super().__init__()
        self.loaded = loaded
        self.origin = origin
        self._selected = selected
        self._brain = brain
        self._gemini = gemini

    def compose(self) -> ComposeResult:
        fmt = FORMAT_LABELS.get(self.loaded.sheet.source_format, "")
        label = Content(clean(self.loaded.sheet.name)) + Content.styled(
            f"  {fmt} · {self.origin}", "dim"
        )
        yield Checkbox(label, self._selected, compact=True)
        gemini = "Gemini" if self._gemini else "Gemini (not set up)"
        yield Select(
            [("offline", "offline"), (gemini, "gemini"), ("you (human)", "human")],
            value=self._brain,
            allow_blank=False,
            compact=True,
        )

    @property
    def selected(self) -> bool:
        return self.query_one(Checkbox).value

    @property
    def brain(self) -> str:
        return str(self.query_one(Select).value)


class NewCampaignScreen(ModalScreen[str | None]):
    """Build a campaign from a sample or a campaign file, with chosen personas and brains."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s", "create", "create", id="new.create", tooltip="Create and start the campaign"
        ),
        Binding("escape", "cancel", "cancel", id="new.cancel"),
    ]

    DEFAULT_CSS = """
    NewCampaignScreen { align: center middle; }
    NewCampaignScreen > Vertical {
        width: 96; max-width: 100%; height: 90%; max-height: 44;
        border: round $primary; background: $surface; padding: 0 1;
    }
    NewCampaignScreen .title { text-style: bold; color: $primary; padding: 0 1; }
    NewCampaignScreen VerticalScroll { height: 1fr; padding: 0 1; }
    NewCampaignScreen .field { height: auto; margin-top: 1; }
    NewCampaignScreen .field Label { width: 14; padding-top: 0; color: $text-muted; }
    NewCampaignScreen .field Input, NewCampaignScreen .field Select { width: 1fr; }
    NewCampaignScreen .pair { height: auto; margin-top: 1; }
    NewCampaignScreen .pair > Label { width: 14; color: $text-muted; }
    NewCampaignScreen .pair Input { width: 1fr; }
    NewCampaignScreen .error { color: $error; height: auto; padding-left: 14; }
    NewCampaignScreen .muted { color: $text-muted; padding-left: 14; height: auto; }
    NewCampaignScreen #persona-list { height: auto; margin-left: 14; }
    NewCampaignScreen #buttons { height: auto; align-horizontal: right; padding: 0 1; }
    NewCampaignScreen #buttons Button { margin-left: 1; }
    """

    def __init__(self, sample: str | None = None) -> None:
        super().__init__()
        self.samples = list_samples()
        self.sample = sample or (self.samples[0].name if self.samples else None)
        self.base: LoadedCampaign | None = None

    @property
    def dramatis_app(self) -> DramatisApp:
        return cast("DramatisApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("New campaign", classes="title")
            with VerticalScroll():
                with Horizontal(classes="field"):
                    yield Label("From")
                    yield Select(
                        [(safe(s.title), s.name) for s in self.samples],
                        value=self.sample if self.sample else Select.NULL,
                        prompt="a sample",
                        id="base",
                        compact=True,
                    )
                with Horizontal(classes="pair"):
                    yield Label("or file")
                    yield Input(
                        placeholder="path/to/campaign.toml (enter loads it)",
                        id="base-file",
                        compact=True,
                    )
                yield Static("", classes="error", id="err-base")
                with Horizontal(classes="pair"):
                    yield Label("Name")
                    yield Input(id="name", max_length=200, compact=True)
                yield Static("", classes="error", id="err-name")
                with Horizontal(classes="pair"):
                    yield Label("Description")
                    yield Input(id="description", compact=True)
                with Horizontal(classes="pair"):
                    yield Label("Turn limit")
                    yield Input(id="turn-limit", placeholder="blank: no limit", compact=True)
                yield Static("", classes="error", id="err-turn-limit")
                with Horizontal(classes="pair"):
                    yield Label("Seed")
                    yield Input(id="seed", placeholder="blank: 7", compact=True)
                yield Static("", classes="error", id="err-seed")
                with Horizontal(classes="pair"):
                    yield Label("Personas")
                    yield Static("tick at least two · choose a brain for each", classes="hint")
                yield Vertical(id="persona-list")
                yield Static("", classes="error", id="err-personas")
                with Horizontal(classes="pair"):
                    yield Label("Add a sheet")
                    yield Input(
                        placeholder="path to .toml, .md or Card V2 .json (enter adds)",
                        id="sheet-path",
                        compact=True,
                    )
                yield Static("", classes="error", id="err-sheet")
            with Horizontal(id="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Create and play  ^s", variant="primary", id="create", compact=True)

    async def on_mount(self) -> None:
        if self.sample:
            await self._load_base(self.sample)
        await self._add_library()
        self.query_one("#name", Input).focus()

    # ------------------------------------------------------------------ base and personas

    async def _load_base(self, reference: str) -> None:
        error = self.query_one("#err-base", Static)
        try:
            path = resolve_campaign(reference)
            base = await asyncio.to_thread(load_campaign_file, path)
        except Exception as exc:  # CampaignFileError, CharacterSheetError, OSError: all explained
            error.update(clean(str(exc)))
            return
        error.update("")
        self.base = base
        spec = base.campaign
        self.query_one("#name", Input).value = spec.name
        self.query_one("#description", Input).value = spec.description
        self.query_one("#turn-limit", Input).value = str(spec.turn_limit or "")
        self.query_one("#seed", Input).value = str(spec.seed) if spec.seed is not None else ""
        listing = self.query_one("#persona-list", Vertical)
        for row in list(listing.query(PersonaRow)):
            if row.origin == "campaign":
                await row.remove()
        rows = [
            PersonaRow(p.loaded, "campaign", selected=True, brain=p.brain, gemini=self._gemini)
            for p in base.personas
        ]
        await listing.mount_all(rows, before=0) if listing.children else await listing.mount_all(
            rows
        )

    async def _add_library(self) -> None:
        dramatis = self.dramatis_app.dramatis
        if dramatis is None:
            return
        have = {row.loaded.sheet.sheet_hash() for row in self.query(PersonaRow)}
        rows = []
        for view in await dramatis.personas.list_personas():
            if view.sheet_hash in have or view.memberships:
                continue  # campaign personas are copies; offer the imported library sheets
            sheet = await dramatis.personas.sheet(view.persona_id)
            have.add(view.sheet_hash)
            rows.append(
                PersonaRow(
                    LoadedSheet(sheet, Path(view.name)),
                    "library",
                    selected=False,
                    brain="offline",
                    gemini=self._gemini,
                )
            )
        if rows:
            await self.query_one("#persona-list", Vertical).mount_all(rows)

    @property
    def _gemini(self) -> bool:
        return self.dramatis_app.settings.gemini_configured

    @on(Select.Changed, "#base")
    async def _base_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and (self.base is None or self.sample != event.value):
            self.sample = str(event.value)
            await self._load_base(self.sample)

    @on(Input.Submitted, "#base-file")
    async def _base_file(self, event: Input.Submitted) -> None:
        if event.value.strip():
            await self._load_base(event.value.strip())

    @on(Input.Submitted, "#sheet-path")
    async def _add_sheet(self, event: Input.Submitted) -> None:
        error = self.query_one("#err-sheet", Static)
        raw = event.value.strip()
        if not raw:
            error.update("Give the path of a sheet file.")
            return
        try:
            loaded = await asyncio.to_thread(load_sheet, Path(raw).expanduser())
        except Exception as exc:  # CharacterSheetError and I/O problems, one line each
            error.update(clean(str(exc)))
            return
        error.update("")
        row = PersonaRow(loaded, "file", selected=True, brain="offline", gemini=self._gemini)
        await self.query_one("#persona-list", Vertical).mount(row)
        event.input.value = ""
        self.notify(clean(f"Added {loaded.sheet.name}."), markup=False, timeout=3)

    # ------------------------------------------------------------------ create

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def _check(self) -> tuple[LoadedCampaign, int | None, int | None] | None:
        """The campaign to create, or None after writing each problem beside its field."""
        errors: dict[str, str] = {}
        name = self.query_one("#name", Input).value.strip()
        if not name:
            errors["name"] = "Give the campaign a name."
        elif len(name) > 120:
            errors["name"] = f"A name is at most 120 characters (this one has {len(name)})."
        limit_text = self.query_one("#turn-limit", Input).value.strip()
        limit: int | None = None
        if limit_text:
            if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_TURN_LIMIT:
                errors["turn-limit"] = (
                    f"A whole number of turns from 1 to {MAX_TURN_LIMIT:,}, or blank for none."
                )
            else:
                limit = int(limit_text)
        seed_text = self.query_one("#seed", Input).value.strip()
        seed: int | None = None
        if seed_text:
            try:
                seed = int(seed_text)
            except ValueError:
                errors["seed"] = (
                    "The seed is a whole number (the same seed replays the same story)."
                )
        rows = [row for row in self.query(PersonaRow) if row.selected]
        names = [row.loaded.sheet.name for row in rows]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        gemini_rows = [row for row in rows if row.brain == "gemini"]
        if len(rows) < 2:
            errors["personas"] = f"Tick at least two personas (ticked: {len(rows)})."
        elif duplicates:
            errors["personas"] = f"Two personas are called {clean(duplicates[0])!r}; untick one."
        elif gemini_rows and not self._gemini:
            errors["personas"] = (
                f"{clean(gemini_rows[0].loaded.sheet.name)} uses Gemini, which is not set up "
                "(set DRAMATIS_GEMINI_API_KEY); choose offline or you."
            )
        if self.base is None:
            errors["base"] = "Choose a sample or load a campaign file: it gives the world."
        for key in ("base", "name", "turn-limit", "seed", "personas"):
            self.query_one(f"#err-{key}", Static).update(errors.get(key, ""))
        if errors or self.base is None:
            first = next(iter(errors))
            target = {"personas": "#persona-list", "base": "#base"}.get(first, f"#{first}")
            widget = self.query_one(target)
            widget.scroll_visible()
            if widget.focusable:
                widget.focus()
            return None
        personas = tuple(
            LoadedPersona(
                entry=PersonaEntry(sheet=str(row.loaded.source), brain=cast(BrainKind, row.brain)),
                loaded=row.loaded,
            )
            for row in rows
        )
        spec = self.base.campaign.model_copy(
            update={
                "name": name,
                "description": self.query_one("#description", Input).value.strip(),
                "turn_limit": limit,
                "seed": seed,
                "personas": tuple(p.entry for p in personas),
            }
        )
        return dataclasses.replace(self.base, campaign=spec, personas=personas), seed, limit

    @on(Button.Pressed, "#create")
    async def action_create(self) -> None:
        from dramatis.tui.app import USER_ERRORS

        checked = self._check()
        if checked is None:
            return
        loaded, seed, _limit = checked
        dramatis = self.dramatis_app.dramatis
        assert dramatis is not None
        try:
            view = await dramatis.campaigns.create(loaded, seed=seed)
            await dramatis.campaigns.start(view.campaign_id)
        except USER_ERRORS as exc:
            self.query_one("#err-personas", Static).update(clean(str(exc)))
            return
        self.dismiss(view.campaign_id)
