"""Screen 5, Control plane: operate it.

Feature flags with their owner, rollout stage and rollback plan; the SLO catalogue with what was
measured, breaches and a sparkline of recent values; runbooks; incident contacts and ADRs.
``t`` changes the highlighted flag's stage through a dialog that insists on an owner and a
rollback plan; ``enter`` opens the highlighted runbook.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.validation import Function, ValidationResult, Validator
from textual.widgets import Button, DataTable, Footer, Input, Label, OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from dramatis.domain.control_plane import (
    SLO,
    ControlPlane,
    Flag,
    InvalidFlagStage,
    SLOStatus,
    parse_stage,
)
from dramatis.domain.errors import DomainError
from dramatis.services.control_plane import runbook_for
from dramatis.services.errors import ServiceError
from dramatis.tui.text import clean, safe
from dramatis.tui.widgets.control_runbook import ControlRunbookModal
from dramatis.tui.widgets.tables import Row, fill_table

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
NOT_MEASURED = "not measured yet"

ToggleApplier = Callable[[str, str, str, str], Awaitable[None]]


# ---------------------------------------------------------------- formatting


def format_value(value: float, unit: str) -> str:
    """A measured value in its unit: ratios as percentages."""
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:g} {unit}".strip()


def format_objective(slo: SLO) -> str:
    """``< 2.00 s``, ``< 5.0 %``."""
    return f"{slo.comparator} {format_value(slo.objective, slo.unit)}"


def text_sparkline(values: list[float], width: int = 8) -> str:
    """The last ``width`` values as block characters, scaled between their min and max."""
    recent = values[-width:]
    if not recent:
        return ""
    low, high = min(recent), max(recent)
    if high == low:
        return SPARK_BLOCKS[0] * len(recent)
    scale = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - low) / (high - low) * scale)] for v in recent)


def stage_text(stage: str) -> Text:
    """A rollout stage, coloured by how far it is rolled out."""
    if stage == "on":
        return Text("on", style="bold green")
    if stage == "off":
        return Text("off", style="dim")
    if stage == "internal":
        return Text("internal", style="yellow")
    if stage.startswith("percent:"):
        return Text(f"{stage.split(':', 1)[1]} %", style="cyan")
    return safe(stage)


def suggested_stage(stage: str) -> str:
    """What a toggle most likely means: off -> on, anything else -> off."""
    return "on" if stage == "off" else "off"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _when(at: str) -> str:
    return at[:16].replace("T", " ") if at else "–"


# ---------------------------------------------------------------- the toggle dialog


class StageValidator(Validator):
    """A rollout stage: off, internal, percent:N (1..99) or on."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_stage(value)
        except InvalidFlagStage:
            return self.failure("Use off, internal, percent:N (N from 1 to 99) or on.")
        return self.success()


def _required(what: str) -> Function:
    return Function(lambda value: bool(value.strip()), what)


class FlagToggleModal(ModalScreen[bool]):
    """Ask for the new stage, the owner and the rollback plan of a flag change.

    Each field is checked inline; nothing is recorded until all three are valid. ``apply`` records
    the change (stage, owner, rollback plan, reason); an error it raises is shown in the dialog.
    Dismissed with True when the change was recorded.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="control.toggle.cancel"),
        Binding("ctrl+s", "save", "record change", id="control.toggle.save"),
    ]

    DEFAULT_CSS = """
    FlagToggleModal {
        align: center middle;
        background: $background 60%;
    }
    FlagToggleModal #toggle-dialog {
        width: 76;
        max-width: 96%;
        height: auto;
        max-height: 96%;
        padding: 1 2 0 2;
        border: round $primary;
        border-title-color: $text-accent;
        background: $surface;
        overflow-y: auto;
    }
    FlagToggleModal #toggle-now {
        color: $text-muted;
    }
    FlagToggleModal .field-label {
        margin-top: 1;
        color: $text-muted;
    }
    FlagToggleModal Input {
        background: $panel;
    }
    FlagToggleModal Input.-invalid {
        background: $error 15%;
    }
    FlagToggleModal .field-error {
        color: $text-error;
        height: auto;
    }
    FlagToggleModal .field-error.-quiet {
        display: none;
    }
    FlagToggleModal #toggle-error {
        color: $text-error;
        height: auto;
    }
    FlagToggleModal #toggle-buttons {
        height: auto;
        align-horizontal: right;
        margin: 1 0;
    }
    FlagToggleModal #toggle-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(self, flag: Flag, apply: ToggleApplier) -> None:
        super().__init__()
        self.flag = flag
        self._apply = apply

    def compose(self) -> ComposeResult:
        flag = self.flag
        with Vertical(id="toggle-dialog") as dialog:
            dialog.border_title = "Change a flag"
            yield Static(
                Content.assemble(
                    (clean(flag.name), "bold"),
                    " is ",
                    (clean(flag.stage), "bold $text-accent"),
                    (f" · owner {clean(flag.owner)} · since {_when(flag.updated_at)}", "dim"),
                ),
                id="toggle-now",
            )
            yield Label("New stage  (off · internal · percent:N · on)", classes="field-label")
            yield Input(
                suggested_stage(flag.stage),
                compact=True,
                id="toggle-stage",
                validators=[StageValidator()],
                validate_on=["submitted"],
            )
            yield Static("", id="toggle-stage-error", classes="field-error -quiet")
            yield Label("Owner  (the person accountable for this change)", classes="field-label")
            yield Input(
                compact=True,
                placeholder=f"your name (was {clean(flag.owner)})",
                id="toggle-owner",
                validators=[_required("Name the owner: who is accountable for this change?")],
                validate_on=["submitted"],
            )
            yield Static("", id="toggle-owner-error", classes="field-error -quiet")
            yield Label("Rollback plan  (how to undo it)", classes="field-label")
            yield Input(
                flag.rollback_plan,
                compact=True,
                id="toggle-plan",
                validators=[_required("Say how to undo this change.")],
                validate_on=["submitted"],
            )
            yield Static("", id="toggle-plan-error", classes="field-error -quiet")
            yield Label("Reason  (optional)", classes="field-label")
            yield Input(placeholder="why now?", id="toggle-reason", compact=True)
            yield Static("", id="toggle-error")
            with Horizontal(id="toggle-buttons"):
                yield Button("Cancel", id="toggle-cancel", compact=True)
                yield Button("Record change", id="toggle-save", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#toggle-stage", Input).focus()

    FIELDS = ("toggle-stage", "toggle-owner", "toggle-plan", "toggle-reason")

    def _check(self, field_id: str) -> bool:
        field = self.query_one(f"#{field_id}", Input)
        error = self.query_one(f"#{field_id}-error", Static)
        result = field.validate(field.value)
        if result is None or result.is_valid:
            error.update("")
            error.add_class("-quiet")
            return True
        error.update(Content(clean(result.failure_descriptions[0])))
        error.remove_class("-quiet")
        return False

    @on(Input.Changed)
    def _recheck(self, event: Input.Changed) -> None:
        """Once an error is showing, clear it as soon as the field is fixed."""
        field_id = event.input.id or ""
        if field_id in self.FIELDS[:3] and event.input.has_class("-invalid"):
            self._check(field_id)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        field_id = event.input.id or ""
        if field_id == "toggle-reason":
            self.action_save()
            return
        if field_id in self.FIELDS[:3] and not self._check(field_id):
            return
        index = self.FIELDS.index(field_id) if field_id in self.FIELDS else -1
        if 0 <= index < len(self.FIELDS) - 1:
            self.query_one(f"#{self.FIELDS[index + 1]}", Input).focus()

    @on(Button.Pressed, "#toggle-save")
    def action_save(self) -> None:
        """Check every field, then record the change."""
        results = [self._check(field_id) for field_id in self.FIELDS[:3]]
        if not all(results):
            first_bad = self.FIELDS[results.index(False)]
            self.query_one(f"#{first_bad}", Input).focus()
            return
        values = [self.query_one(f"#{field_id}", Input).value for field_id in self.FIELDS]
        self.query_one("#toggle-save", Button).disabled = True
        self._record(*values)

    @work(exclusive=True, group="toggle")
    async def _record(self, stage: str, owner: str, plan: str, reason: str) -> None:
        try:
            await self._apply(stage, owner, plan, reason)
        except (ServiceError, DomainError) as exc:
            self.query_one("#toggle-error", Static).update(Content(clean(str(exc))))
            self.query_one("#toggle-save", Button).disabled = False
            return
        self.dismiss(True)

    @on(Button.Pressed, "#toggle-cancel")
    def action_cancel(self) -> None:
        """Close without changing the flag."""
        self.dismiss(False)


# ---------------------------------------------------------------- the screen


BREACH_LIST_LENGTH = 5  # recent breached readings listed under the selected SLO


class ControlScreen(Screen[None]):
    """Flags, SLOs, runbooks and contacts of the tenant's control plane."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (110, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "toggle_flag", "toggle flag", id="control.toggle"),
        Binding("enter", "open_runbook", "open runbook", id="control.open_runbook", priority=True),
    ]

    DEFAULT_CSS = """
    ControlScreen {
        layout: vertical;
    }
    ControlScreen #control-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ControlScreen #control-body {
        height: 1fr;
        overflow-y: auto;
    }
    ControlScreen DataTable, ControlScreen OptionList, ControlScreen .panel {
        border: none;
        border-top: solid $primary-muted;
        border-title-color: $text-accent;
        background: $surface;
    }
    ControlScreen DataTable:focus, ControlScreen OptionList:focus {
        border-top: solid $primary;
    }
    ControlScreen DataTable {
        height: auto;
    }
    ControlScreen #control-flags {
        max-height: 12;
    }
    ControlScreen #control-slo-row, ControlScreen #control-bottom {
        height: auto;
    }
    ControlScreen #control-slos {
        width: 3fr;
    }
    ControlScreen #control-slo-panel {
        width: 2fr;
        height: auto;
        border-left: tall $panel;
    }
    ControlScreen .panel {
        height: auto;
        padding: 0 1;
    }
    ControlScreen #control-spark {
        height: 4;
        margin: 0 1 1 1;
    }
    ControlScreen OptionList {
        width: 1fr;
        height: auto;
        max-height: 8;
        padding: 0;
    }
    ControlScreen #control-contacts {
        width: 1fr;
        border-left: tall $panel;
    }

    /* Narrow terminals: the SLO table takes the full width, its detail goes below it. */
    ControlScreen.-narrow #control-slo-row {
        layout: vertical;
    }
    ControlScreen.-narrow #control-slos, ControlScreen.-narrow #control-slo-panel {
        width: 1fr;
        border-left: none;
    }
    ControlScreen.-narrow #control-flags {
        max-height: 6;
    }
    ControlScreen.-narrow #control-spark {
        height: 1;
        margin: 0 1;
    }
    ControlScreen.-narrow OptionList {
        max-height: 4;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = asyncio.Lock()
        self.plane: ControlPlane | None = None
        """The control plane shown."""
        self.catalogue: list[tuple[SLO, SLOStatus | None]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="control-title")
        with Vertical(id="control-body"):
            flags: DataTable[Text] = DataTable(
                id="control-flags", cursor_type="row", zebra_stripes=True
            )
            flags.border_title = "Flags"
            yield flags
            with Horizontal(id="control-slo-row"):
                slos: DataTable[Text] = DataTable(id="control-slos", cursor_type="row")
                slos.border_title = "SLOs"
                yield slos
                with Vertical(id="control-slo-panel"):
                    yield Static(id="control-slo-detail", classes="panel")
                    yield Sparkline([], id="control-spark")
            with Horizontal(id="control-bottom"):
                runbooks = OptionList(id="control-runbooks")
                runbooks.border_title = "Runbooks · enter opens"
                yield runbooks
                contacts = Static(id="control-contacts", classes="panel")
                contacts.border_title = "Contacts · ADRs"
                yield contacts
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#control-flags", DataTable).focus()

    def on_resize(self) -> None:
        self.query_one(Footer).compact = self.size.width < 110
        if self.plane is not None:
            self._show_flags(self.plane)

    # ------------------------------------------------------------------ data

    async def refresh_data(self) -> None:
        """Reload the control plane."""
        async with self._lock:
            dramatis = getattr(self.app, "dramatis", None)
            if dramatis is None:
                return
            plane = await dramatis.control_plane.load()
            self.plane = plane
            self.catalogue = dramatis.control_plane.catalogue(plane)
            self._show(plane, dramatis.settings.tenant)

    def _show(self, plane: ControlPlane, tenant: str) -> None:
        breaches = sum(status.breach_count for _, status in self.catalogue if status is not None)
        self.query_one("#control-title", Static).update(
            Content.assemble(
                ("Control plane", "bold"),
                " · tenant ",
                (clean(tenant), "$text-accent"),
                (f" · {len(plane.flags)} flags · {len(self.catalogue)} SLOs · ", "dim"),
                (
                    f"{breaches} breach{'es' if breaches != 1 else ''}",
                    "bold $text-error" if breaches else "dim",
                ),
                (f" · updated {_when(plane.updated_at)}", "dim"),
            )
        )
        self._show_flags(plane)
        self._show_slos()
        self._show_runbooks(plane)
        self._show_contacts(plane)

    def _show_flags(self, plane: ControlPlane) -> None:
        table: DataTable[Text] = self.query_one("#control-flags", DataTable)
        row = table.cursor_row
        width = self.app.size.width
        wide = width >= 110
        columns = {"flag": "flag", "stage": "stage", "owner": "owner", "plan": "rollback plan"}
        if wide:
            columns["since"] = "since"
        rows: list[Row] = []
        # Keep every column on screen: long names and plans are cut with an ellipsis.
        name_width = min(24, max((len(name) for name in plane.flags), default=4))
        owner_width = min(14, max((len(f.owner) for f in plane.flags.values()), default=5))
        spare = width - name_width - owner_width - 10 - 10 - (18 if wide else 0)
        plan_width = max(12, spare)
        for flag in plane.flags.values():
            cells = [
                safe(_cut(flag.name, name_width), "bold"),
                stage_text(flag.stage),
                safe(_cut(flag.owner, owner_width)),
                safe(_cut(flag.rollback_plan, plan_width)),
            ]
            if wide:
                cells.append(Text(_when(flag.updated_at), style="dim"))
            rows.append((cells, flag.name))
        fill_table(table, columns, rows)
        if plane.flags:
            table.move_cursor(row=min(row, len(plane.flags) - 1), animate=False)

    def _show_slos(self) -> None:
        table: DataTable[Text] = self.query_one("#control-slos", DataTable)
        row = table.cursor_row
        columns = {
            "slo": "SLO",
            "objective": "objective",
            "now": "now",
            "trend": "trend",
            "breaches": "breaches",
        }
        rows: list[Row] = []
        for slo, status in self.catalogue:
            last = status.last if status is not None else None
            if last is None or status is None:
                now = Text(NOT_MEASURED, style="dim italic")
                trend = Text("")
                breaches = Text("–", style="dim")
            else:
                now = Text(
                    format_value(last.value, slo.unit),
                    style="bold red" if last.breached else "bold green",
                )
                trend = Text(text_sparkline([r.value for r in status.recent]), style="cyan")
                breaches = Text(
                    f"{status.breach_count}/{status.reading_count}",
                    style="bold red" if status.breach_count else "dim",
                )
            cells = [safe(slo.name, "bold"), Text(format_objective(slo)), now, trend, breaches]
            rows.append((cells, slo.name))
        fill_table(table, columns, rows)
        if self.catalogue:
            table.move_cursor(row=min(row, len(self.catalogue) - 1), animate=False)
            self._show_slo_detail(min(row, len(self.catalogue) - 1))

    def _show_slo_detail(self, index: int) -> None:
        detail = self.query_one("#control-slo-detail", Static)
        spark = self.query_one("#control-spark", Sparkline)
        if not 0 <= index < len(self.catalogue):
            detail.update("")
            spark.display = False
            return
        slo, status = self.catalogue[index]
        detail.border_title = clean(slo.name)
        lines = [
            Content.assemble(("objective ", "dim"), format_objective(slo)),
            Content.assemble(("source ", "dim"), (clean(slo.measurement_source), "italic")),
        ]
        runbook = runbook_for(slo.name)
        if runbook is not None:
            lines.append(Content.assemble(("runbook ", "dim"), (clean(runbook), "$text-accent")))
        if status is None or status.last is None:
            lines.append(
                Content.styled(f"{NOT_MEASURED}: no turn has measured it", "$text-warning")
            )
            spark.display = False
        else:
            values = [reading.value for reading in status.recent]
            last = status.last
            lines.append(
                Content.assemble(
                    ("last ", "dim"),
                    (format_value(last.value, slo.unit), "bold"),
                    (f" at {_when(last.at)}", "dim"),
                )
            )
            lines.append(
                Content.styled(
                    f"{len(values)} recent: min {format_value(min(values), slo.unit)}"
                    f" · max {format_value(max(values), slo.unit)}",
                    "dim",
                )
            )
            breached = [reading for reading in status.recent if reading.breached]
            if breached:
                worst = format_value(breached[-1].value, slo.unit)
                lines.append(
                    Content.assemble(
                        ("breached ", "bold $text-error"),
                        f"{status.breach_count}× · last {worst} at {_when(breached[-1].at)}",
                    )
                )
                for reading in reversed(breached[-BREACH_LIST_LENGTH:]):
                    lines.append(
                        Content.styled(
                            f"  ✗ {format_value(reading.value, slo.unit)} at {_when(reading.at)}",
                            "$text-error",
                        )
                    )
            else:
                lines.append(Content.styled("no breaches", "$text-success"))
            spark.data = values
            spark.display = True
        detail.update(Content("\n").join(lines))

    def _show_runbooks(self, plane: ControlPlane) -> None:
        options = self.query_one("#control-runbooks", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        for name in plane.runbooks:
            options.add_option(
                Option(
                    Content.assemble(("▸ ", "$text-accent"), clean(name)),
                    id=f"runbook:{name}",
                )
            )
        if plane.runbooks:
            options.highlighted = min(highlighted or 0, len(plane.runbooks) - 1)

    def _show_contacts(self, plane: ControlPlane) -> None:
        lines: list[Content] = []
        for contact in plane.contacts:
            lines.append(
                Content.assemble(
                    (clean(contact.name), "bold"),
                    (f" {clean(contact.role)}" if contact.role else "", "dim"),
                    " · ",
                    clean(contact.channel),
                )
            )
        for pointer in plane.adr_pointers:
            lines.append(Content.assemble(("ADR ", "dim"), clean(pointer)))
        if not lines:
            lines.append(Content.styled("no incident contacts or ADR pointers recorded", "dim"))
        self.query_one("#control-contacts", Static).update(Content("\n").join(lines))

    # ------------------------------------------------------------------ events and actions

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "control-slos":
            self._show_slo_detail(event.cursor_row)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "control-runbooks":
            event.stop()
            self.action_open_runbook()

    def highlighted_flag(self) -> Flag | None:
        """The flag under the cursor of the flags table."""
        if self.plane is None or not self.plane.flags:
            return None
        table: DataTable[Text] = self.query_one("#control-flags", DataTable)
        names = list(self.plane.flags)
        row = table.cursor_row
        return self.plane.flags[names[row]] if 0 <= row < len(names) else None

    def action_toggle_flag(self) -> None:
        """Change the highlighted flag's stage (asks for owner and rollback plan)."""
        flag = self.highlighted_flag()
        dramatis = getattr(self.app, "dramatis", None)
        if flag is None or dramatis is None:
            self.notify("No flag to change.", severity="warning")
            return

        async def apply(stage: str, owner: str, plan: str, reason: str) -> None:
            await dramatis.control_plane.toggle_flag(
                flag.name, stage, owner=owner, rollback_plan=plan, reason=reason
            )

        async def done(changed: bool | None) -> None:
            if changed:
                await self.refresh_data()
                if self.plane is not None and flag.name in self.plane.flags:
                    now = self.plane.flags[flag.name]
                    self.notify(
                        f"{now.name} is now {now.stage} (owner {now.owner}).",
                        title="Flag changed",
                        markup=False,
                    )

        self.app.push_screen(FlagToggleModal(flag, apply), done)

    def action_open_runbook(self) -> None:
        """Open the highlighted runbook."""
        if self.plane is None or not self.plane.runbooks:
            self.notify("No runbooks are registered.", severity="warning")
            return
        options = self.query_one("#control-runbooks", OptionList)
        names = list(self.plane.runbooks)
        index = options.highlighted if options.highlighted is not None else 0
        runbook = self.plane.runbooks[names[min(index, len(names) - 1)]]
        self.app.push_screen(
            ControlRunbookModal(runbook.name, runbook.markdown, runbook.updated_at)
        )
