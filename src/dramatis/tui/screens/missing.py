"""A stand-in for a screen this build does not have yet."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, Static


class MissingScreen(Screen[None]):
    """Says plainly that a screen is not in this build."""

    DEFAULT_CSS = """
    MissingScreen Static { width: auto; padding: 1 4; border: round $panel; color: $text-muted; }
    """

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(f"The {self.title_text} screen is not in this build yet.")
        yield Footer()
