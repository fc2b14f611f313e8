"""The help screen: every key of every screen, after the user's remaps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

if TYPE_CHECKING:
    from dramatis.tui.app import DramatisApp


def binding_rows(bindings: list[BindingType]) -> list[tuple[Binding, str]]:
    """(binding, description) for the bindings worth listing."""
    rows: list[tuple[Binding, str]] = []
    for item in bindings:
        binding = item if isinstance(item, Binding) else Binding(*item)
        description = binding.tooltip or binding.description
        if not description or binding.system:
            continue
        rows.append((binding, description))
    return rows


class HelpScreen(ModalScreen[None]):
    """Keys per screen, in a scrollable panel; escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen #help-title { text-style: bold; color: $primary; padding: 0 0 1 0; }
    HelpScreen VerticalScroll { height: auto; max-height: 100%; }
    HelpScreen .help-section { padding: 0 0 1 0; }
    HelpScreen #help-hint { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys", id="help-title")
            with VerticalScroll():
                for title, bindings in self._sections():
                    yield Static(self._table(title, bindings), classes="help-section")
            yield Static(
                'Remap a key in config.toml: [keys] "play.advance" = "n"  ·  esc closes',
                id="help-hint",
                markup=False,
            )

    def _sections(self) -> list[tuple[str, list[BindingType]]]:
        from dramatis.tui.app import SCREENS, DramatisApp, screen_class

        sections: list[tuple[str, list[BindingType]]] = [
            (
                "Everywhere",
                [*DramatisApp.BINDINGS, Binding("ctrl+p", "", "command palette", id="app.palette")],
            )
        ]
        for mode, (_, _, title) in SCREENS.items():
            cls = screen_class(mode)
            if cls is not None:
                sections.append((title, list(cast(Any, cls).BINDINGS)))
        return sections

    def _table(self, title: str, bindings: list[BindingType]) -> Table:
        app = cast("DramatisApp", self.app)
        table = Table.grid(padding=(0, 2))
        table.add_column(width=14, style="bold")
        table.add_column(ratio=1)
        table.add_column(style="dim")
        table.title = title
        table.title_justify = "left"
        table.title_style = "bold underline"
        for binding, description in binding_rows(bindings):
            table.add_row(Text(app.binding_key(binding)), Text(description), Text(binding.id or ""))
        return table
