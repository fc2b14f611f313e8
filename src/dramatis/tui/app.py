"""The dramatis terminal app: five screens as modes over the async services.

Contract shared by every screen:
- ``self.app.dramatis`` is the wired ``Dramatis`` (services); it is ready before any screen mounts.
- ``self.app.campaign_id`` / ``self.app.persona_id`` are the current selections (reactive).
- A screen that shows stored data defines ``async def refresh_data(self) -> None``; the app calls
  it when the screen is shown, when the selection changes, and when the store's global position
  moves (another process appended events).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.screen import Screen

from dramatis.adapters.clock import SystemClock
from dramatis.bootstrap import Dramatis, open_dramatis
from dramatis.config import Settings, default_config_dir
from dramatis.domain.errors import DomainError
from dramatis.ports import Clock, StoreError
from dramatis.services.errors import ServiceError
from dramatis.services.human import HumanBrain, PendingChoice
from dramatis.tui.theming import DEFAULT_THEME, STATE_FILE, UiState, load_themes

LIVE_POLL_SECONDS = 0.5
# Shared play's auto-play pace: readable at the table, and what lets one 2-core host run 20
# auto-playing sessions with every screen updated within a second (bench/ssh_load.py).
SHARED_AUTOPLAY_PACE = 2.0

# Errors a screen can show as a notification: the user can act on them.
USER_ERRORS: tuple[type[BaseException], ...] = (ServiceError, DomainError, StoreError)

# mode name -> (module, class, title). Screens 3-5 are imported when first shown.
SCREENS: dict[str, tuple[str, str, str]] = {
    "setup": ("dramatis.tui.screens.setup", "SetupScreen", "Setup"),
    "play": ("dramatis.tui.screens.play", "PlayScreen", "Play"),
    "persona": ("dramatis.tui.screens.persona", "PersonaScreen", "Persona"),
    "chronicle": ("dramatis.tui.screens.chronicle", "ChronicleScreen", "Chronicle"),
    "control": ("dramatis.tui.screens.control", "ControlScreen", "Control plane"),
}


def screen_class(mode: str) -> type[Screen[Any]] | None:
    """The screen class of a mode, or None when this build does not have it."""
    module_name, class_name, _ = SCREENS[mode]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    except Exception as exc:  # a screen that fails to import must not take the app down
        import logging

        logging.getLogger(__name__).error("cannot load the %s screen: %s", mode, exc)
        return None
    return getattr(module, class_name, None)


def _mode_factory(mode: str) -> Callable[[], Screen[Any]]:
    def build() -> Screen[Any]:
        cls = screen_class(mode)
        if cls is None:
            from dramatis.tui.screens.missing import MissingScreen

            return MissingScreen(SCREENS[mode][2])
        return cls()

    return build


def _commands_provider() -> type[Any]:
    from dramatis.tui.commands import DramatisCommands

    return DramatisCommands


def _switch_bindings() -> list[BindingType]:
    bindings: list[BindingType] = []
    for number, (mode, (_, _, title)) in enumerate(SCREENS.items(), start=1):
        bindings.append(
            Binding(
                f"{number},f{number}",
                f"app.go('{mode}')",
                title,
                show=False,
                id=f"app.screen.{mode}",
                tooltip=f"Show the {title} screen",
            )
        )
    return bindings


class DramatisApp(App[None]):
    """The terminal app."""

    TITLE = "dramatis"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    COMMANDS: ClassVar[set[Any]] = {*App.COMMANDS, _commands_provider}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "help", id="app.help", tooltip="Keys of every screen"),
        Binding("ctrl+t", "next_theme", "theme", show=False, id="app.theme"),
        Binding("ctrl+q", "quit", "quit", show=False, priority=True, id="app.quit"),
        *_switch_bindings(),
    ]

    campaign_id: reactive[str | None] = reactive(None)
    persona_id: reactive[str | None] = reactive(None)

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        human_timeout: float | None = None,
        themes_dir: Path | None = None,
        animate: bool = True,
        follow_store: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings or Settings()
        self.clock = clock or SystemClock()
        # Shared play (an SSH session, or any session given DRAMATIS_PLAYER): the Play screen
        # sits at the campaign's table with the other sessions.
        self.shared = self.settings.player is not None
        # Auto-play's pause between turns: none when playing alone; in shared play a turn every
        # SHARED_AUTOPLAY_PACE seconds, so the table can follow the story.
        pace = self.settings.autoplay_pace_seconds
        if pace is None:
            pace = SHARED_AUTOPLAY_PACE if self.shared else 0.0
        self.autoplay_pace_seconds = pace
        timeout = (
            human_timeout if human_timeout is not None else self.settings.human_timeout_seconds
        )
        self.human = HumanBrain(timeout_seconds=timeout, on_pending=self._human_pending)
        self._exit_stack = AsyncExitStack()
        self.dramatis: Dramatis | None = None
        self._follower: asyncio.Task[None] | None = None
        self.last_position = 0
        self.animate = animate  # spinners and countdowns; off for snapshots
        self.follow_store = follow_store  # refresh on other writers' events; off for snapshots
        self.themes_dir = themes_dir if themes_dir is not None else default_config_dir() / "themes"
        self.ui_state = UiState(self.settings.data_dir / STATE_FILE)
        self.keymap: dict[str, str] = dict(self.settings.keys)
        self.theme_problems: list[str] = []
        for mode in SCREENS:
            self.add_mode(mode, _mode_factory(mode))
        self._load_themes()

    # ------------------------------------------------------------------ start and stop

    def _load_themes(self) -> None:
        loaded = load_themes(self.themes_dir)
        for theme in loaded.themes:
            self.register_theme(theme)
        self.theme_problems = loaded.problems
        wanted = self.ui_state.load().get("theme", DEFAULT_THEME)
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME

    async def open_services(self) -> Dramatis:
        """Open the store and services (once)."""
        if self.dramatis is None:
            self.dramatis = await self._exit_stack.enter_async_context(
                open_dramatis(self.settings, clock=self.clock, extra_brains={"human": self.human})
            )
            self.last_position = await self.dramatis.store.last_position()
        return self.dramatis

    async def on_mount(self) -> None:
        await self.open_services()
        if self.keymap:
            self.set_keymap(self.keymap)
        for problem in self.theme_problems:
            self.notify(
                f"{problem}. Using the {self.theme} theme.",
                title="A theme file was skipped",
                severity="warning",
                timeout=8,
            )
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        if self.follow_store:
            self._follower = asyncio.create_task(self._follow_store(), name="live-updates")
        await self.go("setup")

    async def on_unmount(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with suppress(asyncio.CancelledError):
                await self._follower
        if self.shared and self.dramatis is not None:
            # If this fails, the SSH host removes the session when the connection ends.
            with suppress(*USER_ERRORS):
                await self.dramatis.table.leave_session(reason="quit")
        await self._exit_stack.aclose()

    def _remember_theme(self, theme: Any) -> None:
        self.ui_state.save(theme=theme.name)

    # ------------------------------------------------------------------ live data

    async def _follow_store(self) -> None:
        """Refresh screens as soon as the store's notifier reports new events: PostgreSQL's
        LISTEN/NOTIFY or Redis pub/sub reach across hosts; a lone SQLite file is polled. The
        timeout bounds the wait, so a missed notification costs at most LIVE_POLL_SECONDS."""
        while self.dramatis is not None:
            try:
                await self.dramatis.notifier.wait_for_append(self.last_position, LIVE_POLL_SECONDS)
                await self.poll_store()
            except USER_ERRORS as exc:  # the store is unreachable: say so once, keep trying
                self.log.warning(f"live updates paused: {exc}")
                await asyncio.sleep(LIVE_POLL_SECONDS)

    async def poll_store(self) -> None:
        """Refresh the visible screen when another writer moved the store's global position."""
        if self.dramatis is None:
            return
        flags = await self.dramatis.control_plane.flags()
        if not flags.enabled("tui.live_updates"):
            return  # live updates are switched off: screens refresh only when asked
        position = await self.dramatis.store.last_position()
        if position != self.last_position:
            self.last_position = position
            await self.refresh_screen()

    async def refresh_screen(self) -> None:
        """Ask the visible screen (and the mode's base screen under a modal) to reload its data."""
        seen: set[int] = set()
        for screen in (self.screen, self.screen_stack[0] if self.screen_stack else None):
            if screen is None or id(screen) in seen:
                continue
            seen.add(id(screen))
            refresh = getattr(screen, "refresh_data", None)
            if refresh is None or not screen.is_mounted:
                continue
            try:
                await refresh()
            except NoMatches:
                # The screen was being rebuilt or left while its data loaded: the next poll (or
                # its own mount) shows the new data.
                continue
            except USER_ERRORS as exc:
                self.notify(str(exc), severity="error", title="Could not load")

    async def watch_campaign_id(self) -> None:
        await self.refresh_screen()

    async def watch_persona_id(self) -> None:
        await self.refresh_screen()

    # ------------------------------------------------------------------ navigation

    async def go(self, mode: str) -> None:
        """Show a screen (mode) and load its data."""
        if mode not in SCREENS:
            return
        while len(self.screen_stack) > 1 and isinstance(self.screen, _modal_types()):
            self.pop_screen()
        await self.switch_mode(mode)
        await self.refresh_screen()

    async def action_go(self, mode: str) -> None:
        await self.go(mode)

    async def play_campaign(self, campaign_id: str) -> None:
        """Select a campaign and open it on the Play screen."""
        self.campaign_id = campaign_id
        await self.go("play")

    def action_help(self) -> None:
        from dramatis.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_next_theme(self) -> None:
        names = sorted(name for name in self.available_themes if name.startswith("dramatis-"))
        names += sorted(
            name
            for name in self.available_themes
            if not name.startswith("dramatis-") and name not in ("textual-ansi",)
        )
        index = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(index + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    def binding_key(self, binding: Binding) -> str:
        """The key(s) a binding answers to after the user's remaps, for display."""
        keys = self.keymap.get(binding.id or "", binding.key)
        return ", ".join(self.get_key_display(Binding(key.strip(), "")) for key in keys.split(","))

    # ------------------------------------------------------------------ human players

    def _human_pending(self, choice: PendingChoice) -> None:
        """A human-controlled persona is waiting (called in the event loop by HumanBrain)."""
        self.call_next(self._show_pending, choice)

    def _show_pending(self, choice: PendingChoice) -> None:
        base = self.screen_stack[0] if self.screen_stack else None
        show = getattr(base, "show_pending", None)
        if show is not None and self.current_mode == "play":
            show()
            return
        name = choice.context.names.get(choice.persona_id, "A persona")
        self.notify(
            f"{name} is waiting for your choice: press 2 for the Play screen.",
            title="Your move",
            timeout=10,
        )


def _modal_types() -> tuple[type, ...]:
    from textual.screen import ModalScreen

    return (ModalScreen,)
