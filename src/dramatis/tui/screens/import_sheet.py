"""Import a character sheet from a path into the persona library (a modal)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dramatis.tui.text import clean

if TYPE_CHECKING:
    from dramatis.tui.app import DramatisApp


class ImportSheetScreen(ModalScreen[str | None]):
    """A path field; problems are shown under it, the modal stays open."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="import.cancel"),
    ]

    DEFAULT_CSS = """
    ImportSheetScreen { align: center middle; }
    ImportSheetScreen > Vertical {
        width: 76; max-width: 100%; height: auto; border: round $primary;
        background: $surface; padding: 1 2;
    }
    ImportSheetScreen .title { text-style: bold; color: $primary; }
    ImportSheetScreen .muted { color: $text-muted; }
    ImportSheetScreen .error { color: $error; height: auto; }
    ImportSheetScreen Horizontal { height: auto; align-horizontal: right; padding-top: 1; }
    ImportSheetScreen Button { margin-left: 1; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Import a character sheet", classes="title")
            yield Static(
                "TOML, markdown sheet (.md) or Character Card V2 (.json, .png)", classes="muted"
            )
            yield Input(placeholder="path/to/sheet.toml", id="sheet-path")
            yield Static("", classes="error", id="sheet-error")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Import", variant="primary", id="import")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    @on(Button.Pressed, "#import")
    async def _import(self) -> None:
        from dramatis.tui.app import USER_ERRORS

        app = cast("DramatisApp", self.app)
        error = self.query_one("#sheet-error", Static)
        raw = self.query_one("#sheet-path", Input).value.strip()
        if not raw:
            error.update("Give the path of a sheet file.")
            return
        assert app.dramatis is not None
        try:
            view, warnings = await app.dramatis.personas.import_sheet(Path(raw).expanduser())
        except USER_ERRORS as exc:
            error.update(clean(str(exc)))
            return
        except OSError as exc:
            error.update(clean(f"{raw}: cannot be read ({exc.strerror or exc})"))
            return
        note = f"Imported {view.name}." + (f" {warnings[0]}" if warnings else "")
        app.notify(clean(note), markup=False, timeout=4)
        self.dismiss(view.persona_id)
