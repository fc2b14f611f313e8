"""Screen 4, Chronicle: read it as a book.

The campaign's chronicle as rendered markdown with a table of contents; beside it the chapters
and the turns each one cites. ``w`` writes the next chapter from turns not yet told, ``enter``
jumps from the highlighted chapter to its turns on the Play screen, ``e`` exports to a file.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import ComposeResult, UnknownModeError
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, MarkdownViewer, OptionList, Static, Tree
from textual.widgets.option_list import Option

from dramatis.domain.chronicle import MediaAsset
from dramatis.domain.errors import DomainError
from dramatis.services.chronicles import chronicle_file_name
from dramatis.services.errors import ServiceError
from dramatis.services.publishing import Progress, PublishResult
from dramatis.services.views import ChapterView, ChronicleView
from dramatis.tui.text import clean
from dramatis.tui.widgets.chronicle_export import ChronicleExportModal
from dramatis.tui.widgets.chronicle_media import MediaAttachModal, PublishModal


def turn_ranges(turns: tuple[int, ...] | list[int]) -> str:
    """Turns as compact ranges: (1, 2, 3, 5) -> "1–3, 5"."""
    ordered = sorted(set(turns))
    if not ordered:
        return "–"
    parts: list[str] = []
    start = prev = ordered[0]
    for turn in [*ordered[1:], None]:
        if turn is not None and turn == prev + 1:
            prev = turn
            continue
        parts.append(str(start) if start == prev else f"{start}–{prev}")
        if turn is not None:
            start = prev = turn
    return ", ".join(parts)


def _md_text(text: str) -> str:
    """``text`` with markdown's special characters escaped, so it shows as written."""
    return "".join("\\" + ch if ch in "\\`*_{}[]<>()#+-.!|" else ch for ch in text)


def write_text_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


class ChronicleScreen(Screen[None]):
    """The chronicle of the current campaign."""

    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (110, "-wide"),
    ]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "compose_next", "write next chapter", id="chronicle.compose"),
        Binding("enter", "jump", "jump to turns", id="chronicle.jump", priority=True),
        Binding("e", "export", "export", id="chronicle.export"),
        Binding("a", "attach_media", "attach media", id="chronicle.attach"),
        Binding("p", "publish", "publish", id="chronicle.publish"),
    ]

    DEFAULT_CSS = """
    ChronicleScreen {
        layout: vertical;
    }
    ChronicleScreen #chronicle-title {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ChronicleScreen #chronicle-body {
        height: 1fr;
    }
    ChronicleScreen #chronicle-viewer {
        width: 1fr;
        height: 1fr;
    }
    ChronicleScreen #chronicle-viewer MarkdownTableOfContents {
        max-width: 28;
    }
    ChronicleScreen #chronicle-viewer Markdown {
        padding: 0 2 1 2;
    }
    ChronicleScreen #chronicle-side {
        width: 28;
        height: 1fr;
        border-left: tall $panel;
    }
    ChronicleScreen #chronicle-chapters {
        height: auto;
        max-height: 1fr;
        border: none;
        border-top: solid $primary-muted;
        border-title-color: $text-accent;
        padding: 0;
    }
    ChronicleScreen #chronicle-chapters:focus {
        border-top: solid $primary;
    }
    ChronicleScreen #chronicle-pending {
        height: auto;
        padding: 0 1 1 1;
        color: $text-muted;
    }
    ChronicleScreen #chronicle-media {
        height: auto;
        padding: 0 1;
        border-top: solid $primary-muted;
        border-title-color: $text-accent;
    }
    ChronicleScreen.-narrow #chronicle-side {
        width: 26;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = asyncio.Lock()
        self._markdown = ""
        self._scrolled_chapter: int | None = None
        self.view: ChronicleView | None = None
        """The chronicle shown."""
        self.media: tuple[MediaAsset, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(id="chronicle-title")
        with Horizontal(id="chronicle-body"):
            yield MarkdownViewer(id="chronicle-viewer", open_links=False)
            with Vertical(id="chronicle-side"):
                chapters = OptionList(id="chronicle-chapters")
                chapters.border_title = "Chapters · turns cited"
                yield chapters
                yield Static(id="chronicle-pending")
                media = Static(id="chronicle-media")
                media.border_title = "Media"
                yield media
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#chronicle-chapters", OptionList).focus()

    def on_resize(self) -> None:
        viewer = self.query_one(MarkdownViewer)
        viewer.show_table_of_contents = self.size.width >= 110

    # ------------------------------------------------------------------ data

    async def refresh_data(self) -> None:
        """Reload the chronicle of the app's campaign."""
        async with self._lock:
            dramatis = getattr(self.app, "dramatis", None)
            campaign_id = getattr(self.app, "campaign_id", None)
            problem: str | None = None
            view: ChronicleView | None = None
            media: tuple[MediaAsset, ...] = ()
            if dramatis is None:
                problem = "The store is not open yet."
            elif not campaign_id:
                problem = "No campaign chosen. Pick one on the Setup screen to read its chronicle."
            else:
                try:
                    view = await dramatis.chronicles.view(campaign_id)
                    media = (await dramatis.chronicles.load(view.campaign_id)).media
                except (ServiceError, DomainError) as exc:
                    problem = str(exc)
            self.view, self.media = view, media
            await self._show(view, problem)

    @property
    def markdown(self) -> str:
        """The markdown the book shows."""
        return self._markdown

    def _book(self, view: ChronicleView | None, problem: str | None) -> str:
        if view is None:
            return f"# Chronicle\n\n*{clean(problem or 'Nothing to show.')}*\n"
        lines = [
            f"# {clean(view.campaign_name)}",
            "",
            f"*Narrated by {clean(view.chronicler)}*",
            "",
        ]
        for chapter in view.chapters:
            lines += [clean(chapter.markdown).rstrip(), ""]
            lines += self._media_lines(chapter.number)
        lines += self._media_lines(None)
        if not view.chapters:
            if view.turns_played:
                lines.append(
                    f"No chapter is written yet. Press **w** to write chapter 1 from the "
                    f"{view.turns_played} turns played so far."
                )
            else:
                lines.append("Nothing has happened yet: play a few turns, then write chapter 1.")
        return "\n".join(lines) + "\n"

    def _media_lines(self, chapter: int | None) -> list[str]:
        """The media of one chapter (None: of the whole book) as quoted notes for the book."""
        lines: list[str] = []
        for asset in self.media:
            if asset.chapter == chapter:
                alt = " ".join(clean(asset.accessibility_text).split())
                lines += [f"> **{asset.media_type}** — {_md_text(alt)}", ""]
        return lines

    async def _show(self, view: ChronicleView | None, problem: str | None) -> None:
        title = self.query_one("#chronicle-title", Static)
        if view is None:
            title.update(Content.styled("Chronicle", "bold"))
        else:
            title.update(
                Content.assemble(
                    ("Chronicle · ", "bold"),
                    (clean(view.campaign_name), "bold"),
                    " · ",
                    (view.status, "$text-accent"),
                    (f" · {view.turns_told} of {view.turns_played} turns told", "dim"),
                    " · narrated by ",
                    (clean(view.chronicler), "italic"),
                    f" ({clean(view.style)})",
                )
            )
        markdown = self._book(view, problem)
        if markdown != self._markdown:
            self._markdown = markdown
            viewer = self.query_one(MarkdownViewer)
            await viewer.document.update(markdown)
        self._show_chapters(view)
        self._show_media()

    def _show_chapters(self, view: ChronicleView | None) -> None:
        options = self.query_one("#chronicle-chapters", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        pending = self.query_one("#chronicle-pending", Static)
        if view is None:
            pending.update("")
            return
        for chapter in view.chapters:
            options.add_option(
                Option(
                    Content.assemble(
                        (f"{chapter.number:>2} ", "bold $text-accent"),
                        clean(chapter.title),
                        "\n",
                        (f"   turns {turn_ranges(chapter.cited_turns)}", "dim"),
                    ),
                    id=f"chapter-{chapter.number}",
                )
            )
        if view.chapters:
            index = min(highlighted or 0, len(view.chapters) - 1)
            # Re-highlighting after a reload must not move the reader's place in the book.
            self._scrolled_chapter = view.chapters[index].number
            options.highlighted = index
        untold = view.turns_played - view.turns_told
        if untold > 0:
            first = view.turns_told + 1
            span = f"turn {first}" if untold == 1 else f"turns {first}–{view.turns_played}"
            pending.update(
                Content.assemble(
                    (f"next: {span}", "$text-warning"), (" not told yet · w writes", "dim")
                )
            )
        elif view.turns_played:
            pending.update(Content.styled("every turn played is told", "dim"))
        else:
            pending.update(Content.styled("no turns played yet", "dim"))

    def _show_media(self) -> None:
        media = self.query_one("#chronicle-media", Static)
        if not self.media:
            media.update(Content.styled("none attached", "dim"))
            return
        lines = []
        for asset in self.media:
            where = f"ch {asset.chapter}" if asset.chapter else "all"
            name = asset.storage_url.rsplit("/", 1)[-1]
            lines.append(
                Content.assemble(
                    (f"{where} ", "dim"),
                    clean(name),
                    "\n",
                    (f"  “{clean(asset.accessibility_text)}”", "italic dim"),
                )
            )
        media.update(Content("\n").join(lines))

    # ------------------------------------------------------------------ chapters

    def highlighted_chapter(self) -> ChapterView | None:
        """The chapter highlighted in the list."""
        if self.view is None or not self.view.chapters:
            return None
        index = self.query_one("#chronicle-chapters", OptionList).highlighted
        if index is None or not 0 <= index < len(self.view.chapters):
            return None
        return self.view.chapters[index]

    def scroll_to_chapter(self, number: int) -> None:
        """Scroll the book to chapter ``number``'s heading."""
        viewer = self.query_one(MarkdownViewer)
        headings = [entry for entry in viewer.document.table_of_contents if entry[0] == 2]
        if 0 < number <= len(headings):
            block_id = headings[number - 1][2]
            try:
                block = viewer.query_one(f"#{block_id}")
            except Exception:
                return
            viewer.scroll_to_widget(block, top=True, animate=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "chronicle-chapters" and event.option.id:
            number = int(event.option.id.removeprefix("chapter-"))
            if number != self._scrolled_chapter:
                self._scrolled_chapter = number
                self.scroll_to_chapter(number)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "chronicle-chapters":
            event.stop()
            self.action_jump()

    # ------------------------------------------------------------------ actions

    def action_jump(self) -> None:
        """Show the highlighted chapter's turns on the Play screen."""
        focused = self.focused
        if isinstance(focused, Tree):
            focused.action_select_cursor()  # enter in the table of contents goes to the heading
            return
        chapter = self.highlighted_chapter()
        if chapter is None:
            self.notify("No chapter to jump from yet: press w to write one.", severity="warning")
            return
        turns = tuple(sorted(chapter.cited_turns))
        app = self.app
        app.focus_turn = turns[0]  # type: ignore[attr-defined]
        app.focus_turns = turns  # type: ignore[attr-defined]
        try:
            app.switch_mode("play")
        except UnknownModeError:
            self.notify(
                f"Chapter {chapter.number} tells turns {turn_ranges(turns)}; "
                "the Play screen is not available here.",
                severity="warning",
            )

    def action_compose_next(self) -> None:
        """Write the next chapter from turns not yet told."""
        self._compose_next()

    @work(exclusive=True, group="chronicle-compose")
    async def _compose_next(self) -> None:
        dramatis = getattr(self.app, "dramatis", None)
        campaign_id = getattr(self.app, "campaign_id", None)
        if dramatis is None or not campaign_id:
            self.notify("Choose a campaign first (Setup screen).", severity="warning")
            return
        try:
            chapter = await dramatis.chronicles.compose_next(campaign_id)
        except (ServiceError, DomainError) as exc:
            self.notify(str(exc), title="Cannot write a chapter", severity="error", markup=False)
            return
        if chapter is None:
            self.notify("Every turn played is already told: play more turns first.")
            return
        await self.refresh_data()
        options = self.query_one("#chronicle-chapters", OptionList)
        options.highlighted = chapter.number - 1
        self._scrolled_chapter = chapter.number
        self.scroll_to_chapter(chapter.number)
        self.notify(
            f"Chapter {chapter.number}, “{clean(chapter.title)}”, tells turns "
            f"{turn_ranges(chapter.cited_turns)}.",
            title="Chapter written",
            markup=False,
        )

    def default_export_path(self) -> Path:
        """Where an export goes unless told otherwise: the data dir's exports folder."""
        dramatis = getattr(self.app, "dramatis", None)
        view = self.view
        name = (
            chronicle_file_name(view.campaign_name, view.campaign_id, "md")
            if view
            else "chronicle.md"
        )
        data_dir = dramatis.settings.data_dir if dramatis is not None else Path.cwd()
        return Path(data_dir) / "exports" / name

    def action_export(self) -> None:
        """Ask for a path and export the chronicle there."""
        dramatis = getattr(self.app, "dramatis", None)
        view = self.view
        if dramatis is None or view is None:
            self.notify("Choose a campaign first (Setup screen).", severity="warning")
            return
        campaign_id = view.campaign_id

        async def export(path: Path) -> Path:
            suffix = path.suffix.lower()
            fmt = {".json": "json", ".html": "html", ".htm": "html"}.get(suffix, "md")
            text = await dramatis.publishing.export(campaign_id, fmt)
            await asyncio.to_thread(write_text_file, path, text)
            return path

        async def exported(path: Path | None) -> None:
            if path is not None:
                self.notify(f"Wrote {path}", title="Chronicle exported", markup=False)
                await self.refresh_data()

        self.app.push_screen(ChronicleExportModal(self.default_export_path(), export), exported)

    def action_attach_media(self) -> None:
        """Ask for a file and its accessibility text, and attach it to the chronicle."""
        dramatis = getattr(self.app, "dramatis", None)
        view = self.view
        if dramatis is None or view is None:
            self.notify("Choose a campaign first (Setup screen).", severity="warning")
            return
        campaign_id = view.campaign_id
        chapter = self.highlighted_chapter()

        async def attach(path: Path, alt: str, number: int | None) -> MediaAsset:
            return await dramatis.publishing.attach(campaign_id, path, alt, number)

        async def attached(asset: MediaAsset | None) -> None:
            if asset is not None:
                where = f"chapter {asset.chapter}" if asset.chapter else "the whole chronicle"
                self.notify(
                    f"{asset.media_type} attached to {where}: “{clean(asset.accessibility_text)}”",
                    title="Media attached",
                    markup=False,
                )
                await self.refresh_data()

        modal = MediaAttachModal(
            max(len(view.chapters), 1 if view.turns_played else 0),
            attach,
            chapter.number if chapter else None,
        )
        self.app.push_screen(modal, attached)

    def action_publish(self) -> None:
        """Publish the chronicle to the media store, showing progress."""
        dramatis = getattr(self.app, "dramatis", None)
        view = self.view
        if dramatis is None or view is None:
            self.notify("Choose a campaign first (Setup screen).", severity="warning")
            return
        if view.status == "published":
            self.notify(
                "This chronicle is already published; publishing is final. Press e to export.",
                severity="warning",
            )
            return
        campaign_id = view.campaign_id

        async def publish(fmt: str, progress: Progress) -> PublishResult:
            return await dramatis.publishing.publish(campaign_id, fmt, progress)

        async def published(result: PublishResult | None) -> None:
            await self.refresh_data()
            if result is not None:
                self.notify(
                    f"{result.chapter_count} chapters published to {result.destination}",
                    title="Chronicle published",
                    markup=False,
                )

        destination = dramatis.publishing.media.description
        self.app.push_screen(PublishModal(destination, publish), published)
