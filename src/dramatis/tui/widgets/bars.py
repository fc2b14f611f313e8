"""The one-line bar at the top of every dramatis screen: what you are looking at, and where."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static


class TopBar(Static):
    """A title on the left and context on the right, on one line."""

    DEFAULT_CSS = """
    TopBar {
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    plain_text = ""
    """The bar's text without styles (for tests and accessibility)."""

    def set(self, left: RenderableType, right: RenderableType = "") -> None:
        """Show ``left`` (the title) and ``right`` (context, right-aligned)."""
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left if not isinstance(left, str) else Text(left), right)
        self.plain_text = " ".join(
            part if isinstance(part, str) else getattr(part, "plain", "") for part in (left, right)
        ).strip()
        self.update(grid)
