"""The export dialog of the chronicle screen: asks for a path and writes the chronicle there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from dramatis.domain.errors import DomainError
from dramatis.services.errors import ServiceError
from dramatis.tui.text import clean

Exporter = Callable[[Path], Awaitable[Path]]


class ChronicleExportModal(ModalScreen[Path | None]):
    """Ask where to write the chronicle; ``.json`` writes JSON, anything else markdown.

    The export itself runs in a worker; a path that cannot be written shows its reason under the
    field and the dialog stays open. Dismissed with the written path, or None when cancelled.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="chronicle.export.cancel"),
        Binding("ctrl+s", "export", "export", id="chronicle.export.confirm"),
    ]

    DEFAULT_CSS = """
    ChronicleExportModal {
        align: center middle;
        background: $background 60%;
    }
    ChronicleExportModal #export-dialog {
        width: 76;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: round $primary;
        border-title-color: $text-accent;
        background: $surface;
    }
    ChronicleExportModal #export-path {
        background: $panel;
        margin: 1 0 0 0;
    }
    ChronicleExportModal #export-path.-invalid {
        background: $error 15%;
    }
    ChronicleExportModal .hint {
        color: $text-muted;
    }
    ChronicleExportModal #export-error {
        color: $text-error;
        height: auto;
    }
    ChronicleExportModal #export-buttons {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    ChronicleExportModal #export-buttons Button {
        margin-left: 2;
    }
    """

    def __init__(self, default_path: Path, export: Exporter) -> None:
        super().__init__()
        self._default_path = default_path
        self._export = export

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog") as dialog:
            dialog.border_title = "Export the chronicle"
            yield Label("Write to (a .json path writes JSON, any other writes markdown):")
            yield Input(
                str(self._default_path), id="export-path", select_on_focus=False, compact=True
            )
            yield Static("", id="export-error")
            yield Static(
                "Pending turns are written up as chapters first; folders are created.",
                classes="hint",
            )
            with Horizontal(id="export-buttons"):
                yield Button("Cancel", id="export-cancel", compact=True)
                yield Button("Export", id="export-confirm", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        field = self.query_one("#export-path", Input)
        field.focus()
        field.cursor_position = len(field.value)

    def _show_error(self, message: str) -> None:
        self.query_one("#export-path", Input).add_class("-invalid")
        self.query_one("#export-error", Static).update(Content(clean(message)))

    @on(Input.Changed, "#export-path")
    def _clear_error(self) -> None:
        self.query_one("#export-path", Input).remove_class("-invalid")
        self.query_one("#export-error", Static).update("")

    @on(Input.Submitted, "#export-path")
    @on(Button.Pressed, "#export-confirm")
    def action_export(self) -> None:
        """Validate the path and export in a worker."""
        text = self.query_one("#export-path", Input).value.strip()
        if not text:
            self._show_error("Give a file path to write the chronicle to.")
            return
        path = Path(text).expanduser()
        if path.exists() and path.is_dir():
            self._show_error(
                f"{path} is a folder; name a file inside it, e.g. {path / 'chronicle.md'}"
            )
            return
        self.query_one("#export-confirm", Button).disabled = True
        self._run_export(path)

    @work(exclusive=True, group="export")
    async def _run_export(self, path: Path) -> None:
        try:
            written = await self._export(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._show_error(f"Cannot write {path}: {reason}")
        except (ServiceError, DomainError) as exc:
            self._show_error(str(exc))
        else:
            self.dismiss(written)
            return
        self.query_one("#export-confirm", Button).disabled = False

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
