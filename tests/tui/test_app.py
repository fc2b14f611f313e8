"""The terminal app driven through its keys, with the store checked afterwards."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import DataTable, Input, ProgressBar, RichLog, Static

from dramatis.bootstrap import open_dramatis
from dramatis.config import Settings
from dramatis.domain.persona import DecisionRecorded
from dramatis.services.codec import decode
from dramatis.sheets.campaign_loader import find_sample
from dramatis.tui.app import DramatisApp
from dramatis.tui.commands import DramatisCommands
from dramatis.tui.screens.help import HelpScreen
from dramatis.tui.screens.new_campaign import NewCampaignScreen
from dramatis.tui.screens.play import PlayScreen
from dramatis.tui.screens.setup import SetupScreen
from dramatis.tui.theming import DEFAULT_THEME, STATE_FILE
from dramatis.tui.widgets.bars import TopBar

from .conftest import sample, settle, started_campaign

MakeApp = Callable[..., DramatisApp]


def screen_text(app: DramatisApp) -> str:
    """What the terminal shows, as plain text (from the SVG screenshot)."""
    svg = app.export_screenshot()
    parts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(parts)).replace("\xa0", " ")


def plain(value: object) -> str:
    return getattr(value, "plain", str(value))


async def test_first_run_offers_the_samples_and_enter_starts_one(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        samples = app.screen.query_one("#samples", DataTable)
        titles = {plain(samples.get_row_at(i)[0]) for i in range(samples.row_count)}
        assert {"The Salt Road", "The Skerry Light"} <= titles
        assert "No campaigns yet" in plain(app.screen.query_one("#campaigns-hint", Static).render())

        await pilot.press("enter")
        await settle(pilot)

        assert app.current_mode == "play"
        assert app.campaign_id is not None
        assert app.dramatis is not None
        view = await app.dramatis.campaigns.show(app.campaign_id)
        assert view.status == "active"
        assert isinstance(app.screen, PlayScreen)


async def test_new_campaign_form_creates_a_campaign_and_explains_bad_input(
    make_app: MakeApp,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, NewCampaignScreen)

        # Invalid: no name, a turn limit that is not a number. Explained inline, form stays open.
        form.query_one("#name", Input).value = ""
        form.query_one("#turn-limit", Input).value = "many"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "name" in plain(form.query_one("#err-name", Static).render())
        assert "whole number" in plain(form.query_one("#err-turn-limit", Static).render())

        # Fewer than two personas ticked.
        form.query_one("#name", Input).value = "Salt and Lies"
        form.query_one("#turn-limit", Input).value = "12"
        rows = list(form.query("PersonaRow"))
        for row in rows[1:]:
            row.query_one("Checkbox").value = False
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "at least two" in plain(form.query_one("#err-personas", Static).render())

        for row in rows:
            row.query_one("Checkbox").value = True
        form.query_one("#seed", Input).value = "5"
        await pilot.press("ctrl+s")
        await settle(pilot)

        assert app.current_mode == "play"
        assert app.dramatis is not None and app.campaign_id is not None
        view = await app.dramatis.campaigns.show(app.campaign_id)
        assert (view.name, view.turn_limit, view.seed, view.status) == (
            "Salt and Lies",
            12,
            5,
            "active",
        )
        assert len(view.personas) == len(rows)


async def test_play_five_turns_writes_five_turns_to_the_store(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        for _ in range(5):
            await pilot.press("space")
            await settle(pilot)

        records = await app.dramatis.store.read_stream(campaign_id)
        turns = [
            r.payload["ledger"]["turn_number"] for r in records if r.event_type == "TurnAdvanced"
        ]
        assert turns == [1, 2, 3, 4, 5]
        screen = app.screen
        assert isinstance(screen, PlayScreen)
        assert "turn 5 of" in screen.query_one("#play-bar", TopBar).plain_text
        assert plain(screen.query_one("#turn-title", Static).render()) == "Turn 5"
        log = "\n".join(line.text for line in screen.query_one("#log", RichLog).lines)
        assert "Turn 5" in log


async def test_auto_play_shows_progress_and_plays_every_turn(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        field = app.screen.query_one("#count", Input)
        field.value = "6"
        await pilot.press("enter")
        await settle(pilot)
        bar = app.screen.query_one("#autoplay-bar", ProgressBar)
        assert (bar.total, bar.progress) == (6, 6)
        view = await app.dramatis.campaigns.show(campaign_id)
        assert view.turns == 6


async def test_auto_play_can_be_cancelled(make_app: MakeApp) -> None:
    """A human persona holds turn 1; escape stops auto-play once that turn is played."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis, sample(brains={0: "human"}))
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        app.screen.query_one("#count", Input).value = "20"
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, PlayScreen)
        for _ in range(20):
            await pilot.pause()
            if screen.pending:
                break
        assert screen.pending and screen.busy
        assert screen.query_one("#autoplay").has_class("-running")
        assert screen.query_one("#autoplay-bar", ProgressBar).total == 20

        await pilot.press("escape")
        await pilot.press("1")
        await settle(pilot)

        assert not screen.busy
        assert not screen.query_one("#autoplay").has_class("-running")
        view = await app.dramatis.campaigns.show(campaign_id)
        assert view.turns == 1


async def test_take_control_of_a_persona_and_choose_its_action(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis, sample(brains={1: "human"}))
        view = await app.dramatis.campaigns.show(campaign_id)
        human_id = view.personas[1].persona_id
        await app.play_campaign(campaign_id)
        await settle(pilot)

        await pilot.press("space")
        screen = app.screen
        assert isinstance(screen, PlayScreen)
        for _ in range(20):
            await pilot.pause()
            if screen.pending:
                break
        assert screen.pending
        choice = app.human.pending[0]
        assert choice.persona_id == human_id
        panel = screen.query_one("#choice")
        assert panel.has_class("-pending")
        options_text = plain(screen.query_one("#choice-options", Static).render())
        assert choice.context.options[1].label in options_text
        wanted = choice.context.options[1]

        await pilot.press("2")
        await settle(pilot)

        decisions = [
            e
            for e in decode(await app.dramatis.store.read_stream(human_id))
            if isinstance(e, DecisionRecorded)
        ]
        assert len(decisions) == 1
        decision = decisions[0].decision
        assert decision.provenance.source == "human"
        assert (decision.action, decision.target) == (wanted.action, wanted.target)
        assert not panel.has_class("-pending")


async def test_human_timeout_lets_the_fallback_act(make_app: MakeApp) -> None:
    app = make_app(human_timeout=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis, sample(brains={0: "human"}))
        view = await app.dramatis.campaigns.show(campaign_id)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        decisions = [
            e
            for e in decode(await app.dramatis.store.read_stream(view.personas[0].persona_id))
            if isinstance(e, DecisionRecorded)
        ]
        assert decisions[0].decision.provenance.source == "offline"
        assert "no choice within" in (decisions[0].decision.provenance.fallback_reason or "")


async def test_help_lists_the_bindings_of_each_screen(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for expected in (
            "Everywhere",
            "Setup",
            "Play",
            "next turn",
            "New campaign",
            "play.advance",
            "app.theme",
        ):
            assert expected in text, expected
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen)


async def test_keys_can_be_remapped_by_binding_id(settings: Settings, themes_dir: Path) -> None:
    from dramatis.adapters.clock import FrozenClock

    remapped = settings.model_copy(update={"keys": {"play.advance": "n"}})
    app = DramatisApp(
        remapped, clock=FrozenClock(), animate=False, follow_store=False, themes_dir=themes_dir
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert (await app.dramatis.campaigns.show(campaign_id)).turns == 1


async def test_palette_offers_campaign_commands(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        await pilot.pause()

        provider = DramatisCommands(app.screen)
        await provider.startup()
        hits = [hit async for hit in provider.search("open campaign salt")]
        assert hits and hits[0].text == "Open campaign: The Salt Road"
        names = {hit.text async for hit in provider.discover()}
        assert {"Go to Play", "New campaign…", "Start sample: The Skerry Light"} <= names
        hits[0].command()
        await settle(pilot)
        assert app.campaign_id == campaign_id
        assert app.current_mode == "play"


async def test_a_broken_theme_file_gives_a_notification_and_the_default_theme(
    make_app: MakeApp, settings: Settings, themes_dir: Path
) -> None:
    (themes_dir / "broken.toml").write_text('name = "broken"\nprimary = "not a colour"\n')
    (themes_dir / "garbled.toml").write_text("name = = \n")
    (settings.data_dir).mkdir(parents=True, exist_ok=True)
    (settings.data_dir / STATE_FILE).write_text(json.dumps({"theme": "broken"}))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.theme == DEFAULT_THEME
        messages = " ".join(n.message for n in app._notifications)
        assert "broken.toml" in messages and "garbled.toml" in messages


async def test_user_themes_load_and_the_choice_persists(
    make_app: MakeApp, settings: Settings, themes_dir: Path
) -> None:
    (themes_dir / "mine.toml").write_text(
        'name = "dramatis-mine"\nprimary = "#ff00aa"\ndark = true\n'
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert {"dramatis-ink", "dramatis-parchment", "dramatis-tide", "dramatis-mine"} <= set(
            app.available_themes
        )
        await pilot.press("ctrl+t")
        await settle(pilot)
        chosen = app.theme
        assert chosen != DEFAULT_THEME
    saved = json.loads((settings.data_dir / STATE_FILE).read_text())
    assert saved["theme"] == chosen
    again = make_app()
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert again.theme == chosen


async def test_names_from_sheets_are_shown_literally(make_app: MakeApp, tmp_path: Path) -> None:
    hostile = "[bold red]x\x1b]0;"
    source = find_sample("salt-road").parent
    campaign_dir = tmp_path / "hostile"
    (campaign_dir / "personas").mkdir(parents=True)
    for sheet in (source / "personas").iterdir():
        (campaign_dir / "personas" / sheet.name).write_bytes(sheet.read_bytes())
    ana = campaign_dir / "personas" / "ana.toml"
    ana.write_text(ana.read_text().replace('name = "Ana Varga"', 'name = "[bold red]x\\u001b]0;"'))
    (campaign_dir / "campaign.toml").write_text((source / "campaign.toml").read_text())

    from dramatis.sheets.campaign_loader import load_campaign_file

    loaded = load_campaign_file(campaign_dir / "campaign.toml")
    assert loaded.personas[0].sheet.name == hostile
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis, loaded)
        await app.play_campaign(campaign_id)
        await settle(pilot)
        await pilot.press("space")
        await settle(pilot)
        table = app.screen.query_one("#turn-table", DataTable)
        names = [plain(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "[bold red]x␛]0;" in names
        log = "\n".join(line.text for line in app.screen.query_one("#log", RichLog).lines)
        assert "[bold red]x␛]0;" in log
        assert "\x1b" not in log
        text = screen_text(app)
        assert "[bold red]x␛]0;" in text


async def test_live_update_from_another_process(make_app: MakeApp, settings: Settings) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.play_campaign(campaign_id)
        await pilot.press("space")
        await settle(pilot)
        await app.poll_store()
        screen = app.screen
        assert isinstance(screen, PlayScreen)
        assert "turn 1 of" in screen.query_one("#play-bar", TopBar).plain_text

        async with open_dramatis(Settings(data_dir=settings.data_dir)) as other:
            await other.campaigns.advance(campaign_id, turns=2)

        await app.poll_store()  # what the live-update follower calls
        await pilot.pause()
        assert "turn 3 of" in screen.query_one("#play-bar", TopBar).plain_text
        assert plain(screen.query_one("#turn-title", Static).render()) == "Turn 3"


async def test_switching_screens_with_number_and_function_keys(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)
        assert app.current_mode == "play"
        await pilot.press("f1")
        await settle(pilot)
        assert app.current_mode == "setup"
        for key, mode in (("3", "persona"), ("4", "chronicle"), ("5", "control")):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode


async def test_live_updates_flag_off_stops_the_poll_refreshing(
    make_app: MakeApp, settings: Settings
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.dramatis is not None
        campaign_id = await started_campaign(app.dramatis)
        await app.play_campaign(campaign_id)
        await pilot.press("space")
        await settle(pilot)
        await app.poll_store()
        screen = app.screen
        assert isinstance(screen, PlayScreen)
        assert "turn 1 of" in screen.query_one("#play-bar", TopBar).plain_text

        async with open_dramatis(Settings(data_dir=settings.data_dir)) as other:
            await other.control_plane.toggle_flag(
                "tui.live_updates", "off", owner="Rosa", rollback_plan="set it on again"
            )
            await other.campaigns.advance(campaign_id, turns=2)
        await app.poll_store()
        await pilot.pause()
        assert "turn 1 of" in screen.query_one("#play-bar", TopBar).plain_text

        async with open_dramatis(Settings(data_dir=settings.data_dir)) as other:
            await other.control_plane.toggle_flag(
                "tui.live_updates", "on", owner="Rosa", rollback_plan="set it off again"
            )
        await app.poll_store()
        await pilot.pause()
        assert "turn 3 of" in screen.query_one("#play-bar", TopBar).plain_text
