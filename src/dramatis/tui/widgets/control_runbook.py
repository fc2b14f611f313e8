"""A runbook of the control plane, rendered as markdown in a dialog."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, MarkdownViewer

from dramatis.tui.text import clean


class ControlRunbookModal(ModalScreen[None]):
    """Shows one runbook; escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "close", id="control.runbook.close"),
        Binding("q", "dismiss", "close", id="control.runbook.quit", show=False),
    ]

    DEFAULT_CSS = """
    ControlRunbookModal {
        align: center middle;
        background: $background 60%;
    }
    ControlRunbookModal #runbook-dialog {
        width: 100;
        max-width: 96%;
        height: 90%;
        border: round $primary;
        border-title-color: $text-accent;
        border-subtitle-color: $text-muted;
        background: $surface;
    }
    ControlRunbookModal MarkdownViewer {
        height: 1fr;
    }
    """

    def __init__(self, name: str, markdown: str, updated_at: str = "") -> None:
        super().__init__()
        self.runbook_name = name
        self.markdown = markdown
        self.updated_at = updated_at

    def compose(self) -> ComposeResult:
        with Vertical(id="runbook-dialog") as dialog:
            dialog.border_title = "Runbook"
            if self.updated_at:
                dialog.border_subtitle = f"updated {self.updated_at[:16].replace('T', ' ')}"
            yield MarkdownViewer(
                clean(self.markdown), show_table_of_contents=False, open_links=False
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(MarkdownViewer).document.focus()
