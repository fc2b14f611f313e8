"""Dialogs of the chronicle screen for media and publication.

``MediaAttachModal`` asks for a file, its accessibility text and (optionally) the chapter it
illustrates, checks them as they are typed and attaches the file in a worker; problems show under
the fields and the dialog stays open. ``PublishModal`` picks a format and publishes, showing each
step on a progress bar; a failed upload says why in one line and can be retried from the dialog.
"""

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
from textual.widgets import Button, Footer, Input, Label, ProgressBar, Select, Static

from dramatis.domain.chronicle import MediaAsset
from dramatis.domain.errors import DomainError
from dramatis.ports import MediaStoreError
from dramatis.services.errors import ServiceError
from dramatis.services.publishing import Progress, PublishResult
from dramatis.tui.text import clean

Attacher = Callable[[Path, str, int | None], Awaitable[MediaAsset]]
Publisher = Callable[[str, Progress], Awaitable[PublishResult]]

_DIALOG_CSS = """
    {name} {{
        align: center middle;
        background: $background 60%;
    }}
    {name} .dialog {{
        width: 80;
        max-width: 95%;
        height: auto;
        padding: 1 2;
        border: round $primary;
        border-title-color: $text-accent;
        background: $surface;
    }}
    {name} Input {{
        background: $panel;
        margin: 0 0 1 0;
    }}
    {name} Input.-invalid {{
        background: $error 15%;
    }}
    {name} .hint {{
        color: $text-muted;
    }}
    {name} .error {{
        color: $text-error;
        height: auto;
    }}
    {name} .buttons {{
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }}
    {name} .buttons Button {{
        margin-left: 2;
    }}
"""


class MediaAttachModal(ModalScreen[MediaAsset | None]):
    """Attach a file to the chronicle; dismissed with the attached asset, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", id="chronicle.media.cancel"),
        Binding("ctrl+s", "attach", "attach", id="chronicle.media.confirm"),
    ]

    DEFAULT_CSS = _DIALOG_CSS.format(name="MediaAttachModal")

    def __init__(self, chapters: int, attach: Attacher, chapter: int | None = None) -> None:
        super().__init__()
        self._chapters = chapters
        self._attacher = attach
        self._chapter = chapter

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Attach media"
            yield Label("File (PNG, JPEG, GIF, WebP, SVG, MP3, Ogg, WAV, FLAC or PDF):")
            yield Input(placeholder="path/to/map.png", id="media-path", compact=True)
            yield Label("Accessibility text (what it shows or sounds like; required):")
            yield Input(placeholder="A map of the road from…", id="media-alt", compact=True)
            yield Label(f"Chapter it illustrates (1–{self._chapters}; blank: the whole book):")
            yield Input(
                str(self._chapter) if self._chapter else "",
                id="media-chapter",
                compact=True,
                restrict=r"[0-9]*",
            )
            yield Static("", id="media-error", classes="error")
            yield Static(
                "The file is checked by its content, stored in the media store and recorded "
                "with its sha256 checksum.",
                classes="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="media-cancel", compact=True)
                yield Button("Attach", id="media-confirm", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#media-path", Input).focus()

    def _show_error(self, message: str, field: str | None = None) -> None:
        if field is not None:
            self.query_one(f"#{field}", Input).add_class("-invalid")
        self.query_one("#media-error", Static).update(Content(clean(message)))

    @on(Input.Changed)
    def _clear_error(self, event: Input.Changed) -> None:
        event.input.remove_class("-invalid")
        self.query_one("#media-error", Static).update("")

    def validate_fields(self) -> tuple[Path, str, int | None] | None:
        """The fields as attach arguments, or None after showing what is wrong."""
        path_text = self.query_one("#media-path", Input).value.strip()
        alt = " ".join(self.query_one("#media-alt", Input).value.split())
        chapter_text = self.query_one("#media-chapter", Input).value.strip()
        if not path_text:
            self._show_error("Give the path of the file to attach.", "media-path")
            return None
        path = Path(path_text).expanduser()
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            self._show_error(f"{path} {what}; give the path of a file.", "media-path")
            return None
        if not alt:
            self._show_error(
                "Describe the media for readers who cannot see or hear it.", "media-alt"
            )
            return None
        chapter = int(chapter_text) if chapter_text else None
        if chapter is not None and not 1 <= chapter <= self._chapters:
            span = f"1–{self._chapters}" if self._chapters else "none yet"
            self._show_error(f"There is no chapter {chapter} (chapters: {span}).", "media-chapter")
            return None
        return path, alt, chapter

    @on(Input.Submitted)
    @on(Button.Pressed, "#media-confirm")
    def action_attach(self) -> None:
        """Validate the fields and attach in a worker."""
        fields = self.validate_fields()
        if fields is None:
            return
        self.query_one("#media-confirm", Button).disabled = True
        self._run_attach(*fields)

    @work(exclusive=True, group="media-attach")
    async def _run_attach(self, path: Path, alt: str, chapter: int | None) -> None:
        try:
            asset = await self._attacher(path, alt, chapter)
        except (ServiceError, DomainError, MediaStoreError) as exc:
            self._show_error(str(exc), "media-path")
        else:
            self.dismiss(asset)
            return
        self.query_one("#media-confirm", Button).disabled = False

    @on(Button.Pressed, "#media-cancel")
    def action_cancel(self) -> None:
        """Close without attaching."""
        self.dismiss(None)


class PublishModal(ModalScreen[PublishResult | None]):
    """Publish the chronicle with progress; dismissed with the result, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "close", id="chronicle.publish.cancel"),
        Binding("ctrl+s", "publish", "publish", id="chronicle.publish.confirm"),
    ]

    DEFAULT_CSS = (
        _DIALOG_CSS.format(name="PublishModal")
        + """
    PublishModal Select {
        margin: 0 0 1 0;
    }
    PublishModal ProgressBar {
        margin: 1 0 0 0;
    }
    PublishModal #publish-step {
        height: auto;
        color: $text-muted;
    }
    """
    )

    def __init__(self, destination: str, publish: Publisher) -> None:
        super().__init__()
        self._destination = destination
        self._publisher = publish
        self.result: PublishResult | None = None
        self.steps: list[str] = []
        """Every progress step shown, in order."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Publish the chronicle"
            yield Static(
                Content.assemble(
                    "Publishing is final: the chapters are frozen and the chronicle is sent to ",
                    (clean(self._destination), "bold"),
                    ".",
                )
            )
            yield Select(
                [("HTML page", "html"), ("Markdown", "md"), ("JSON (with ledger)", "json")],
                value="html",
                allow_blank=False,
                id="publish-format",
                compact=True,
            )
            yield ProgressBar(total=5, show_eta=False, id="publish-progress")
            yield Static("", id="publish-step")
            yield Static("", id="publish-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="publish-cancel", compact=True)
                yield Button("Publish", id="publish-confirm", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#publish-confirm", Button).focus()

    def _progress(self, what: str, done: int, total: int) -> None:
        self.steps.append(what)
        bar = self.query_one("#publish-progress", ProgressBar)
        bar.update(total=total, progress=done)
        self.query_one("#publish-step", Static).update(Content(clean(what)))

    @on(Button.Pressed, "#publish-confirm")
    def action_publish(self) -> None:
        """Publish in a worker, showing each step."""
        fmt = self.query_one("#publish-format", Select).value
        self.query_one("#publish-error", Static).update("")
        self.query_one("#publish-confirm", Button).disabled = True
        self._run_publish(str(fmt))

    @work(exclusive=True, group="publish")
    async def _run_publish(self, fmt: str) -> None:
        try:
            self.result = await self._publisher(fmt, self._progress)
        except (ServiceError, DomainError, MediaStoreError) as exc:
            self.query_one("#publish-error", Static).update(Content(clean(str(exc))))
            self.query_one("#publish-confirm", Button).label = "Retry"
            self.query_one("#publish-confirm", Button).disabled = False
            return
        self.dismiss(self.result)

    @on(Button.Pressed, "#publish-cancel")
    def action_cancel(self) -> None:
        """Close the dialog."""
        self.dismiss(None)
