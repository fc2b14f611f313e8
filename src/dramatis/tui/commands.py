"""Command palette (ctrl+p): campaigns, personas, screens and the common actions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from dramatis.tui.text import clean

if TYPE_CHECKING:
    from dramatis.tui.app import DramatisApp

Command = tuple[str, Callable[[], Any], str]


class DramatisCommands(Provider):
    """Open a campaign, inspect a persona, go to a screen, play a turn, start a sample."""

    async def startup(self) -> None:
        self.commands: list[Command] = await self._gather()

    @property
    def dramatis_app(self) -> DramatisApp:
        return cast("DramatisApp", self.app)

    async def _gather(self) -> list[Command]:
        from dramatis.sheets.campaign_loader import list_samples
        from dramatis.tui.app import SCREENS

        app = self.dramatis_app
        commands: list[Command] = []
        for number, (mode, (_, _, title)) in enumerate(SCREENS.items(), start=1):
            commands.append(
                (f"Go to {title}", partial(self._go, mode), f"Screen {number} (F{number})")
            )
        commands.append(
            ("New campaign…", self._new_campaign, "Create a campaign from a sample or a file")
        )
        commands.append(
            ("Import a character sheet…", self._import_sheet, "TOML, markdown or Card V2")
        )
        commands.append(("Play the next turn", self._advance, "On the Play screen"))
        commands.append(("Auto-play turns…", self._autoplay, "Play N turns with a progress bar"))
        commands.append(("Keys (help)", app.action_help, "Every key of every screen"))
        commands.append(("Next theme", app.action_next_theme, f"Now: {app.theme}"))
        for sample in list_samples():
            commands.append(
                (
                    f"Start sample: {sample.title}",
                    partial(self._start_sample, sample.name),
                    sample.description,
                )
            )
        dramatis = app.dramatis
        if dramatis is not None:
            for summary in await dramatis.campaigns.list_campaigns():
                commands.append(
                    (
                        f"Open campaign: {summary.name}",
                        partial(self._open_campaign, summary.campaign_id),
                        f"{summary.status} · {summary.turns} turns"
                        f" · {summary.persona_count} personas",
                    )
                )
            if app.campaign_id is not None:
                try:
                    view = await dramatis.campaigns.show(app.campaign_id)
                except Exception:  # the campaign vanished (restore): no persona commands
                    view = None
                if view is not None:
                    for persona in view.personas:
                        commands.append(
                            (
                                f"Inspect persona: {persona.name}",
                                partial(self._inspect, persona.persona_id),
                                f"Why did they do that? ({view.name})",
                            )
                        )
        return [(clean(name), callback, clean(help_text)) for name, callback, help_text in commands]

    # ------------------------------------------------------------------ palette protocol

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands:
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score, self._highlight(matcher, name), callback, text=name, help=help_text
                )

    @staticmethod
    def _highlight(matcher: Any, name: str) -> Content:
        """``name`` shown literally (never as markup) with the matched letters styled."""
        content = Content(name)
        _, offsets = matcher.fuzzy_search.match(matcher.query, name)
        for offset in offsets:
            if not name[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
        return content

    # ------------------------------------------------------------------ commands

    def _go(self, mode: str) -> None:
        self.app.run_worker(self.dramatis_app.go(mode))

    def _open_campaign(self, campaign_id: str) -> None:
        self.app.run_worker(self.dramatis_app.play_campaign(campaign_id))

    def _inspect(self, persona_id: str) -> None:
        app = self.dramatis_app
        app.persona_id = persona_id
        app.run_worker(app.go("persona"))

    def _start_sample(self, slug: str) -> None:
        async def start() -> None:
            app = self.dramatis_app
            await app.go("setup")
            screen = app.screen
            starter = getattr(screen, "start_sample", None)
            if starter is not None:
                starter(slug)

        self.app.run_worker(start())

    def _new_campaign(self) -> None:
        async def new() -> None:
            await self.dramatis_app.go("setup")
            await self.app.screen.run_action("new")

        self.app.run_worker(new())

    def _import_sheet(self) -> None:
        from dramatis.tui.screens.import_sheet import ImportSheetScreen

        self.app.push_screen(ImportSheetScreen())

    def _advance(self) -> None:
        async def advance() -> None:
            await self.dramatis_app.go("play")
            await self.app.screen.run_action("advance")

        self.app.run_worker(advance())

    def _autoplay(self) -> None:
        async def autoplay() -> None:
            await self.dramatis_app.go("play")
            await self.app.screen.run_action("autoplay")

        self.app.run_worker(autoplay())
